#include "diagnostics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace whistler {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Note: return "note";
  }
  return "error";
}

Diagnostic& Diagnostics::add(Severity s, SourceLoc loc, std::string message) {
  if (s == Severity::Error) ++errors_;
  list_.push_back(Diagnostic{s, loc, std::move(message), {}, {}});
  return list_.back();
}

Diagnostic& Diagnostics::error(SourceLoc loc, std::string message) {
  return add(Severity::Error, loc, std::move(message));
}

Diagnostic& Diagnostics::warning(SourceLoc loc, std::string message) {
  return add(Severity::Warning, loc, std::move(message));
}

void Diagnostics::fatal(SourceLoc loc, std::string message, std::string hint) {
  error(loc, std::move(message)).hint = std::move(hint);
  throw AbortForm{};
}

std::string Diagnostics::where(SourceLoc loc) const {
  if (!loc.valid()) return "<unknown>";
  return fmt::format("{}:{}:{}", sources_.file(loc.file).path(), loc.line, loc.col);
}

namespace {

// The source line and a caret under the column; tabs are kept so the caret lines up.
std::string excerpt(const SourceManager& sources, SourceLoc loc) {
  if (!loc.valid()) return {};
  std::string_view text = sources.file(loc.file).line(loc.line);
  std::string caret;
  for (uint32_t i = 1; i < loc.col && i - 1 < text.size(); ++i) caret += text[i - 1] == '\t' ? '\t' : ' ';
  caret += '^';
  return fmt::format("  {}\n  {}\n", text, caret);
}

// "file:line:col: " before the severity; "file: " for a message about a
// whole file ("x.lisp: error: cannot read: ..."); nothing for a message
// without a location, rather than a made-up place.
std::string prefix(const Diagnostics& diags, SourceLoc loc) {
  if (loc.valid()) return diags.where(loc) + ": ";
  if (loc.file != 0) return diags.sources().file(loc.file).path() + ": ";
  return std::string();
}

}  // namespace

std::string Diagnostics::render(const Diagnostic& d) const {
  std::string out = fmt::format("{}{}: {}\n", prefix(*this, d.loc), severity_name(d.severity), d.message);
  out += excerpt(sources_, d.loc);
  for (const auto& n : d.notes) {
    out += fmt::format("{}note: {}\n", prefix(*this, n.loc), n.message);
    out += excerpt(sources_, n.loc);
  }
  if (!d.hint.empty()) out += fmt::format("  hint: {}\n", d.hint);
  return out;
}

std::string Diagnostics::render_all() const {
  // In source order, as a reader goes through the file.
  std::vector<const Diagnostic*> sorted;
  for (const auto& d : list_) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic* a, const Diagnostic* b) {
    if (a->loc.file != b->loc.file) return a->loc.file < b->loc.file;
    if (a->loc.line != b->loc.line) return a->loc.line < b->loc.line;
    return a->loc.col < b->loc.col;
  });
  std::string out;
  for (const auto* d : sorted) out += render(*d);
  return out;
}

}  // namespace whistler
