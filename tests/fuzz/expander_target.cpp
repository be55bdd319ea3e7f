// Fuzz target: the reader and the macro expander (with the macro
// interpreter), over the embedded standard library, as Compilation runs them
// but without LLVM: top-level forms into the Module, bodies into core forms.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "diagnostics.hpp"
#include "expander.hpp"
#include "interpreter.hpp"
#include "large_stack.hpp"
#include "module.hpp"
#include "reader.hpp"
#include "source.hpp"
#include "stdlib_sources.hpp"
#include "targets.hpp"
#include "value.hpp"

namespace whistler::fuzz {

int expander(const uint8_t* data, size_t size) {
  if (size > kExpanderMaxInput) return -1;
  limit_steps();
  std::string text(reinterpret_cast<const char*>(data), size);
  run_with_large_stack([&] {
    // Declared in the order Compilation declares them (destroyed in reverse).
    SourceManager sources;
    Diagnostics diags(sources);
    Heap heap;
    Module module;
    Interpreter interp(heap, diags, module);
    Expander expander(heap, diags, module, interp);
    for (const auto& file : stdlib_files()) {
      uint32_t id = sources.add(std::string("<stdlib>/") + file.name, file.text, /*system=*/true);
      for (Value* form : read_source(heap, diags, id)) expander.top_level(form);
    }
    if (diags.has_errors()) {
      std::fprintf(stderr, "the standard library does not load:\n%s", diags.render_all().c_str());
      std::abort();
    }
    uint32_t id = sources.add("fuzz.lisp", std::move(text));
    for (Value* form : read_source(heap, diags, id)) expander.top_level(form);
    (void)diags.render_all();
  });
  return 0;
}

}  // namespace whistler::fuzz
