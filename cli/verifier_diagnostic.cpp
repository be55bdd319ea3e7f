#include "verifier_diagnostic.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace whistler {

namespace fs = std::filesystem;

SourceLoc locate_verifier_line(const SourceManager& sources, const runtime::VerifierReport& report) {
  if (report.file.empty() || report.line == 0) return {};
  fs::path wanted = fs::path(report.file).lexically_normal();
  uint32_t by_name = 0;
  for (uint32_t id = 1; id < sources.size(); ++id) {
    fs::path have = fs::path(sources.file(id).path()).lexically_normal();
    if (have == wanted) {
      by_name = id;
      break;
    }
    if (!by_name && have.filename() == wanted.filename()) by_name = id;
  }
  if (!by_name) return {};
  std::string_view text = sources.file(by_name).line(report.line);
  uint32_t col = 1;
  while (col <= text.size() && (text[col - 1] == ' ' || text[col - 1] == '\t')) ++col;
  return SourceLoc{by_name, report.line, col};
}

void report_verifier_rejection(Diagnostics& diags, const std::string& program, const runtime::VerifierReport& report,
                               SourceLoc fallback) {
  SourceLoc loc = locate_verifier_line(diags.sources(), report);
  if (!loc.valid()) loc = fallback;
  std::string reason = report.reason.empty() ? "no reason given" : report.reason;
  Diagnostic& d = diags.error(loc, fmt::format("the kernel verifier rejected program '{}': {}", program, reason));
  d.hint = report.hint.empty() ? "run with --verbose for the full verifier log" : report.hint + " (--verbose shows the full verifier log)";
}

}  // namespace whistler
