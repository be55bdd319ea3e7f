// libFuzzer's entry point for one target: WHISTLER_FUZZ_TARGET is reader,
// expander or compile (set per executable in tests/fuzz/CMakeLists.txt).
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return whistler::fuzz::WHISTLER_FUZZ_TARGET(data, size);
}
