#include "large_stack.hpp"

#include <pthread.h>

#include <exception>
#include <stdexcept>

namespace whistler {

namespace {

// True on a thread this file started: work there runs in place, so nested
// calls (the REPL rebuilding many definitions) start no more threads.
thread_local bool on_large_stack = false;

struct Job {
  const std::function<void()>* work;
  std::exception_ptr error;
};

void* run(void* arg) {
  auto* job = static_cast<Job*>(arg);
  on_large_stack = true;
  try {
    (*job->work)();
  } catch (...) {
    job->error = std::current_exception();
  }
  return nullptr;
}

}  // namespace

void run_with_large_stack(const std::function<void()>& work) {
  if (on_large_stack) {
    work();
    return;
  }
  constexpr size_t kStack = size_t{512} << 20;
  Job job{&work, nullptr};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStack);
  pthread_t thread;
  int err = pthread_create(&thread, &attr, run, &job);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    work();  // no thread: run here with the stack we have
    return;
  }
  pthread_join(thread, nullptr);
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace whistler
