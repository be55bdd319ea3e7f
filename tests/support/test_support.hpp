// Shared helpers for the test executables.
#pragma once

#include <string>

#include "compilation.hpp"
#include "emit_kind.hpp"

namespace whistler::test {

// Absolute path of a file in the source tree ("examples/drop9999.lisp").
std::string source_path(const std::string& relative);

// Compiles source text (named "test.lisp") and returns the output; on errors
// `diagnostics` holds the rendered messages and output.ok is false.
CompileOutput compile_text(const std::string& text, std::string& diagnostics, EmitKind kind = EmitKind::Object,
                           int opt_level = 2);

}  // namespace whistler::test
