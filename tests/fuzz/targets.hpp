// The fuzz targets (docs/reliability.md). Each takes one input and returns 0
// (or -1: too large, not worth keeping in a corpus); a bug is a crash, a
// sanitizer report, or an abort from a broken invariant. The same functions
// run under libFuzzer (libfuzzer_entry.cpp, -DWHISTLER_FUZZ=ON) and from
// fuzz_replay (replay_main.cpp), which ctest runs on tests/fuzz/regressions
// and tests/fuzz/seeds in every build.
#pragma once

#include <cstddef>
#include <cstdint>

namespace whistler::fuzz {

// Input-size caps, so that every input runs in well under a second under
// ASan/UBSan (measured in docs/reliability.md). Inputs above the cap are
// rejected; the libFuzzer runs pass the same numbers as -max_len.
constexpr size_t kReaderMaxInput = 16384;    // more than the reader's 10,000-level nesting limit
constexpr size_t kExpanderMaxInput = 8192;
constexpr size_t kCompileMaxInput = 4096;

// The reader alone: text to located S-expressions, printed back, diagnostics rendered.
int reader(const uint8_t* data, size_t size);
// The reader and the macro expander over the standard library (no LLVM).
int expander(const uint8_t* data, size_t size);
// The whole compiler through whistler::compile_source, to a BPF ELF object.
int compile(const uint8_t* data, size_t size);

}  // namespace whistler::fuzz
