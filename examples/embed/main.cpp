// Whistler in a C++ program, through <whistler/whistler.hpp>:
//  1. drop_port.lisp, compiled when this program was built and embedded in
//     it (whistler_add_bpf_object ... EMBED_INTO), is loaded into the kernel
//     and run with BPF_PROG_TEST_RUN on a TCP/9999 frame (dropped) and a
//     TCP/80 frame (passed);
//  2. a program compiled at run time, with a port chosen at run time, is
//     loaded and run the same way;
//  3. errors: compile errors come back as data, runtime failures as
//     whistler::Error.
// Exits 0 when every verdict is the expected one. Loading needs root (or
// CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN).
#include <whistler/whistler.hpp>

#include <cstdint>
#include <iostream>
#include <vector>

#include "example_bpf_objects.hpp"  // drop_port_bpf, drop_port_bpf_size

namespace {

// Ethernet + IPv4 + TCP SYN from 192.0.2.1:40000 to 192.0.2.2:`port`,
// padded to the 60-byte Ethernet minimum.
std::vector<std::uint8_t> tcp_frame(std::uint16_t port) {
  std::vector<std::uint8_t> f = {
      0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,  // Ethernet, EtherType IPv4
      0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0,                     // IPv4, 40 bytes, TTL 64, TCP
      192, 0, 2, 1, 192, 0, 2, 2,                                  // addresses
      0x9c, 0x40, static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port),  // ports
      0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,  // seq, ack, SYN, window
  };
  f.resize(60);
  return f;
}

// Runs `program` on a TCP frame to `port`; prints and checks the verdict.
bool expect(const whistler::Program& program, std::uint16_t port, whistler::XdpAction expected) {
  whistler::TestRunResult r = program.test_run(tcp_frame(port));
  bool ok = r.verdict == expected;
  std::cout << "  " << program.name() << ": TCP/" << port << " -> " << whistler::to_string(r.verdict)
            << (ok ? "" : std::string(" (expected ") + whistler::to_string(expected) + ")") << "\n";
  return ok;
}

}  // namespace

int main() try {
  using whistler::XdpAction;
  std::cout << "whistler " << whistler::version() << "\n";
  bool ok = true;

  // 1. The object built from drop_port.lisp (port 9999, from lib/ports.lisp).
  std::cout << "embedded object: " << drop_port_bpf_size << " bytes\n";
  whistler::LoadOptions load_options;
  load_options.name = "drop_port";  // names the object in errors
  whistler::Object embedded = whistler::Object::load(drop_port_bpf, drop_port_bpf_size, load_options);
  whistler::Program drop = embedded.program("drop-port");  // the Whistler name; "drop_port" works too
  ok &= expect(drop, 9999, XdpAction::Drop);
  ok &= expect(drop, 80, XdpAction::Pass);

  // 2. A program compiled now, with the port given as a define.
  whistler::CompileOptions options;
  options.defines = {{"port", "8080"}};
  whistler::CompileResult compiled = whistler::compile_source(R"(
    (defprog drop-port (:type :xdp)
      (with-tcp (data data-end tcp)
        (when (= (tcp-dst-port tcp) port) (return XDP_DROP)))
      XDP_PASS))", "runtime.lisp", options);
  if (!compiled) {
    std::cerr << compiled.error_text();
    return 1;
  }
  for (const auto& p : compiled.programs)
    std::cout << "compiled " << p.name << " (section " << p.section << "): " << p.instructions << " instructions\n";
  whistler::Object runtime_object = whistler::Object::load(compiled);
  ok &= expect(runtime_object.program("drop-port"), 8080, XdpAction::Drop);
  ok &= expect(runtime_object.program("drop-port"), 9999, XdpAction::Pass);

  // 3. Compile errors are data, with locations...
  whistler::CompileResult bad = whistler::compile_source("(defprog p (:type :xdp) (frob))", "bad.lisp");
  if (!bad && !bad.diagnostics.empty()) {
    const auto& d = bad.diagnostics.front();
    std::cout << "error at " << d.location.file << ":" << d.location.line << ":" << d.location.column << ": " << d.message << "\n";
  }
  // ... and runtime failures are exceptions saying what to do.
  try {
    embedded.program("drop-8080");
    ok = false;
  } catch (const whistler::Error& e) {
    std::cout << "runtime error: " << e.message() << "\n";
  }

  std::cout << (ok ? "all verdicts as expected\n" : "UNEXPECTED VERDICTS\n");
  return ok ? 0 : 1;
} catch (const whistler::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
