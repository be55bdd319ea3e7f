// Reading the kernel verifier's log: the reason it gave, and the source line
// it was at, taken from the BTF line info that points at the .lisp file.
#pragma once

#include <cstdint>
#include <string>

namespace whistler::runtime {

struct VerifierReport {
  std::string reason;       // the verifier's own words, e.g. "invalid access to packet, off=14 size=2"
  std::string file;         // source file of the last annotated line before the failure
  uint32_t line = 0;
  std::string source_text;  // that line's text, as embedded in BTF
  std::string hint;         // what usually fixes this reason ("" when unknown)
  uint64_t processed_insns = 0;
};

VerifierReport analyze_verifier_log(const std::string& log);

// Whether this kernel lets XDP programs call helper `id` (BPF_FUNC_*): some
// builds offer a helper to no XDP program whatever its section
// (bpf_xdp_adjust_meta on the project's 6.18 test kernel).
bool xdp_helper_offered(int id);

}  // namespace whistler::runtime
