#include "error_report.hpp"

#include <fmt/format.h>

#include <ostream>

namespace whistler {

std::string format_runtime_error(const runtime::RuntimeError& e, bool verbose, const char* program) {
  std::string out = fmt::format("{}{}error: {}\n", program ? program : "", program && *program ? ": " : "", e.message);
  if (!e.hint.empty()) out += fmt::format("  hint: {}\n", e.hint);
  if (verbose && !e.detail.empty()) {
    std::string detail = e.detail;
    while (!detail.empty() && detail.back() == '\n') detail.pop_back();
    out += fmt::format("  ---- kernel / libbpf output ----\n{}\n  ----\n", detail);
  } else if (!verbose && !e.detail.empty() && e.kind != runtime::ErrorKind::VerifierRejected) {
    out += "  (--verbose shows the kernel's and libbpf's own words)\n";
  }
  return out;
}

void print_runtime_error(std::ostream& out, const runtime::RuntimeError& e, bool verbose, const char* program) {
  out << format_runtime_error(e, verbose, program);
  out.flush();
}

}  // namespace whistler
