// whistler-torture: the random program oracle.
//
//   whistler-torture --seed S --count N [--jobs J] [-O N] [--save DIR] [--differential [--frames K]] [--json]
//   whistler-torture --random-seed --count N ...     a fresh seed, printed first
//   whistler-torture --print SEED                    the program of one seed
//   whistler-torture --check FILE.lisp [-O N] [--differential]   classify one file
//   whistler-torture --reduce FILE.lisp [-O N] [--output FILE]   shrink a failing program
//
// Exit status: 0 when every program passed, 1 when any was rejected by the
// verifier, failed to load, crashed the compiler, timed out or (with
// --differential) ran differently at -O0 and -O2; 2 for a bad command line;
// 77 when not privileged enough to load BPF programs (ctest counts it as skipped).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include "differential.hpp"
#include "kernel_features.hpp"
#include "privileges.hpp"
#include "program_check.hpp"
#include "program_generator.hpp"
#include "reducer.hpp"
#include "report.hpp"
#include "saved_program.hpp"
#include "seed_runner.hpp"

using namespace whistler::torture;

namespace {

constexpr int kExitFailures = 1;
constexpr int kExitUsage = 2;
constexpr int kExitSkipped = 77;

struct Arguments {
  RunOptions run;
  bool random_seed = false;
  bool json = false;
  std::string save_dir;
  bool print = false;
  uint64_t print_seed = 0;
  std::string check_file;
  std::string reduce_file;
  std::string output_file;
  int opt_level = -1;
  bool reduce_examples = false;
};

void usage(std::ostream& out) {
  out << "usage: whistler-torture --seed S --count N [--jobs J] [-O N] [--save DIR] [--differential [--frames K]] [--json]\n"
         "                        [--timeout SECONDS] [--reduce-examples]\n"
         "       whistler-torture --random-seed --count N [...]\n"
         "       whistler-torture --print SEED\n"
         "       whistler-torture --check FILE.lisp [-O N] [--differential]\n"
         "       whistler-torture --reduce FILE.lisp [-O N] [--output FILE]\n";
}

bool parse_number(const char* text, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(text, &end, 0);
  return errno == 0 && end && *end == 0 && end != text;
}

bool parse_arguments(int argc, char** argv, Arguments& a) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](uint64_t& out) {
      if (i + 1 >= argc || !parse_number(argv[i + 1], out)) {
        std::cerr << "whistler-torture: " << arg << " needs a number\n";
        return false;
      }
      ++i;
      return true;
    };
    auto text = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::cerr << "whistler-torture: " << arg << " needs a value\n";
        return false;
      }
      out = argv[++i];
      return true;
    };
    uint64_t n = 0;
    if (arg == "--seed") {
      if (!value(a.run.first_seed)) return false;
    } else if (arg == "--count") {
      if (!value(a.run.count)) return false;
    } else if (arg == "--jobs" || arg == "-j") {
      if (!value(n)) return false;
      a.run.jobs = static_cast<int>(n);
    } else if (arg == "--frames") {
      if (!value(n) || n == 0) return false;
      a.run.frames = static_cast<int>(n);
    } else if (arg == "--timeout") {
      if (!value(n) || n == 0) return false;
      a.run.timeout_seconds = static_cast<int>(n);
    } else if (arg == "--save") {
      if (!text(a.save_dir)) return false;
    } else if (arg == "--differential") {
      a.run.differential = true;
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--reduce-examples") {
      a.reduce_examples = true;
    } else if (arg == "--random-seed") {
      a.random_seed = true;
    } else if (arg == "--print") {
      if (!value(a.print_seed)) return false;
      a.print = true;
    } else if (arg == "--check") {
      if (!text(a.check_file)) return false;
    } else if (arg == "--reduce") {
      if (!text(a.reduce_file)) return false;
    } else if (arg == "--output" || arg == "-o") {
      if (!text(a.output_file)) return false;
    } else if (arg.rfind("-O", 0) == 0 && arg.size() == 3 && arg[2] >= '0' && arg[2] <= '3') {
      a.opt_level = arg[2] - '0';
    } else if (arg == "-O") {
      if (!value(n) || n > 3) return false;
      a.opt_level = static_cast<int>(n);
    } else if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      std::exit(0);
    } else {
      std::cerr << "whistler-torture: unknown argument " << arg << "\n";
      return false;
    }
  }
  return true;
}

bool privileged_enough() {
  auto p = whistler::runtime::current_privileges();
  return p.bpf && p.perfmon;
}

int skip_unprivileged() {
  std::cout << "whistler-torture: skipped: loading BPF programs needs root (CAP_BPF and CAP_PERFMON)\n";
  return kExitSkipped;
}

bool read_program(const std::string& path, SavedProgram& saved, std::vector<Sexp>& forms) {
  std::string error;
  if (!read_saved_program(path, saved, error)) {
    std::cerr << "whistler-torture: " << error << "\n";
    return false;
  }
  if (!parse_sexps(saved.program, forms, error)) {
    std::cerr << "whistler-torture: " << path << ": " << error << "\n";
    return false;
  }
  return true;
}

std::vector<Frame> frames_of(const SavedProgram& saved, int count) {
  std::vector<Frame> frames;
  for (const auto& bytes : saved.frames) frames.push_back({bytes, "saved"});
  if (frames.empty()) frames = generate_frames(saved.has_seed ? saved.seed : 1, count);
  return frames;
}

int check_file(const Arguments& a) {
  if (!privileged_enough()) return skip_unprivileged();
  SavedProgram saved;
  std::vector<Sexp> forms;
  if (!read_program(a.check_file, saved, forms)) return kExitUsage;
  install_crash_handlers();
  Outcome o;
  if (a.run.differential || saved.differential) {
    pin_to_one_cpu(0);
    o = run_differential(saved.program, frames_of(saved, a.run.frames));
  } else {
    o = check_program(saved.program, a.opt_level >= 0 ? a.opt_level : saved.outcome.opt_level);
  }
  std::cout << outcome_name(o.kind) << " at -O" << o.opt_level;
  if (!o.category.empty()) std::cout << ": " << o.category;
  std::cout << "\n";
  if (!o.detail.empty() && o.detail != o.category) std::cout << o.detail << "\n";
  if (!o.log.empty()) std::cout << log_tail(o.log, 40) << "\n";
  return outcome_is_failure(o.kind) ? kExitFailures : 0;
}

// Reduces the program saved in `path`; the result goes to `output` (when not
// empty) and to standard output. False when there is nothing to reduce.
bool reduce_saved(const std::string& path, const std::string& output, const Arguments& a, bool print);

int reduce_file(const Arguments& a) {
  if (!privileged_enough()) return skip_unprivileged();
  return reduce_saved(a.reduce_file, a.output_file, a, true) ? 0 : kExitUsage;
}

bool reduce_saved(const std::string& path, const std::string& output, const Arguments& a, bool print) {
  SavedProgram saved;
  std::vector<Sexp> forms;
  if (!read_program(path, saved, forms)) return false;
  ReduceTarget target;
  target.opt_level = a.opt_level >= 0 ? a.opt_level : saved.outcome.opt_level;
  target.differential = saved.differential || a.run.differential;
  target.frames = frames_of(saved, a.run.frames);
  // What the program does now is what the reducer keeps.
  Outcome now = evaluate_isolated(forms, target);
  if (!now.failed()) {
    std::cerr << "whistler-torture: " << path << " does not fail at -O" << target.opt_level
              << (target.differential ? " (differential)" : "") << "; nothing to reduce\n";
    return false;
  }
  if (saved.has_outcome && (now.kind != saved.outcome.kind || now.category != saved.outcome.category))
    std::cerr << "whistler-torture: note: the file says " << outcome_name(saved.outcome.kind) << " (" << saved.outcome.category
              << "); it now gives " << outcome_name(now.kind) << " (" << now.category << ")\n";
  target.kind = now.kind;
  target.category = now.category;
  target.other_errors = now.other_errors;
  target.opt_level = now.opt_level;
  if (target.differential && now.kind == OutcomeKind::Mismatch && target.frames.size() > 1) {
    // One frame is enough when it shows the mismatch alone.
    for (const auto& f : target.frames) {
      ReduceTarget one = target;
      one.frames = {f};
      Outcome o = evaluate_isolated(forms, one);
      if (o.kind == target.kind && o.category == target.category) {
        target.frames = one.frames;
        break;
      }
    }
  }
  std::ostream quiet(nullptr);  // progress only when reducing one file
  Reducer reducer(target, print ? std::cerr : quiet);
  std::vector<Sexp> reduced = reducer.reduce(forms);
  Outcome final_outcome = evaluate_isolated(reduced, target);

  SavedProgram result;
  result.has_seed = saved.has_seed;
  result.seed = saved.seed;
  result.outcome = final_outcome;
  result.outcome.kind = target.kind;
  result.outcome.category = target.category;
  result.differential = target.differential;
  if (target.differential)
    for (const auto& f : target.frames) result.frames.push_back(f.bytes);
  result.program = print_program(reduced);
  std::string name = output.empty() ? "reduced.lisp" : output;
  std::string text = format_saved_program(result, name);
  if (!output.empty()) {
    std::ofstream out(output);
    out << text;
    if (!out) {
      std::cerr << "whistler-torture: cannot write " << output << "\n";
      return false;
    }
  }
  if (print) std::cout << text;
  return true;
}

void save_failure(const std::string& dir, const SeedResult& r, const RunOptions& options) {
  SavedProgram saved;
  saved.seed = r.seed;
  saved.has_seed = true;
  saved.outcome = r.outcome;
  saved.differential = options.differential && r.outcome.kind == OutcomeKind::Mismatch;
  if (saved.differential) {
    // The mismatching frame first: the reducer tries it alone.
    std::vector<uint8_t> first;
    std::string marker = "frame: ";
    size_t at = r.outcome.log.find(marker);
    if (at != std::string::npos) {
      std::string hex = r.outcome.log.substr(at + marker.size());
      hex = hex.substr(0, hex.find('\n'));
      if (parse_frame_hex(hex, first)) saved.frames.push_back(first);
    }
    for (const auto& f : generate_frames(r.seed, options.frames))
      if (f.bytes != first) saved.frames.push_back(f.bytes);
  }
  saved.program = generate_program(r.seed, options.generator).text();
  std::string path = dir + "/" + std::to_string(r.seed) + ".lisp";
  std::ofstream out(path);
  out << format_saved_program(saved, path);
}

int run(Arguments& a) {
  if (!privileged_enough()) return skip_unprivileged();
  if (a.random_seed) {
    std::random_device device;
    a.run.first_seed = (static_cast<uint64_t>(device()) << 32 | device()) & 0xffffffffffffULL;
    std::cout << "whistler-torture: random seed " << a.run.first_seed << " (reproduce: whistler-torture --seed "
              << a.run.first_seed << " --count " << a.run.count << (a.run.differential ? " --differential" : "") << ")\n"
              << std::flush;
  }
  if (a.opt_level >= 0) a.run.opt_level = a.opt_level;
  if (!a.save_dir.empty()) mkdir(a.save_dir.c_str(), 0755);
  Report report;
  auto start = std::chrono::steady_clock::now();
  run_seeds(a.run, [&](const SeedResult& r) {
    report.add(r);
    if (r.outcome.kind != OutcomeKind::Accepted) {
      if (!a.json)
        std::cout << "seed " << r.seed << ": " << outcome_name(r.outcome.kind) << " at -O" << r.outcome.opt_level << ": "
                  << r.outcome.category << "\n"
                  << std::flush;
      if (!a.save_dir.empty()) save_failure(a.save_dir, r, a.run);
    }
  });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (a.json) std::cout << report.json(a.run, seconds) << "\n";
  else std::cout << "\n" << report.text(a.run, seconds);
  if (a.reduce_examples && !a.save_dir.empty()) {
    // One minimal program per cause, next to the saved ones.
    std::string dir = a.save_dir + "/reduced";
    mkdir(dir.c_str(), 0755);
    std::cout << "\nreduced examples (" << dir << "):\n";
    int n = 0;
    for (const auto& e : report.examples()) {
      std::string out = dir + "/" + std::to_string(++n) + "-" + outcome_name(e.kind) + "-seed" + std::to_string(e.seed) + ".lisp";
      bool ok = reduce_saved(a.save_dir + "/" + std::to_string(e.seed) + ".lisp", out, a, false);
      std::cout << "  " << (ok ? out : "(not reproducible: " + std::to_string(e.seed) + ")") << "  " << outcome_name(e.kind)
                << ": " << e.category << "\n"
                << std::flush;
    }
  }
  return report.any_failure() ? kExitFailures : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments a;
  if (!parse_arguments(argc, argv, a)) {
    usage(std::cerr);
    return kExitUsage;
  }
  a.run.generator = generator_options_for_this_kernel();
  if (a.print) {
    std::cout << generate_program(a.print_seed, a.run.generator).text();
    return 0;
  }
  if (!a.check_file.empty()) return check_file(a);
  if (!a.reduce_file.empty()) return reduce_file(a);
  return run(a);
}
