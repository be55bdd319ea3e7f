// Two ways to get a BPF object from Whistler in a C++ program: compiled at
// build time and embedded (whistler_add_bpf_object ... EMBED_INTO), or
// compiled at run time with whistler::compile_source.
#include <whistler/compiler.hpp>
#include <whistler/version.hpp>

#include <cstring>
#include <iostream>

#include "example_bpf_objects.hpp"  // drop_port_bpf, drop_port_bpf_size

int main() {
  std::cout << "whistler " << whistler::version() << "\n";

  // The object built from drop_port.lisp when this program was built.
  bool embedded_is_elf = drop_port_bpf_size > 4 && std::memcmp(drop_port_bpf, "\x7f" "ELF", 4) == 0;
  std::cout << "embedded object: " << drop_port_bpf_size << " bytes" << (embedded_is_elf ? ", ELF" : ", NOT ELF") << "\n";

  // A program compiled now, with a port chosen at run time.
  whistler::CompileOptions options;
  options.defines = {{"port", "8080"}};
  whistler::CompileResult result = whistler::compile_source(R"(
    (defprog drop-port (:type :xdp)
      (with-tcp (data data-end tcp)
        (when (= (tcp-dst-port tcp) port) (return XDP_DROP)))
      XDP_PASS))", "runtime.lisp", options);
  if (!result) {
    std::cerr << result.error_text();
    return 1;
  }
  for (const auto& p : result.programs)
    std::cout << "compiled " << p.name << " (section " << p.section << "): " << p.instructions << " instructions\n";

  // Errors come back as data, with locations.
  whistler::CompileResult bad = whistler::compile_source("(defprog p (:type :xdp) (frob))", "bad.lisp");
  if (!bad && !bad.diagnostics.empty()) {
    const auto& d = bad.diagnostics.front();
    std::cout << "error at " << d.location.file << ":" << d.location.line << ":" << d.location.column << ": " << d.message << "\n";
  }
  return embedded_is_elf && !result.output.empty() ? 0 : 1;
}
