// The fuzz targets (docs/reliability.md). Each takes one input and returns 0
// (or -1: too large, not worth keeping in a corpus); a bug is a crash, a
// sanitizer report, or an abort from a broken invariant. The same functions
// run under libFuzzer (libfuzzer_entry.cpp, -DWHISTLER_FUZZ=ON) and from
// fuzz_replay (replay_main.cpp), which ctest runs on tests/fuzz/regressions
// and tests/fuzz/seeds in every build.
#pragma once

#include <cstddef>
#include <cstdint>

#include "interpreter.hpp"

namespace whistler::fuzz {

// Input-size caps, so that every input runs in well under a second under
// ASan/UBSan (measured in docs/reliability.md). Inputs above the cap are
// rejected; the libFuzzer runs pass the same numbers as -max_len.
constexpr size_t kReaderMaxInput = 16384;    // more than the reader's 10,000-level nesting limit
constexpr size_t kExpanderMaxInput = 8192;
constexpr size_t kCompileMaxInput = 4096;
// Size alone does not bound the time: macro code can loop. The targets run
// the interpreter with this step limit instead of the compiler's 5,000,000
// (a second or two in a release build, far more under ASan); it is still 60
// times what any example or library macro needs.
constexpr uint64_t kStepLimit = 100000;
// Applies kStepLimit to the Interpreters created from now on.
inline void limit_steps() {
  static const bool once = (Interpreter::set_default_step_limit(kStepLimit), true);
  (void)once;
}

// The reader alone: text to located S-expressions, printed back, diagnostics rendered.
int reader(const uint8_t* data, size_t size);
// The reader and the macro expander over the standard library (no LLVM).
int expander(const uint8_t* data, size_t size);
// The whole compiler through whistler::compile_source, to a BPF ELF object.
int compile(const uint8_t* data, size_t size);

}  // namespace whistler::fuzz
