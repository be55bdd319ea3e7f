// Fuzz target: the reader alone.
#include <string>

#include "diagnostics.hpp"
#include "large_stack.hpp"
#include "reader.hpp"
#include "source.hpp"
#include "targets.hpp"
#include "value.hpp"

namespace whistler::fuzz {

int reader(const uint8_t* data, size_t size) {
  if (size > kReaderMaxInput) return -1;
  SourceManager sources;
  Diagnostics diags(sources);
  Heap heap;
  uint32_t file = sources.add("fuzz.lisp", std::string(reinterpret_cast<const char*>(data), size));
  // As in the compiler: the reader and everything that walks its output run
  // on the large stack.
  run_with_large_stack([&] {
    Reader reader(heap, diags, file);
    for (Value* form : reader.read_all()) {
      (void)print(form);
      (void)list_length(form);
    }
    (void)diags.render_all();
  });
  return 0;
}

}  // namespace whistler::fuzz
