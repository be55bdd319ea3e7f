// Running many seeds: each seed's program is generated, compiled and loaded
// (and with --differential run at -O0 and -O2) by worker processes, so that a
// compiler crash or hang costs one seed, not the run. A worker that dies has
// already printed the seed it was processing; the parent records the crash
// and starts a new worker for the seeds that remain.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "outcome.hpp"
#include "program_generator.hpp"

namespace whistler::torture {

struct RunOptions {
  uint64_t first_seed = 1;
  uint64_t count = 100;
  int jobs = 1;                 // worker processes; 0: everything in this process (for a debugger)
  bool differential = false;
  int opt_level = 2;            // the level programs are checked at (not with differential: -O0 and -O2)
  int frames = 16;              // frames per program in differential runs
  int timeout_seconds = 120;    // per program
  GeneratorOptions generator;
};

struct SeedResult {
  uint64_t seed = 0;
  Outcome outcome;
  bool nondeterministic = false;  // not compared (--differential)
  double milliseconds = 0;
};

// Generates, compiles, loads (and compares) one seed in this process.
SeedResult evaluate_seed(uint64_t seed, const RunOptions& options);

// Every seed of the range; `on_result` is called in the parent as results
// arrive (not in seed order when jobs > 1).
void run_seeds(const RunOptions& options, const std::function<void(const SeedResult&)>& on_result);

// Installs handlers that print "whistler-torture: SIGNAL while processing seed N"
// before the process dies.
void install_crash_handlers();
void set_current_seed(uint64_t seed);

// "killed by SIGSEGV" / "exited with status 1", from a waitpid status.
std::string describe_exit(int status);

}  // namespace whistler::torture
