// Diagnostics: messages at source locations, collected for a whole run and
// rendered together as `file:line:col: error: message`, the line and a caret.
#pragma once

#include <string>
#include <vector>

#include "large_stack.hpp"
#include "source.hpp"

namespace whistler {

enum class Severity { Error, Warning, Note };

struct DiagnosticNote {
  SourceLoc loc;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::Error;
  SourceLoc loc;
  std::string message;
  std::string hint;                  // how to fix it, printed as "hint: ..."
  std::vector<DiagnosticNote> notes;  // related locations ("macro defined here")

  Diagnostic& with_hint(std::string h) { hint = std::move(h); return *this; }
  Diagnostic& with_note(SourceLoc l, std::string m) { notes.push_back({l, std::move(m)}); return *this; }
};

// Thrown to abandon the form being processed once its error is reported;
// the driver catches it at the next top-level form so later errors still show.
struct AbortForm {
  AbortForm() noexcept { prepare_to_unwind(); }  // may unwind deep recursion (large_stack.hpp)
};

class Diagnostics {
 public:
  explicit Diagnostics(const SourceManager& sources) : sources_(sources) {}

  Diagnostic& error(SourceLoc loc, std::string message);
  Diagnostic& warning(SourceLoc loc, std::string message);
  // Report an error and abandon the current form.
  [[noreturn]] void fatal(SourceLoc loc, std::string message, std::string hint = {});

  bool has_errors() const { return errors_ > 0; }
  size_t error_count() const { return errors_; }
  const std::vector<Diagnostic>& all() const { return list_; }
  void clear() { list_.clear(); errors_ = 0; }

  // Render one diagnostic (with its source line and caret) or all of them:
  // "file:line:col: error: message", or "error: message" without a location.
  std::string render(const Diagnostic& d) const;
  std::string render_all() const;
  // "file:line:col" for a location ("<unknown>" when it has none).
  std::string where(SourceLoc loc) const;

  const SourceManager& sources() const { return sources_; }

 private:
  Diagnostic& add(Severity s, SourceLoc loc, std::string message);
  const SourceManager& sources_;
  std::vector<Diagnostic> list_;
  size_t errors_ = 0;
};

const char* severity_name(Severity s);

}  // namespace whistler
