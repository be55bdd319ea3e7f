// What the bounds passes refuse, located at the access and hinted, and what
// they insert, counted: whatever whistlerc accepts, the verifier must accept.
#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace whistler;

namespace {

std::string errors_of(const std::string& text, int opt_level = 2) {
  std::string diags;
  CompileOutput out = test::compile_text(text, diags, EmitKind::Object, opt_level);
  CHECK_FALSE(out.ok);
  CHECK(out.bytes.empty());
  return diags;
}

CompileOutput must_compile(const std::string& text, int opt_level = 2) {
  std::string diags;
  CompileOutput out = test::compile_text(text, diags, EmitKind::Object, opt_level);
  REQUIRE_MESSAGE(out.ok, diags);
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

#define CHECK_HAS(text, needle) CHECK_MESSAGE(contains(text, needle), "expected «" << needle << "» in:\n" << text)

}  // namespace

TEST_CASE("an access at a constant offset outside a stack struct is a located error, at every level") {
  for (int level : {0, 2}) {
    std::string d = errors_of(R"((defstruct pair (a u32) (b u32))
(defprog p (:type :xdp)
  (let ((s (make-pair)))
    (store u32 s 12 5)
    (if (= (load u32 s 8) 5) XDP_DROP XDP_PASS)))
)",
                              level);
    CHECK_HAS(d, "test.lisp:4:5: error: this access touches bytes 12 to 15 of a stack buffer of 8 bytes: outside it");
    CHECK_HAS(d, "test.lisp:5:12: error: this access touches bytes 8 to 11 of a stack buffer of 8 bytes: outside it");
    CHECK_HAS(d, "hint: offsets into a struct");
  }
}

TEST_CASE("a packet pointer used after xdp-adjust-head is a located error naming the call") {
  std::string d = errors_of(R"((defprog p (:type :xdp)
  (with-eth (data end)
    (xdp-adjust-head 14)
    (when (= (load u8 data 20) 1) (return XDP_DROP)))
  XDP_PASS)
)");
  CHECK_HAS(d, "test.lisp:4:14: error: this packet access uses a pointer taken before (xdp-adjust-head ...) on line 3 moved the packet");
  CHECK_HAS(d, "hint: after the call, read (xdp-data) and (xdp-data-end) again");
  // Read again after the call: fine.
  must_compile(R"((defprog q (:type :xdp)
  (when (= (xdp-adjust-head 14) 0)
    (with-eth (data end)
      (when (= (load u8 data 12) 1) (return XDP_DROP))))
  XDP_PASS)
)");
}

TEST_CASE("programs that share a devmap must agree on xdp.frags") {
  std::string d = errors_of(R"((defmap ports :type :devmap :max-entries 4)
(defprog a (:type :xdp :section "xdp.frags") (redirect-map ports 0 0))
(defprog b (:type :xdp) (redirect-map ports 1 0))
)");
  CHECK_HAS(d, "test.lisp:3:39: error: program 'b' (not xdp.frags) uses map 'ports', which program 'a' (xdp.frags) uses too");
  CHECK_HAS(d, "test.lisp:2:60: note: the other use is here");
}

TEST_CASE("a packet buffer too large to copy for a helper that may not read the packet is refused") {
  std::string d = errors_of(R"((defmap events :type :ringbuf :max-entries 4096)
(defprog p (:type :xdp)
  (ringbuf-output events (xdp-data) 600 0)
  XDP_PASS)
)");
  CHECK_HAS(d, "test.lisp:3:3: error: (ringbuf-output ...) cannot use packet memory directly, and a 600-byte buffer is too large");
}

TEST_CASE("a run-time packet offset the verifier cannot bound gets a check; one it can bound gets none") {
  // udp-length is up to 0xffff: udp + length - 1 is rebuilt and checked.
  CompileOutput unbounded = must_compile(R"((defprog p (:type :xdp)
  (with-udp (data data-end udp)
    (when (= (load u8 udp (- (udp-length udp) 1)) 0) (return XDP_DROP)))
  XDP_PASS)
)");
  // The IHL-based offset is at most 60, which the verifier tracks: no check
  // beyond the accesses' own.
  CompileOutput bounded = must_compile(R"((defprog p (:type :xdp)
  (with-udp (data data-end udp)
    (when (= (load u8 udp 0) 0) (return XDP_DROP)))
  XDP_PASS)
)");
  CHECK(unbounded.bounds.inserted == bounded.bounds.inserted + 2);  // the offset, then the access
}

TEST_CASE("map values: a variable offset gets a bound, a use before the test for 0 gets the test") {
  CompileOutput out = must_compile(R"((defstruct pair (a u32) (b u32))
(defmap pairs :type :hash :key-type u32 :value-type pair :max-entries 4)
(defmap index :type :array :key-type u32 :value-type u64 :max-entries 1)
(defprog p (:type :xdp)
  (let ((v (getmap pairs 1)))
    (if (= (load u8 v (getmap index 0)) 7) XDP_TX XDP_PASS)))
)");
  CHECK(out.bounds.object_checks == 2);
}

TEST_CASE("a return or tail call while a record reserved by hand is held is a located error naming the reservation") {
  const std::string maps = R"((defstruct ev (a u32) (b u32))
(defmap events :type :ringbuf :max-entries 4096 :value-type ev)
(defmap jumps :type :prog-array :max-entries 4)
)";
  for (int level : {0, 2}) {
    // A return inside a defun leaves the program, with the record held.
    std::string d = errors_of(maps + R"((defun pick (x) (when (= x 3) (return XDP_DROP)) x)
(defprog p (:type :xdp)
  (let ((rec (ringbuf-reserve events 8 0)))
    (when rec
      (setf (ev-a rec) (pick (ctx rx-queue-index)))
      (ringbuf-submit rec 0)))
  XDP_PASS)
)",
                              level);
    CHECK_HAS(d, "test.lisp:4:31: error: the program returns here while the ring buffer record reserved at 6:14 may be neither submitted nor discarded");
    CHECK_HAS(d, "hint: release the record on every path first: (ringbuf-submit REC 0) or (ringbuf-discard REC 0)");
    // Released on one branch only.
    d = errors_of(maps + R"((defprog p (:type :xdp)
  (let ((rec (ringbuf-reserve events 8 0)))
    (when rec
      (when (ctx rx-queue-index) (ringbuf-submit rec 0))))
  XDP_PASS)
)",
                  level);
    CHECK_HAS(d, "the program ends after its last form while the ring buffer record reserved at 5:14 may be neither");
    // A tail call with the record held, also inside with-ringbuf.
    d = errors_of(maps + R"((defprog p (:type :xdp)
  (with-ringbuf (rec events 8)
    (tail-call jumps 0))
  XDP_PASS)
)",
                  level);
    CHECK_HAS(d, "test.lisp:6:5: error: a tail call here while the ring buffer record reserved at");
  }
  // Released on every path the verifier follows: accepted.
  for (int level : {0, 2}) {
    must_compile(maps + R"((defprog ok (:type :xdp)
  (let ((rec (ringbuf-reserve events 8 0)))
    (when rec (setf (ev-a rec) 1))
    (when rec (if (ctx rx-queue-index) (ringbuf-submit rec 0) (ringbuf-discard rec 0))))
  (with-ringbuf (r events 8)
    (when (ctx rx-queue-index) (return XDP_DROP))
    (setf (ev-b r) 2))
  XDP_PASS)
)",
                 level);
  }
}

TEST_CASE("a prog-array shared by a devmap program and an interface program is a located error") {
  std::string d = errors_of(R"((defmap jumps :type :prog-array :max-entries 1)
(defprog on-devmap (:type :xdp :section "xdp/devmap") (tail-call jumps 0) XDP_PASS)
(defprog on-iface (:type :xdp) (tail-call jumps 0) XDP_PASS)
)");
  CHECK_HAS(d, "test.lisp:3:43: error: program 'on-iface' (an interface program, section \"xdp\") uses prog-array 'jumps', which program 'on-devmap' (a devmap program, section \"xdp/devmap\") uses too");
  CHECK_HAS(d, "test.lisp:2:66: note: the other use is here");
  // Two interface programs (any section names) share one.
  must_compile(R"((defmap jumps :type :prog-array :max-entries 1)
(defprog a (:type :xdp :section "xdp/a") (tail-call jumps 0) XDP_PASS)
(defprog b (:type :xdp) (tail-call jumps 0) XDP_PASS)
)");
}

TEST_CASE("a merge of a pointer read again after xdp-adjust-head and one taken before it on a path without the call is fine") {
  for (int level : {0, 2}) {
    must_compile(R"((defprog p (:type :xdp)
  (let* ((d (xdp-data))
         (k (if (= (ctx rx-queue-index) 0)
                (progn (unless (= (xdp-adjust-head 4) 0) (return XDP_PASS)) (+ (xdp-data) 6))
                (+ d 10))))
    (when (> (+ k 4) (xdp-data-end)) (return XDP_PASS))
    (if (= (load u32 k 0) 1) XDP_DROP XDP_PASS)))
)",
                 level);
    // The pointer taken before the call on the path with the call: an error.
    std::string d = errors_of(R"((defprog p (:type :xdp)
  (let* ((d (xdp-data))
         (k (if (= (ctx rx-queue-index) 0)
                (progn (unless (= (xdp-adjust-head 4) 0) (return XDP_PASS)) (+ d 6))
                (+ d 10))))
    (when (> (+ k 4) (xdp-data-end)) (return XDP_PASS))
    (if (= (load u32 k 0) 1) XDP_DROP XDP_PASS)))
)",
                              level);
    CHECK_HAS(d, "this packet access uses a pointer taken before (xdp-adjust-head ...) on line 4 moved the packet");
  }
}
