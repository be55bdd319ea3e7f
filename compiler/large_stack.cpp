#include "large_stack.hpp"

#include <pthread.h>

#include <cstdint>
#include <exception>
#include <stdexcept>

#ifdef WHISTLER_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace whistler {

namespace {

// True on a thread this file started: work there runs in place, so nested
// calls (the REPL rebuilding many definitions) start no more threads.
thread_local bool on_large_stack = false;

#ifdef WHISTLER_ASAN
// The highest address of this thread's frames (run()'s frame), on a large-stack thread.
thread_local uintptr_t large_stack_top = 0;
#endif

struct Job {
  const std::function<void()>* work;
  std::exception_ptr error;
};

void* run(void* arg) {
  auto* job = static_cast<Job*>(arg);
  on_large_stack = true;
#ifdef WHISTLER_ASAN
  large_stack_top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
#endif
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

#ifdef WHISTLER_ASAN
// AddressSanitizer and exceptions thrown from deep recursion.
//
// ASan poisons the redzones around each instrumented frame's locals on entry
// and clears them on return. Frames left by a C++ exception never return, so
// before a throw (and before any call of a [[noreturn]] function) ASan calls
// __asan_handle_no_return, which clears the shadow of the whole stack from
// the current frame up to the thread's stack top. It refuses when that
// range is larger than 64 MiB (kMaxExpectedCleanupSize in asan_rtl.cpp),
// printing "ASan is ignoring requested __asan_handle_no_return ... False
// positive error reports may follow". Under ASan the compiler's frames are
// several times larger than in a release build, so an error reported at its
// depth limits (10,000 nested evaluations, 20,000 nested expansions) is
// thrown about 100 MiB deep on the 512 MiB thread (measured: 99 MiB for the
// expander's limit, gcc 12). The poison of the ~100 MiB of unwound frames then
// stays, and the next frames placed there trip over it: the test suite saw
// "stack-use-after-scope" inside ASan's own sigaltstack interceptor.
//
// This is not a stack-switch problem: the thread is an ordinary pthread whose
// stack bounds ASan knows exactly (annotating it with
// __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber changes
// nothing, the 64 MiB check is on the depth of the throw), and running the
// work on a stack of at most 64 MiB under ASan would overflow at the depth
// limits the tests exercise. So the exceptions that unwind deep recursion do
// what ASan declines to do: clear the shadow from just below the throwing
// frame (a margin for the unwinder's and ASan's own uninstrumented frames)
// up to the top of the thread's frames. Clearing 100 MiB of stack writes
// 12.5 MiB of shadow, a few milliseconds, only for throws deeper than 64 MiB
// (errors at the depth limits); shallower throws cost one comparison.
void prepare_to_unwind() noexcept {
  constexpr uintptr_t kAsanCleanupLimit = uintptr_t{64} << 20;
  constexpr uintptr_t kMargin = 64 << 10;
  if (!large_stack_top) return;
  uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  uintptr_t low = (here - kMargin) & ~uintptr_t{4095};
  if (large_stack_top - low <= kAsanCleanupLimit) return;  // ASan does it itself
  __asan_unpoison_memory_region(reinterpret_cast<void*>(low), large_stack_top - low);
}
#endif

}  // namespace whistler
