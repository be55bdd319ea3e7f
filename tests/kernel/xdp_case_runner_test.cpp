// The xdptest runner itself: it must notice every kind of wrong expectation
// and name FILE:LINE, or the case files prove nothing.
#include <doctest/doctest.h>

#include <string>

#include "xdp_case.hpp"

using whistler::test::CaseReport;
using whistler::test::run_case_text;

namespace {

const char* kDropSource =
    "begin-source\n"
    "(defmap hits :type :hash :key-type u32 :value-type u64 :max-entries 8)\n"
    "(defmap per-cpu :type :percpu-array :key-type u32 :value-type u64 :max-entries 2)\n"
    "(defprog drop-23 (:type :xdp)\n"
    "  (incf (getmap per-cpu 1))\n"
    "  (with-tcp (data data-end tcp)\n"
    "    (when (= (tcp-dst-port tcp) 23)\n"
    "      (incf (getmap hits 23))\n"
    "      (return XDP_DROP)))\n"
    "  XDP_PASS)\n"
    "end-source\n";  // lines 1-11

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string all(const CaseReport& r) {
  std::string out;
  for (const auto& f : r.failures) out += f + "\n";
  return out;
}

// Runs kDropSource followed by `body` (starting at line 12).
CaseReport run(const std::string& body) { return run_case_text(std::string(kDropSource) + body, "t.xdptest"); }

}  // namespace

TEST_CASE("xdptest runner: a correct case passes with its checks counted") {
  CaseReport r = run(
      "packet tcp dport=23 => XDP_DROP\n"
      "packet tcp dport=24 => 2\n"
      "repeat 3 packet tcp dport=23 vlan=1 => XDP_DROP\n"
      "expect-output unchanged\n"
      "expect-map hits 23 = 4\n"
      "expect-map hits 0x17 = u64:4\n"
      "expect-map hits 24 absent\n"
      "expect-map per-cpu 1 = 5\n"
      "expect-map-entries hits 1\n"
      "map-put hits 1 hex:0100000000000000\n"
      "expect-map hits 1 = 1\n"
      "map-delete hits 1\n"
      "expect-map hits 1 absent\n"
      "expect-map per-cpu 0 = 0\n"
      "map-put per-cpu 0 0x1234\n"
      "expect-map per-cpu 0 = 4660\n");
  CHECK_MESSAGE(r.failures.empty(), all(r));
  CHECK(r.packets == 5);
  CHECK(r.checks == 5 + 10);
}

TEST_CASE("xdptest runner: wrong verdicts, outputs and map values fail at their line") {
  CaseReport r = run(
      "packet tcp dport=23 => XDP_PASS\n"           // 12
      "expect-output packet tcp dport=24\n"         // 13
      "expect-map hits 23 = 2\n"                    // 14
      "expect-map hits 23 absent\n"                 // 15
      "expect-map hits 5 = 1\n"                     // 16
      "expect-map per-cpu 1 = 7\n"                  // 17
      "expect-map-entries hits 3\n"                 // 18
      "repeat 4 packet tcp dport=22 => XDP_DROP\n"  // 19
      "expect-map hits 23 = any:4+u32:0\n"          // 20: matches
      "expect-output 00\n");                        // 21
  std::string text = all(r);
  CHECK(r.failures.size() == 9);
  CHECK(contains(text, "t.xdptest:12: drop_23 returned XDP_DROP for 'tcp dport=23', expected XDP_PASS"));
  CHECK(contains(text, "t.xdptest:13: output packet differs from tcp dport=24: first difference at byte 37"));
  CHECK(contains(text, "t.xdptest:14: map hits key 23 is 0100000000000000 (1), expected 0200000000000000"));
  CHECK(contains(text, "t.xdptest:15: map hits key 23 has an entry, expected none"));
  CHECK(contains(text, "t.xdptest:16: map hits key 5: no entry"));
  CHECK(contains(text, "t.xdptest:17: map per-cpu key 1: sum over CPUs is 1, expected 7"));
  CHECK(contains(text, "t.xdptest:18: map hits has 1 entries, expected 3"));
  // A repeat reports its first wrong run only.
  CHECK(contains(text, "t.xdptest:19: drop_23 returned XDP_PASS for 'tcp dport=22' (run 1 of 4), expected XDP_DROP"));
  CHECK_FALSE(contains(text, "run 2 of 4"));
  CHECK(contains(text, "t.xdptest:21: output packet differs from the given bytes"));
  CHECK_FALSE(contains(text, "t.xdptest:20:"));
}

TEST_CASE("xdptest runner: mistakes in the case file name FILE:LINE and stop the run") {
  auto first = [](const std::string& text) {
    CaseReport r = run_case_text(text, "bad.xdptest");
    return r.failures.empty() ? std::string("no failure") : r.failures.front();
  };
  CHECK(first("") == "bad.xdptest:0: no source: start with `source PATH` or begin-source");
  CHECK(contains(first("source examples/no-such-file.lisp\n"), "bad.xdptest:1: source examples/no-such-file.lisp does not compile"));
  CHECK(contains(first(std::string(kDropSource) + "\n# comment\nfrobnicate 1\n"), "bad.xdptest:14: unknown command 'frobnicate'"));
  CHECK(contains(first(std::string(kDropSource) + "packet tcp dprt=23 => XDP_DROP\n"),
                 "bad.xdptest:12: bad packet spec 'tcp dprt=23': key 'dprt' does not apply to tcp"));
  CHECK(contains(first(std::string(kDropSource) + "packet tcp dport=23\n"), "bad.xdptest:12: usage: packet SPEC => VERDICT"));
  CHECK(contains(first(std::string(kDropSource) + "packet tcp => XDP_MAYBE\n"), "bad.xdptest:12: 'XDP_MAYBE' is not a verdict"));
  CHECK(contains(first(std::string(kDropSource) + "packet tcp trunc=10 => XDP_PASS\n"),
                 "bad.xdptest:12: test run of 'tcp trunc=10' (10 bytes) failed"));
  CHECK(contains(first(std::string(kDropSource) + "map-put nope 1 1\n"), "bad.xdptest:12: no map 'nope' in the object (maps: hits, per_cpu)"));
  CHECK(contains(first(std::string(kDropSource) + "map-put hits 1 hex:01\n"),
                 "bad.xdptest:12: value 'hex:01' is 1 bytes, the map's value size is 8"));
  CHECK(contains(first(std::string(kDropSource) + "map-put hits 0x1ffffffff 1\n"), "bad.xdptest:12: '0x1ffffffff' does not fit in 4 bytes"));
  CHECK(contains(first(std::string(kDropSource) + "map-put hits 1 any:8\n"), "bad.xdptest:12: any: only makes sense in expected values"));
  CHECK(contains(first(std::string(kDropSource) + "program nope\n"), "bad.xdptest:12: no program 'nope' in the object (programs: drop_23)"));
  CHECK(contains(first(std::string(kDropSource) + "expect-output unchanged\n"), "bad.xdptest:12: expect-output before any successful packet run"));
  CHECK(contains(first(std::string(kDropSource) + "packet tcp => XDP_PASS\nsource examples/drop9999.lisp\n"),
                 "bad.xdptest:13: source and options must come before packets and map commands"));
  CHECK(contains(first("begin-source\n(defprog p (:type :xdp) XDP_PASS)\n"), "bad.xdptest:1: begin-source without end-source"));
  // Compile errors in inline source are reported at the case file's own lines.
  CHECK(contains(first("# header\nbegin-source\n(defprog p (:type :xdp)\n  (no-such-form 1))\nend-source\npacket tcp => XDP_PASS\n"),
                 "bad.xdptest:4:3: error: unknown form 'no-such-form'"));
  // Two programs and no `program` line.
  CHECK(contains(first("begin-source\n(defprog a (:type :xdp) XDP_PASS)\n(defprog b (:type :xdp) XDP_DROP)\nend-source\n"
                       "packet tcp => XDP_PASS\n"),
                 "bad.xdptest:5: the object has 2 programs (a, b): say which with `program NAME`"));
  // Nothing after the failure runs.
  CaseReport r = run_case_text(std::string(kDropSource) + "map-put nope 1 1\npacket tcp => XDP_DROP\n", "bad.xdptest");
  CHECK(r.failures.size() == 1);
  CHECK(r.packets == 0);
}

TEST_CASE("xdptest runner: several programs, sections and ring buffers") {
  CaseReport r = run_case_text(
      "begin-source\n"
      "(defmap events :type :ringbuf :max-entries 4096)\n"
      "(defprog a (:type :xdp :section \"xdp/first-one\")\n"
      "  (with-ringbuf (rec events 8)\n"
      "    (store u32 rec 0 #x01020304)\n"
      "    (store u32 rec 4 (- (xdp-data-end) (xdp-data))))\n"
      "  XDP_PASS)\n"
      "(defprog b (:type :xdp) XDP_DROP)\n"
      "end-source\n"
      "program a\n"              // 10
      "expect-section xdp/first-one\n"
      "packet tcp => XDP_PASS\n"
      "packet raw len=100 => XDP_PASS\n"
      "expect-ringbuf events u32:0x01020304+u32:62\n"
      "expect-ringbuf events hex:04030201+any:4\n"
      "expect-ringbuf events empty\n"
      "program b\n"
      "packet tcp => XDP_DROP\n"
      "expect-section xdp/first-one\n"  // 19: wrong
      "program a\n"
      "packet tcp => XDP_PASS\n"
      "expect-ringbuf events u32:0x01020304+u32:61\n"  // 22: wrong
      "expect-ringbuf events empty\n"
      "packet tcp => XDP_PASS\n"
      "expect-ringbuf events empty\n",  // 25: wrong
      "rb.xdptest");
  std::string text = all(r);
  CHECK(r.failures.size() == 3);
  CHECK(contains(text, "rb.xdptest:19: program b is in section 'xdp', expected 'xdp/first-one'"));
  CHECK(contains(text, "rb.xdptest:22: ring buffer events record is 040302013e000000, expected 040302013d000000"));
  CHECK(contains(text, "rb.xdptest:25: ring buffer events holds 1 more record(s)"));
}
