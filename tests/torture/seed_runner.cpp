#include "seed_runner.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "differential.hpp"
#include "frame_generator.hpp"
#include "program_check.hpp"
#include "program_generator.hpp"
#include "saved_program.hpp"

namespace whistler::torture {

// ---------------------------------------------------------------------------
// One seed
// ---------------------------------------------------------------------------

SeedResult evaluate_seed(uint64_t seed, const RunOptions& options) {
  auto start = std::chrono::steady_clock::now();
  SeedResult result;
  result.seed = seed;
  GeneratedProgram program = generate_program(seed, options.generator);
  result.nondeterministic = program.nondeterministic;
  std::string text = program.text();
  if (options.differential) {
    std::vector<Frame> frames = generate_frames(seed, options.frames);
    if (program.nondeterministic) frames.clear();  // still compiled and loaded at both levels
    result.outcome = run_differential(text, frames);
    if (program.nondeterministic) result.outcome.compared = false;
  } else {
    result.outcome = check_program(text, options.opt_level);
  }
  result.milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// ---------------------------------------------------------------------------
// Crash reporting
// ---------------------------------------------------------------------------

namespace {

volatile uint64_t g_current_seed = 0;
volatile sig_atomic_t g_have_seed = 0;

void write_all(const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void on_fatal_signal(int sig) {
  // Async-signal-safe: no allocation, no stdio.
  char digits[32];
  int i = 31;
  digits[i] = 0;
  uint64_t v = g_current_seed;
  do {
    digits[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && i > 0);
  write_all("whistler-torture: ");
  write_all(sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal");
  if (g_have_seed) {
    write_all(" while processing seed ");
    write_all(digits + i);
    write_all(" (reproduce: whistler-torture --print ");
    write_all(digits + i);
    write_all(" > crash.lisp; whistlerc crash.lisp)\n");
  } else {
    write_all("\n");
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

void install_crash_handlers() {
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) signal(sig, on_fatal_signal);
}

void set_current_seed(uint64_t seed) {
  g_current_seed = seed;
  g_have_seed = 1;
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return std::string("killed by SIG") + (name ? name : std::to_string(WTERMSIG(status)));
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "stopped";
}

// ---------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------

namespace {

nlohmann::json to_json(const SeedResult& r) {
  return {{"seed", r.seed},
          {"kind", outcome_name(r.outcome.kind)},
          {"opt", r.outcome.opt_level},
          {"category", r.outcome.category},
          {"detail", r.outcome.detail},
          {"log", log_tail(r.outcome.log, 60)},
          {"program", r.outcome.program},
          {"compared", r.outcome.compared},
          {"skipped_read", r.outcome.skipped_read},
          {"nondeterministic", r.nondeterministic},
          {"ms", r.milliseconds}};
}

SeedResult from_json(const nlohmann::json& j) {
  SeedResult r;
  r.seed = j.at("seed").get<uint64_t>();
  outcome_from_name(j.at("kind").get<std::string>(), r.outcome.kind);
  r.outcome.opt_level = j.at("opt").get<int>();
  r.outcome.category = j.at("category").get<std::string>();
  r.outcome.detail = j.at("detail").get<std::string>();
  r.outcome.log = j.at("log").get<std::string>();
  r.outcome.program = j.at("program").get<std::string>();
  r.outcome.compared = j.at("compared").get<bool>();
  r.outcome.skipped_read = j.value("skipped_read", false);
  r.nondeterministic = j.at("nondeterministic").get<bool>();
  r.milliseconds = j.at("ms").get<double>();
  return r;
}

void write_line(int fd, const std::string& line) {
  std::string s = line + "\n";
  const char* p = s.data();
  size_t n = s.size();
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) _exit(3);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

[[noreturn]] void worker_main(int fd, const std::deque<uint64_t>& seeds, const RunOptions& options, int index) {
  install_crash_handlers();
  if (options.differential) pin_to_one_cpu(index);
  for (uint64_t seed : seeds) {
    set_current_seed(seed);
    write_line(fd, nlohmann::json{{"start", seed}}.dump());
    SeedResult r = evaluate_seed(seed, options);
    write_line(fd, to_json(r).dump());
  }
  close(fd);
  _exit(0);
}

struct Worker {
  pid_t pid = -1;
  int fd = -1;
  int index = 0;
  std::deque<uint64_t> seeds;  // not yet answered, in order
  bool in_flight = false;      // seeds.front() has started
  std::chrono::steady_clock::time_point started;
  bool timed_out = false;
  std::string buffer;
};

bool spawn(Worker& w, const RunOptions& options) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    worker_main(fds[1], w.seeds, options, w.index);
  }
  close(fds[1]);
  w.pid = pid;
  w.fd = fds[0];
  w.in_flight = false;
  w.timed_out = false;
  w.buffer.clear();
  return true;
}

}  // namespace

void run_seeds(const RunOptions& options, const std::function<void(const SeedResult&)>& on_result) {
  if (options.jobs <= 0) {
    install_crash_handlers();
    if (options.differential) pin_to_one_cpu(0);
    for (uint64_t i = 0; i < options.count; ++i) {
      set_current_seed(options.first_seed + i);
      on_result(evaluate_seed(options.first_seed + i, options));
    }
    return;
  }
  int jobs = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(options.jobs), std::max<uint64_t>(options.count, 1)));
  std::vector<Worker> workers(static_cast<size_t>(jobs));
  for (int j = 0; j < jobs; ++j) {
    workers[static_cast<size_t>(j)].index = j;
    for (uint64_t i = static_cast<uint64_t>(j); i < options.count; i += static_cast<uint64_t>(jobs))
      workers[static_cast<size_t>(j)].seeds.push_back(options.first_seed + i);
  }
  for (auto& w : workers)
    if (!w.seeds.empty() && !spawn(w, options)) {
      std::cerr << "whistler-torture: cannot start a worker: " << std::strerror(errno) << "\n";
      return;
    }

  while (true) {
    std::vector<pollfd> fds;
    std::vector<Worker*> owners;
    for (auto& w : workers)
      if (w.fd >= 0) {
        fds.push_back({w.fd, POLLIN, 0});
        owners.push_back(&w);
      }
    if (fds.empty()) break;
    poll(fds.data(), fds.size(), 1000);
    auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < fds.size(); ++i) {
      Worker& w = *owners[i];
      if (w.in_flight && !w.timed_out && now - w.started > std::chrono::seconds(options.timeout_seconds)) {
        w.timed_out = true;
        kill(w.pid, SIGKILL);
      }
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[65536];
      ssize_t n = read(w.fd, chunk, sizeof chunk);
      if (n > 0) {
        w.buffer.append(chunk, static_cast<size_t>(n));
        size_t nl;
        while ((nl = w.buffer.find('\n')) != std::string::npos) {
          std::string line = w.buffer.substr(0, nl);
          w.buffer.erase(0, nl + 1);
          auto j = nlohmann::json::parse(line, nullptr, false);
          if (j.is_discarded()) continue;
          if (j.contains("start")) {
            w.in_flight = true;
            w.started = std::chrono::steady_clock::now();
          } else {
            SeedResult r = from_json(j);
            if (!w.seeds.empty() && w.seeds.front() == r.seed) w.seeds.pop_front();
            w.in_flight = false;
            on_result(r);
          }
        }
        continue;
      }
      // The worker is gone.
      close(w.fd);
      w.fd = -1;
      int status = 0;
      waitpid(w.pid, &status, 0);
      if (w.in_flight && !w.seeds.empty()) {
        SeedResult r;
        r.seed = w.seeds.front();
        w.seeds.pop_front();
        r.outcome.kind = w.timed_out ? OutcomeKind::Timeout : OutcomeKind::Crash;
        r.outcome.category = w.timed_out ? "no result within " + std::to_string(options.timeout_seconds) + " s"
                                         : describe_exit(status);
        r.outcome.detail = r.outcome.category + " while compiling or loading the program";
        r.milliseconds = std::chrono::duration<double, std::milli>(now - w.started).count();
        on_result(r);
      }
      if (!w.seeds.empty() && !spawn(w, options)) {
        std::cerr << "whistler-torture: cannot restart a worker: " << std::strerror(errno) << "\n";
        return;
      }
    }
  }
}

}  // namespace whistler::torture
