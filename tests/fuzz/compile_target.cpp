// Fuzz target: the whole compiler through the public API,
// whistler::compile_source (read, expand, lower, bounds checks, LLVM -O2 and
// the BPF backend) to an ELF object in memory. Nothing is loaded into the
// kernel.
#include <cstdio>
#include <cstdlib>
#include <string_view>

// Internal headers (targets.hpp) before the public ones, as in compiler/api.cpp.
#include "targets.hpp"

#include <whistler/compiler.hpp>

namespace whistler::fuzz {

int compile(const uint8_t* data, size_t size) {
  if (size > kCompileMaxInput) return -1;
  limit_steps();
  std::string_view source(reinterpret_cast<const char*>(data), size);
  whistler::CompileResult result = whistler::compile_source(source, "fuzz.lisp");
  // Invariants of the API: a successful compile is an ELF object; a failed
  // one says why (the API adds a bare "compilation failed" only when the
  // compiler failed without reporting an error, which is a bug).
  if (result.ok()) {
    if (result.output.size() < 4 || result.output[0] != 0x7f || result.output[1] != 'E') {
      std::fprintf(stderr, "compile_source succeeded without an ELF object\n");
      std::abort();
    }
  } else {
    for (const auto& d : result.diagnostics)
      if (d.message == "compilation failed" && !d.location.line) {
        std::fprintf(stderr, "compile_source failed without a diagnostic\n");
        std::abort();
      }
  }
  return 0;
}

}  // namespace whistler::fuzz
