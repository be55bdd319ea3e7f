// startup_probe: where whistlerc's fixed cost goes, phase by phase, in one
// process: the first compile pays for the BPF target and pass pipeline
// set-up, later compiles show the steady state.
//
//   startup_probe FILE.lisp [N]     prints microseconds per phase for N compiles
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "compilation.hpp"
#include "object_emitter.hpp"

using Clock = std::chrono::steady_clock;

static double us(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: startup_probe FILE.lisp [N]\n");
    return 2;
  }
  int n = argc > 2 ? std::atoi(argv[2]) : 5;
  std::printf("%-8s %12s %12s %12s %12s %12s\n", "compile", "target_us", "stdlib_us", "program_us", "generate_us",
              "total_us");
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    whistler::object_emitter();  // BPF target registration, lookup and TargetMachine (first call only)
    auto t1 = Clock::now();
    whistler::Compilation compilation;  // reads and expands the prelude and the packet library
    auto t2 = Clock::now();
    if (!compilation.add_file(argv[1])) {
      std::fprintf(stderr, "%s", compilation.diags().render_all().c_str());
      return 1;
    }
    auto t3 = Clock::now();
    whistler::CompileOutput out = compilation.generate(whistler::EmitKind::Object);  // lowering, passes, codegen
    auto t4 = Clock::now();
    if (!out.ok) return 1;
    std::printf("%-8d %12.0f %12.0f %12.0f %12.0f %12.0f\n", i + 1, us(t0, t1), us(t1, t2), us(t2, t3), us(t3, t4),
                us(t0, t4));
  }
  return 0;
}
