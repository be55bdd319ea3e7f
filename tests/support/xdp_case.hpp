// xdptest case files: a Whistler program, the packets to run it on with
// BPF_PROG_TEST_RUN, and what must come out.
//
// FORMAT. One command per line; blank lines and lines starting with '#' are
// ignored; words are separated by spaces. Commands run in file order, so a
// map can be checked, changed and checked again between packets.
//
//   source PATH                  Whistler source, relative to the repository root
//                                (several: compiled together, in order)
//   begin-source                 inline Whistler source up to a line `end-source`;
//   ...                          its diagnostics name this file and its lines
//   end-source
//   define NAME VALUE            like whistlerc -D NAME=VALUE
//   count-verdicts               like whistlerc --count-verdicts (map verdict_counts)
//   known-bug TEXT               the file fails because of a compiler/runtime bug
//                                (TEXT says which); xdp_cases_test.cpp runs such
//                                files in a test marked doctest::may_fail
//
//   program NAME                 the program later `packet` lines run (Whistler or
//                                ELF name); may change between packets. Without
//                                it the object must hold exactly one program.
//   expect-section SECTION       the current program's ELF section name
//
//   map-put MAP KEY VALUE        bpf_map_update_elem; per-CPU maps: VALUE on CPU 0,
//                                zero on the others. prog-array maps: VALUE is a
//                                program name (its fd is stored)
//   map-delete MAP KEY
//   packet SPEC => VERDICT       build SPEC (packet_builder.hpp, e.g. `tcp dport=9999
//                                vlan=10`), run it, compare the verdict
//   packet hex HEX => VERDICT    the frame given byte by byte
//   repeat N packet ...          the same packet N times, each verdict checked
//   expect-output [hex] HEX      the packet after the last run, byte for byte;
//   expect-output packet SPEC      or as built from SPEC;
//   expect-output unchanged        or identical to what went in
//   expect-map MAP KEY = VALUE   the value under KEY; per-CPU maps: the sum over all
//                                CPUs (VALUE must then be an integer)
//   expect-map MAP KEY absent    no entry under KEY
//   expect-map-entries MAP N     the number of keys (bpf_map_get_next_key)
//   expect-ringbuf MAP DATUM     the next record in ring buffer MAP is DATUM
//   expect-ringbuf MAP empty     no record left
//
// VERDICT: XDP_ABORTED XDP_DROP XDP_PASS XDP_TX XDP_REDIRECT or a number.
//
// KEY, VALUE and DATUM are byte strings of exactly the size the map (or the
// record) has:
//   123  0x7b  -1                an integer filling the whole size, little endian
//                                (host order, as a C program's u32 key)
//   or parts joined by '+':
//   u8:N u16:N u32:N u64:N       little-endian integers of that width
//   be16:N be32:N be64:N         big-endian (network order) integers
//   ip:10.0.0.1  ip6:2001:db8::1 addresses in network order (4 / 16 bytes)
//   mac:02:00:00:00:00:01        6 bytes
//   hex:0a000001                 bytes as written
//   zero:N                       N zero bytes
//   any:N                        N bytes not compared (expected values only)
//   e.g.  map-put blocked-prefix u32:8+ip:10.0.0.0 1
//         expect-map syn-windows ip:192.0.2.1 = any:8+u64:17
//
// Every failure names FILE:LINE. A wrong result is reported and the file goes
// on; a mistake in the file itself (unknown command, bad spec, unknown map or
// program, compile or load error) is reported and ends it. The object is
// compiled and loaded once per file; libbpf reporting "BTF is optional" (our
// BTF rejected by the kernel) is a failure.
#pragma once

#include <string>
#include <vector>

namespace whistler::test {

struct CaseReport {
  std::vector<std::string> failures;  // "FILE:LINE: message"
  int packets = 0;                    // test runs done
  int checks = 0;                     // verdicts and expectations compared
};

// Runs a case file. `display` is the name used in messages (default: path);
// `opt_level` is the compiler's (whistlerc -O).
CaseReport run_case_file(const std::string& path, const std::string& display = "", int opt_level = 2);
// Runs case text; `display` names it in messages.
CaseReport run_case_text(const std::string& text, const std::string& display, int opt_level = 2);

}  // namespace whistler::test
