// Every error the compiler reports: located at the form at fault, shown with
// the source line and a caret, with a hint where one helps; several errors in
// one run are all reported; nothing is emitted.
#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace whistler;

namespace {

// Compiles and returns the rendered diagnostics; the compile must fail.
std::string errors_of(const std::string& text) {
  std::string diags;
  CompileOutput out = test::compile_text(text, diags);
  CHECK_FALSE(out.ok);
  CHECK(out.bytes.empty());
  return diags;
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

#define CHECK_HAS(text, needle) CHECK_MESSAGE(contains(text, needle), "expected «" << needle << "» in:\n" << text)

}  // namespace

TEST_CASE("an unknown form is located, shown with a caret and hinted") {
  std::string d = errors_of("(defprog p (:type :xdp)\n  (frobnicate 1 2)\n  XDP_PASS)\n");
  CHECK_HAS(d, "test.lisp:2:3: error: unknown form 'frobnicate'\n");
  CHECK_HAS(d, "  (frobnicate 1 2)\n    ^\n");
}

TEST_CASE("a misspelled helper gets a did-you-mean hint") {
  std::string d = errors_of("(defprog p (:type :xdp)\n  (ktime-get-nss)\n  XDP_PASS)\n");
  CHECK_HAS(d, "test.lisp:2:3: error: unknown form 'ktime-get-nss'");
  CHECK_HAS(d, "hint: did you mean 'ktime-get-ns'?");
}

TEST_CASE("an unknown variable suggests a close name") {
  std::string d = errors_of("(defprog p (:type :xdp)\n  (let ((count 1))\n    (+ cuont 1)))\n");
  CHECK_HAS(d, "test.lisp:3:8: error: unknown variable 'cuont'");
  CHECK_HAS(d, "did you mean 'count'?");
}

TEST_CASE("syntax errors: unterminated list, stray paren, unterminated string, unknown # syntax") {
  CHECK_HAS(errors_of("(defprog p (:type :xdp)\n  (+ 1 2)\n"), "test.lisp:1:1: error: unterminated list: missing ')'");
  CHECK_HAS(errors_of("(defprog p (:type :xdp) XDP_PASS))\n"), "test.lisp:1:34: error: unexpected ')'");
  CHECK_HAS(errors_of("(defprog p (:type :xdp) (printk \"oops))\n"), "test.lisp:1:33: error: unterminated string");
  CHECK_HAS(errors_of("(defprog p (:type :xdp) #q)\n"), "test.lisp:1:25: error: unknown reader syntax '#q'");
  CHECK_HAS(errors_of("(defprog p (:type :xdp) 1.5)\n"), "is not an integer");
}

TEST_CASE("several errors in one run are all reported, in source order") {
  std::string d = errors_of(
      "(defmap counts :type :array :key-size 4 :value-size 8 :max-entries 4)\n"
      "(defprog p (:type :xdp)\n"
      "  (let ((x (foo 1)))\n"
      "    (incf (getmap countz 0))\n"
      "    (+ x (bar))))\n"
      "(defprog q (:type :tc) XDP_PASS)\n");
  size_t foo = d.find("test.lisp:3:12: error: unknown form 'foo'");
  size_t countz = d.find("test.lisp:4:19: error: incf getmap needs a map, got countz");
  size_t bar = d.find("test.lisp:5:10: error: unknown form 'bar'");
  size_t tc = d.find("test.lisp:6:19: error: defprog q: program type :tc is not supported");
  CHECK(foo != std::string::npos);
  CHECK(countz != std::string::npos);
  CHECK(bar != std::string::npos);
  CHECK(tc != std::string::npos);
  CHECK(foo < countz);
  CHECK(countz < bar);
  CHECK(bar < tc);
  CHECK_HAS(d, "did you mean 'counts'?");
}

TEST_CASE("a failed definition does not produce follow-on errors at its uses") {
  std::string d = errors_of(
      "(defmap m :type :hash :key-size 4 :max-entries 8)\n"  // no value size
      "(defprog p (:type :xdp) (getmap m 1) XDP_PASS)\n");
  CHECK_HAS(d, "test.lisp:1:1: error: defmap m needs :value-size (or :value-type)");
  CHECK_FALSE(contains(d, "needs a map"));
}

TEST_CASE("errors inside standard library macros are reported at the user's call") {
  std::string d = errors_of("(defprog p (:type :xdp)\n  (with-tcp (data data-end)\n    XDP_DROP))\n");
  CHECK_HAS(d, "test.lisp:2:13: error: macro 'with-tcp' expects a list like (data data-end tcp) here, got (data data-end)");
  CHECK_FALSE(contains(d, "<stdlib>"));
}

TEST_CASE("errors in user macros point into the macro and note the call") {
  std::string d = errors_of(
      "(defmacro twice (x) (if (integerp x) `(+ ,x ,x) (error \"twice needs an integer, got ~a\" x)))\n"
      "(defprog p (:type :xdp)\n  (twice foo))\n");
  CHECK_HAS(d, "error: twice needs an integer, got foo");
  CHECK_HAS(d, "test.lisp:3:3: note: while expanding macro 'twice' here");
}

TEST_CASE("defprog options are checked") {
  CHECK_HAS(errors_of("(defprog p (:type :kprobe) 0)"), "program type :kprobe is not supported");
  CHECK_HAS(errors_of("(defprog p (:section \"tc\") 0)"), "invalid XDP section \"tc\"");
  CHECK_HAS(errors_of("(defprog p (:colour :red) 0)"), "defprog p: unknown option :colour");
  CHECK_HAS(errors_of("(defprog p (:short-packet 9) 0)"), ":short-packet takes an XDP action");
  CHECK_HAS(errors_of("(defprog p (:type :xdp))"), "defprog p has no body");
  CHECK_HAS(errors_of("(defprog (:type :xdp) 0)"), "defprog needs a name");
  CHECK_HAS(errors_of("(defprog p (:type :xdp) 0)\n(defprog p (:type :xdp) 0)"), "program 'p' is defined twice");
}

TEST_CASE("conflicting licenses are refused with both places shown") {
  std::string d = errors_of(
      "(defprog a (:type :xdp :license \"GPL\") XDP_PASS)\n"
      "(defprog b (:type :xdp :license \"Dual MIT/GPL\") XDP_PASS)\n");
  CHECK_HAS(d, "test.lisp:2:33: error: program 'b' asks for license \"Dual MIT/GPL\"");
  CHECK_HAS(d, "test.lisp:1:33: note: the other license is given here");
}

TEST_CASE("defmap is checked") {
  CHECK_HAS(errors_of("(defmap m :type :tree :key-size 4 :value-size 4 :max-entries 1)"), "unknown map type :tree");
  CHECK_HAS(errors_of("(defmap m :type :hash :key-size 4 :value-size 4)"), "defmap m needs :max-entries");
  CHECK_HAS(errors_of("(defmap m :type :hash :key-size 4 :value-size 4 :max-entries 1 :colour 3)"), "unknown option :colour");
  CHECK_HAS(errors_of("(defmap m :type :ringbuf :max-entries 1000)"), "must be a power of 2 and a multiple of 4096");
  CHECK_HAS(errors_of("(defmap m :type :array :key-size 8 :value-size 8 :max-entries 4)"), "array-like maps take 4-byte keys");
}

TEST_CASE("helpers: arity and argument kinds are compile errors, not verifier failures") {
  std::string d = errors_of("(defprog p (:type :xdp)\n  (csum-diff 0 0 4)\n  XDP_PASS)\n");
  CHECK_HAS(d, "test.lisp:2:3: error: (csum-diff ...) takes 5 arguments, got 3");
  CHECK_HAS(d, "usage: (csum-diff FROM FROM-SIZE TO TO-SIZE SEED)");
  d = errors_of("(defprog p (:type :xdp)\n  (csum-diff 0 0 16 4 0)\n  XDP_PASS)\n");
  CHECK_HAS(d, "test.lisp:2:18: error: argument 3 of (csum-diff ...) must be a pointer, got an integer");
  d = errors_of("(defprog p (:type :xdp)\n  (redirect-map nosuchmap 0 0))\n");
  CHECK_HAS(d, "test.lisp:2:17: error: redirect-map needs a map, got nosuchmap");
  d = errors_of("(defprog p (:type :xdp)\n  (redirect (xdp-data) 0))\n");
  CHECK_HAS(d, "argument 1 of (redirect ...) must be an integer, got a pointer");
}

TEST_CASE("map operations are checked against the map's definition") {
  std::string d = errors_of(
      "(defmap rb :type :ringbuf :max-entries 4096)\n"
      "(defmap wide :type :hash :key-size 16 :value-size 8 :max-entries 4)\n"
      "(defprog p (:type :xdp)\n"
      "  (getmap rb 0)\n"
      "  (getmap wide 7)\n"
      "  XDP_PASS)\n");
  CHECK_HAS(d, "test.lisp:4:11: error: map 'rb' is a ring buffer: it has no entries to read");
  CHECK_HAS(d, "test.lisp:5:16: error: map 'wide' has 16-byte keys: pass a pointer to the key");
}

TEST_CASE("setf of something that is not a place") {
  std::string d = errors_of("(defprog p (:type :xdp)\n  (setf (+ 1 2) 3)\n  XDP_PASS)\n");
  CHECK_HAS(d, "test.lisp:2:9: error: cannot setf (+ 1 2)");
  CHECK_HAS(errors_of("(defprog p (:type :xdp) (setf XDP_PASS 1) 0)"), "cannot assign to constant xdp_pass");
}

TEST_CASE("loops need constant bounds; recursion is refused") {
  CHECK_HAS(errors_of("(defprog p (:type :xdp)\n  (let ((n (ktime-get-ns))) (dotimes (i n) 0))\n  XDP_PASS)\n"),
            "loop bound must be a constant");
  CHECK_HAS(errors_of("(defun f (x) (f x))\n(defprog p (:type :xdp) (f 1))\n"), "function 'f' calls itself");
}

TEST_CASE("a runtime form in a compiled file is explained") {
  CHECK_HAS(errors_of("(attach-xdp prog \"eth0\" :mode \"xdpgeneric\")"), "(attach-xdp ...) is a runtime form");
}

TEST_CASE("runaway macros and absurd nesting are errors, not crashes") {
  CHECK_HAS(errors_of("(defmacro forever () '(forever))\n(defprog p (:type :xdp) (forever))\n"),
            "expansion nested more than 20000 deep");
  CHECK_HAS(errors_of("(defmacro grow (x) (list 'grow (list '+ x 1)))\n(defprog p (:type :xdp) (grow 1))\n"),
            "expansion nested more than 20000 deep");
  std::string deep = "(defprog p (:type :xdp) ";
  for (int i = 0; i < 12000; ++i) deep += "(+ 1 ";
  deep += "0";
  for (int i = 0; i < 12000; ++i) deep += ")";
  deep += ")";
  CHECK_HAS(errors_of(deep), "lists nested more than 10000 deep");
}

TEST_CASE("a program thousands of levels deep still compiles") {
  // A 3,000-clause cond nests 3,000 ifs: more than an 8 MiB stack would hold
  // through the expander and lowering, which run on a large stack.
  std::string text = "(defprog p (:type :xdp)\n  (let ((x (get-prandom-u32)))\n    (cond\n";
  for (int i = 0; i < 3000; ++i) text += "      ((= x " + std::to_string(i) + ") XDP_DROP)\n";
  text += "      (t XDP_PASS))))\n";
  std::string diags;
  CompileOutput out = test::compile_text(text, diags);
  CHECK_MESSAGE(out.ok, diags);
}

TEST_CASE("an error in the middle of a branch is reported, and nothing crashes") {
  // Lowering stops inside the if: the half-built function must not be walked.
  std::string d = errors_of("(defprog p (:type :xdp)\n  (if (frob) (return XDP_DROP) (bar))\n  XDP_PASS)\n");
  CHECK_HAS(d, "test.lisp:2:7: error: unknown form 'frob'");
}

TEST_CASE("defstruct: :conc-name names the accessors; any other option is a located error") {
  std::string diags;
  CompileOutput ok = test::compile_text(R"((defstruct (pt (:conc-name p-)) (x u32) (y u32))
(defstruct (bare (:conc-name nil)) (bx u16))
(defmap m :type :array :key-type u32 :value-type pt :max-entries 1)
(defprog a (:type :xdp)
  (let ((v (map-lookup m 0)))
    (when v (setf (p-y v) (+ (p-x v) (sizeof bare))))
    XDP_PASS)))",
                                        diags);
  CHECK_MESSAGE(ok.ok, diags);
  // The default accessor name is gone when a prefix is given.
  CHECK_HAS(errors_of("(defstruct (pt (:conc-name p-)) (x u32))\n(defprog a (:type :xdp) (let ((v (stack-addr x))) (pt-x v)))\n"),
            "unknown form 'pt-x'");
  std::string d = errors_of("(defstruct (pt (:type vector)) (x u32))\n");
  CHECK_HAS(d, "test.lisp:1:16: error: defstruct pt: option (:type vector) is not supported");
  CHECK_HAS(d, "hint: the only defstruct option is (:conc-name PREFIX)");
}

TEST_CASE("(setf (ctx F)) is refused except for rx-queue-index") {
  CHECK_HAS(errors_of("(defprog a (:type :xdp)\n  (setf (ctx data) 0)\n  XDP_PASS)\n"), "test.lisp:2:");
}
