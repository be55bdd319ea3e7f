#include "test_support.hpp"

namespace whistler::test {

std::string source_path(const std::string& relative) { return std::string(WHISTLER_SOURCE_DIR) + "/" + relative; }

CompileOutput compile_text(const std::string& text, std::string& diagnostics, EmitKind kind, int opt_level) {
  CompileOptions options;
  options.opt_level = opt_level;
  Compilation c(options);
  c.add_source("test.lisp", text);
  CompileOutput out = c.generate(kind);
  diagnostics = c.diags().render_all();
  return out;
}

}  // namespace whistler::test
