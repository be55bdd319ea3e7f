// The reader: every syntax of the language's "Source" section, the location
// of every datum, and located diagnostics (never a crash) for malformed input.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "diagnostics.hpp"
#include "reader.hpp"
#include "source.hpp"
#include "value.hpp"

using namespace whistler;

namespace {

struct ReadFixture {
  Heap heap;
  SourceManager sm;
  Diagnostics diags{sm};
  uint32_t file = 0;

  std::vector<Value*> read(const std::string& text, const std::string& name = "t.lisp") {
    file = sm.add(name, text);
    Reader r(heap, diags, file);
    return r.read_all();
  }
  // The single datum of `text` (a test failure if there is not exactly one).
  Value* one(const std::string& text) {
    auto forms = read(text);
    REQUIRE_MESSAGE(forms.size() == 1, "reading «" << text << "» gave " << forms.size() << " forms");
    return forms[0];
  }
  std::string printed(const std::string& text) {
    auto forms = read(text);
    std::string out;
    for (Value* v : forms) {
      if (!out.empty()) out += ' ';
      out += print(v);
    }
    return out;
  }
  // "file:line:col: message" of the first diagnostic, or "" when none.
  std::string first_error() const {
    if (diags.all().empty()) return "";
    const Diagnostic& d = diags.all().front();
    return diags.where(d.loc) + ": " + d.message;
  }
  std::string where(const Value* v) const { return diags.where(v->loc); }
};

int64_t int_of(const Value* v) {
  REQUIRE(v->tag == Tag::Int);
  return v->i;
}

// Reads `text` in a fresh fixture, expecting an error located at `where`
// whose message contains `message`.
void check_read_error(const std::string& text, const std::string& where, const std::string& message) {
  ReadFixture f;
  f.read(text);
  INFO("input: «" << text << "»");
  REQUIRE(f.diags.has_errors());
  std::string first = f.first_error();
  CHECK_MESSAGE(first.rfind(where + ": ", 0) == 0, "expected an error at " << where << ", got «" << first << "»");
  CHECK_MESSAGE(first.find(message) != std::string::npos, "expected «" << message << "» in «" << first << "»");
}

}  // namespace

TEST_SUITE("reader") {

TEST_CASE("line comments, nested block comments and datum comments are skipped") {
  ReadFixture f;
  CHECK(f.printed("; a comment\n1 ; another\n2;no space\n3") == "1 2 3");
  CHECK(f.printed("#| block |# 4") == "4");
  CHECK(f.printed("#| outer #| inner |# still outer |# 5") == "5");
  CHECK(f.printed("#|#||##||#|# 6") == "6");
  CHECK(f.printed("(a #| in a list |# b)") == "(a b)");
  CHECK(f.printed("(a #;(b c) d)") == "(a d)");
  CHECK(f.printed("#;1 2") == "2");
  CHECK(f.printed("#; (ignored (nested)) kept") == "kept");
  CHECK(f.printed("#;#;a b c") == "c");  // each #; removes one datum
  CHECK(f.printed("(a #;b)") == "(a)");
  CHECK(f.printed("(a ; comment )\n b)") == "(a b)");
  CHECK_FALSE(f.diags.has_errors());
}

TEST_CASE("an empty file or one with only comments has no forms") {
  ReadFixture f;
  CHECK(f.read("").empty());
  CHECK(f.read("  \n\t; nothing\n#| here |#\n").empty());
  CHECK_FALSE(f.diags.has_errors());
}

TEST_CASE("decimal integers, signs and CL's trailing-dot decimal") {
  ReadFixture f;
  CHECK(int_of(f.one("0")) == 0);
  CHECK(int_of(f.one("42")) == 42);
  CHECK(int_of(f.one("-42")) == -42);
  CHECK(int_of(f.one("+7")) == 7);
  CHECK(int_of(f.one("10.")) == 10);
  CHECK(int_of(f.one("007")) == 7);
  CHECK_FALSE(f.diags.has_errors());
  // A lone sign is a symbol, as are tokens that merely start with digits.
  CHECK(is_sym(f.one("-"), intern("-")));
  CHECK(is_sym(f.one("+"), intern("+")));
  CHECK(is_sym(f.one("1+"), intern("1+")));
  CHECK(is_sym(f.one("1-"), intern("1-")));
  CHECK(is_sym(f.one("-foo"), intern("-foo")));
  CHECK_FALSE(f.diags.has_errors());
}

TEST_CASE("hexadecimal, binary and octal integers in both notations") {
  ReadFixture f;
  CHECK(int_of(f.one("#x1F")) == 31);
  CHECK(int_of(f.one("#X1f")) == 31);
  CHECK(int_of(f.one("0x1F")) == 31);
  CHECK(int_of(f.one("0X1f")) == 31);
  CHECK(int_of(f.one("-0x10")) == -16);
  CHECK(int_of(f.one("#x-10")) == -16);
  CHECK(int_of(f.one("#b101")) == 5);
  CHECK(int_of(f.one("#B11111111")) == 255);
  CHECK(int_of(f.one("#o17")) == 15);
  CHECK(int_of(f.one("#O777")) == 511);
  CHECK(int_of(f.one("#x0800")) == 0x800);
  CHECK(int_of(f.one("#x86dd")) == 0x86dd);
  CHECK_FALSE(f.diags.has_errors());
}

TEST_CASE("64-bit boundaries: the full unsigned range reads as a bit pattern, more is an error") {
  ReadFixture f;
  CHECK(int_of(f.one("18446744073709551615")) == -1);
  CHECK(static_cast<uint64_t>(int_of(f.one("18446744073709551615"))) == UINT64_MAX);
  CHECK(int_of(f.one("9223372036854775807")) == INT64_MAX);
  CHECK(int_of(f.one("9223372036854775808")) == INT64_MIN);  // bit pattern of 2^63
  CHECK(int_of(f.one("-9223372036854775808")) == INT64_MIN);
  CHECK(int_of(f.one("#xFFFFFFFFFFFFFFFF")) == -1);
  CHECK(int_of(f.one("0xffffffffffffffff")) == -1);
  CHECK(int_of(f.one("#x8000000000000000")) == INT64_MIN);
  CHECK(int_of(f.one("#b1111111111111111111111111111111111111111111111111111111111111111")) == -1);
  CHECK(int_of(f.one("#o1777777777777777777777")) == -1);
  CHECK_FALSE(f.diags.has_errors());

  check_read_error("18446744073709551616", "t.lisp:1:1", "does not fit in 64 bits");
  check_read_error("(a 99999999999999999999999)", "t.lisp:1:4", "does not fit in 64 bits");
  check_read_error("-9223372036854775809", "t.lisp:1:1", "does not fit in 64 bits");
  check_read_error("#x10000000000000000", "t.lisp:1:1", "does not fit in 64 bits");
  check_read_error("0x10000000000000000", "t.lisp:1:1", "does not fit in 64 bits");
  check_read_error("#b11111111111111111111111111111111111111111111111111111111111111111", "t.lisp:1:1",
                   "does not fit in 64 bits");
  check_read_error("#o2000000000000000000000", "t.lisp:1:1", "does not fit in 64 bits");
  // A negative number must fit in a signed 64-bit integer in every notation.
  check_read_error("#x-8000000000000001", "t.lisp:1:1", "does not fit in 64 bits");
  check_read_error("-0x8000000000000001", "t.lisp:1:1", "does not fit in 64 bits");
  ReadFixture g;
  CHECK(int_of(g.one("#x-8000000000000000")) == INT64_MIN);
  CHECK(int_of(g.one("-0x8000000000000000")) == INT64_MIN);
  CHECK_FALSE(g.diags.has_errors());
}

TEST_CASE("malformed radix integers are located errors") {
  check_read_error("#xZZ", "t.lisp:1:1", "malformed integer '#xZZ'");
  check_read_error("(1 #b102)", "t.lisp:1:4", "malformed integer '#b102'");
  check_read_error("#o8", "t.lisp:1:1", "malformed integer '#o8'");
  check_read_error("#x", "t.lisp:1:1", "malformed integer");
}

TEST_CASE("strings with escapes") {
  ReadFixture f;
  Value* s = f.one(R"("plain")");
  REQUIRE(is_str(s));
  CHECK(*s->str == "plain");
  CHECK(*f.one(R"("say \"hi\"")")->str == "say \"hi\"");
  CHECK(*f.one(R"("back\\slash")")->str == "back\\slash");
  CHECK(*f.one(R"("\\\"")")->str == "\\\"");
  CHECK(*f.one(R"("line\nnext\ttab")")->str == "line\nnext\ttab");
  CHECK(*f.one(R"("")")->str == "");
  CHECK(*f.one("\"multi\nline\"")->str == "multi\nline");
  CHECK(*f.one(R"("(not a list) ; nor a comment")")->str == "(not a list) ; nor a comment");
  // Printing escapes them again.
  CHECK(print(f.one(R"("a\"b\\c")")) == R"("a\"b\\c")");
  CHECK_FALSE(f.diags.has_errors());
}

TEST_CASE("symbols are case-insensitive and normalised to lower case; keywords keep their colon") {
  ReadFixture f;
  Value* s = f.one("FooBar");
  REQUIRE(is_sym(s));
  CHECK(s->sym->name == "foobar");
  CHECK(f.one("FOOBAR")->sym == f.one("foobar")->sym);  // interned: one symbol
  CHECK(f.one("drop-9999")->sym->name == "drop-9999");
  CHECK(f.one("+ETHERTYPE-IPV4+")->sym->name == "+ethertype-ipv4+");
  CHECK(f.one("XDP_PASS")->sym->name == "xdp_pass");
  CHECK(f.one("%setmap")->sym->name == "%setmap");
  CHECK(f.one("let*")->sym->name == "let*");
  CHECK(f.one("<=")->sym->name == "<=");
  Value* k = f.one(":Type");
  REQUIRE(is_keyword(k));
  CHECK(k->sym->name == ":type");
  CHECK(k->sym->keyword());
  CHECK_FALSE(f.one("type")->sym->keyword());
  CHECK(is_nil(f.one("NIL")));
  CHECK(is_nil(f.one("()")));
  CHECK(is_sym(f.one("T"), WSYM("t")));
  CHECK_FALSE(f.diags.has_errors());
}

TEST_CASE("|escaped| symbols keep their case") {
  ReadFixture f;
  CHECK(f.one("|MixedCase|")->sym->name == "MixedCase");
  CHECK(f.one("|with space|")->sym->name == "with space");
  CHECK_FALSE(f.diags.has_errors());
  check_read_error("|never closed", "t.lisp:1:1", "unterminated '|'");
}

TEST_CASE("quote, backquote, unquote, splice and #' read as two-element forms") {
  ReadFixture f;
  CHECK(print(f.one("'x")) == "'x");
  Value* q = f.one("'x");
  CHECK(is_form(q, WSYM("quote")));
  CHECK(list_length(q) == 2);
  CHECK(is_sym(nth(q, 1), intern("x")));
  CHECK(is_form(f.one("`x"), WSYM("quasiquote")));
  CHECK(is_form(f.one(",x"), WSYM("unquote")));
  CHECK(is_form(f.one(",@x"), WSYM("unquote-splicing")));
  CHECK(is_form(f.one("#'f"), WSYM("function")));
  CHECK(is_form(f.one("#'(lambda (x) x)"), WSYM("function")));
  CHECK(f.printed("`(a ,b ,@c 'd #'e)") == "`(a ,b ,@c 'd #'e)");
  CHECK(f.printed("'(1 . 2)") == "'(1 . 2)");
  CHECK(f.printed("''x") == "''x");
  CHECK(f.printed("' x") == "'x");  // whitespace after the quote is allowed
  CHECK(f.printed("(quote x y)") == "(quote x y)");  // only two-element forms abbreviate
  CHECK_FALSE(f.diags.has_errors());
}

TEST_CASE("#:symbol reads as a plain symbol; #\\c reads as the character's code") {
  ReadFixture f;
  CHECK(is_sym(f.one("#:whistler"), intern("whistler")));
  CHECK(is_sym(f.one("#:WHISTLER"), intern("whistler")));
  CHECK(f.printed("(in-package #:whistler)") == "(in-package whistler)");
  CHECK(int_of(f.one("#\\a")) == 'a');
  CHECK(int_of(f.one("#\\A")) == 'A');
  CHECK(int_of(f.one("#\\0")) == '0');
  CHECK(int_of(f.one("#\\(")) == '(');
  CHECK(int_of(f.one("#\\)")) == ')');
  CHECK(int_of(f.one("#\\;")) == ';');
  CHECK(int_of(f.one("#\\Space")) == ' ');
  CHECK(int_of(f.one("#\\NEWLINE")) == '\n');
  CHECK(int_of(f.one("#\\tab")) == '\t');
  CHECK(int_of(f.one("#\\nul")) == 0);
  CHECK(f.printed("(#\\a #\\b)") == "(97 98)");
  CHECK_FALSE(f.diags.has_errors());
  check_read_error("#\\bogus", "t.lisp:1:1", "unknown character name '#\\bogus'");
  check_read_error("#:", "t.lisp:1:1", "'#:' must be followed by a symbol name");
  check_read_error("#\\", "t.lisp:1:1", "at end of input");
}

TEST_CASE("dotted pairs and improper lists") {
  ReadFixture f;
  Value* p = f.one("(a . b)");
  REQUIRE(is_cons(p));
  CHECK(is_sym(p->cons.car, intern("a")));
  CHECK(is_sym(p->cons.cdr, intern("b")));
  CHECK(list_length(p) == -1);
  CHECK(print(p) == "(a . b)");
  CHECK(f.printed("(a b . c)") == "(a b . c)");
  CHECK(f.printed("(a . (b c))") == "(a b c)");
  CHECK(f.printed("(a . nil)") == "(a)");
  CHECK(f.printed("(1 . 2)") == "(1 . 2)");
  CHECK(f.printed("(a .b)") == "(a .b)");   // ".b" is a symbol
  CHECK(f.printed("(a ...)") == "(a ...)");  // so is "..."
  CHECK_FALSE(f.diags.has_errors());
  check_read_error("(. a)", "t.lisp:1:2", "'.' with nothing before it");
  check_read_error("(a . b c)", "t.lisp:1:8", "expected ')' after the datum following '.'");
  check_read_error("(a .)", "t.lisp:1:5", "unexpected ')'");
}

TEST_CASE("every datum, list elements included, carries its file:line:col") {
  ReadFixture f;
  auto forms = f.read(
      "(defprog p (:type :xdp)\n"
      "  ;; comment\n"
      "  (foo  42 \"s\" 'q)\n"
      "\tx)\n"
      "  #| c |# :kw\n");
  REQUIRE(forms.size() == 2);
  Value* prog = forms[0];
  CHECK(f.where(prog) == "t.lisp:1:1");
  CHECK(f.where(nth(prog, 0)) == "t.lisp:1:2");   // defprog
  CHECK(f.where(nth(prog, 1)) == "t.lisp:1:10");  // p
  Value* opts = nth(prog, 2);
  CHECK(f.where(opts) == "t.lisp:1:12");
  CHECK(f.where(nth(opts, 0)) == "t.lisp:1:13");  // :type
  CHECK(f.where(nth(opts, 1)) == "t.lisp:1:19");  // :xdp
  Value* call = nth(prog, 3);
  CHECK(f.where(call) == "t.lisp:3:3");
  CHECK(f.where(nth(call, 0)) == "t.lisp:3:4");   // foo
  CHECK(f.where(nth(call, 1)) == "t.lisp:3:9");   // 42
  CHECK(f.where(nth(call, 2)) == "t.lisp:3:12");  // "s"
  Value* quoted = nth(call, 3);
  CHECK(f.where(quoted) == "t.lisp:3:16");        // the quote character
  CHECK(f.where(nth(quoted, 0)) == "t.lisp:3:16");
  CHECK(f.where(nth(quoted, 1)) == "t.lisp:3:17");  // q
  CHECK(f.where(nth(prog, 4)) == "t.lisp:4:2");     // x after a tab
  CHECK(f.where(forms[1]) == "t.lisp:5:11");        // :kw after a block comment
  // Every cons of a list carries the list's location.
  for (Value* p = call; is_cons(p); p = p->cons.cdr) CHECK(f.where(p) == "t.lisp:3:3");
}

TEST_CASE("nil and () in source carry their location too") {
  ReadFixture f;
  Value* form = f.one("(a nil\n   ())");
  Value* n1 = nth(form, 1);
  Value* n2 = nth(form, 2);
  REQUIRE(is_nil(n1));
  REQUIRE(is_nil(n2));
  CHECK(f.where(n1) == "t.lisp:1:4");
  CHECK(f.where(n2) == "t.lisp:2:4");
  CHECK(print(form) == "(a nil nil)");
}

TEST_CASE("locations of numbers, characters, strings and # syntax start at their first character") {
  ReadFixture f;
  auto forms = f.read("  -5 #x10\n #\\a \"str\" #:s #'f 0x1 ,@y");
  REQUIRE(forms.size() == 8);
  const char* expected[] = {"t.lisp:1:3", "t.lisp:1:6", "t.lisp:2:2", "t.lisp:2:6",
                            "t.lisp:2:12", "t.lisp:2:16", "t.lisp:2:20", "t.lisp:2:24"};
  for (size_t i = 0; i < forms.size(); ++i) CHECK(f.where(forms[i]) == expected[i]);
}

TEST_CASE("CRLF line endings count lines correctly and render without the CR") {
  ReadFixture f;
  auto forms = f.read("(a\r\n  b)\r\nc\r\n");
  REQUIRE(forms.size() == 2);
  CHECK(f.where(nth(forms[0], 1)) == "t.lisp:2:3");
  CHECK(f.where(forms[1]) == "t.lisp:3:1");
  CHECK(std::string(f.sm.file(f.file).line(2)) == "  b)");
}

TEST_CASE("an unterminated list is reported at its opening parenthesis") {
  check_read_error("(defprog p ()\n  (+ 1 2)\n", "t.lisp:1:1", "unterminated list: missing ')'");
  check_read_error("(a (b c)\n (d", "t.lisp:2:2", "unterminated list");  // the innermost open one
  ReadFixture f;
  f.read("(a (b");
  CHECK(f.diags.error_count() == 1);  // reported once, not once per open list
  CHECK(f.diags.all().front().hint == "this '(' is never closed");
}

TEST_CASE("an unexpected ')' is reported where it is and reading goes on") {
  ReadFixture f;
  auto forms = f.read("(a) )\n  (b)) c");
  CHECK(forms.size() == 3);
  REQUIRE(f.diags.error_count() == 2);
  CHECK(f.diags.where(f.diags.all()[0].loc) == "t.lisp:1:5");
  CHECK(f.diags.where(f.diags.all()[1].loc) == "t.lisp:2:6");
  CHECK(f.diags.all()[0].message == "unexpected ')'");
}

TEST_CASE("an unterminated string is reported at its opening quote") {
  check_read_error("(printk \"oops)\n", "t.lisp:1:9", "unterminated string");
  check_read_error("\"ends in a backslash\\", "t.lisp:1:1", "unterminated string");
}

TEST_CASE("unterminated block comments and dangling datum comments") {
  check_read_error("1 #| never | closed", "t.lisp:1:3", "unterminated block comment");
  check_read_error("#| a #| b |# c", "t.lisp:1:1", "unterminated block comment");
  check_read_error("(a) #;", "t.lisp:1:5", "'#;' at end of input");
  check_read_error("'", "t.lisp:1:2", "unexpected end of input");
}

TEST_CASE("unknown # syntax is a located error") {
  check_read_error("(foo #q)", "t.lisp:1:6", "unknown reader syntax '#q'");
  check_read_error("#(1 2)", "t.lisp:1:1", "unknown reader syntax '#('");
  check_read_error("#", "t.lisp:1:1", "unknown reader syntax '#'");
  check_read_error("(a\n  #1=(b))", "t.lisp:2:3", "unknown reader syntax '#1'");
}

TEST_CASE("floating-point numbers and ratios are located errors") {
  for (const char* text : {"1.5", "-2.25", "1.0", "3/4", "1e5", "1.5e3", "2E10", ".5", "-.5", "1.0d0", "6.02f23"}) {
    ReadFixture f;
    f.read(std::string("(x ") + text + ")");
    INFO("input: " << text);
    REQUIRE(f.diags.error_count() == 1);
    CHECK(f.first_error() == std::string("t.lisp:1:4: '") + text + "' is not an integer: BPF programs have integers only");
  }
  // Symbols that merely look a little numeric stay symbols.
  ReadFixture f;
  CHECK(f.printed("e5 1+ .foo 1a x.5") == "e5 1+ .foo 1a x.5");
  CHECK_FALSE(f.diags.has_errors());
}

TEST_CASE("reading stops at an unrecoverable error, keeping the forms before it") {
  ReadFixture f;
  auto forms = f.read("(a) (b) (c \"open");
  CHECK(forms.size() == 2);
  CHECK(f.diags.error_count() == 1);
  Reader again(f.heap, f.diags, f.file);
  CHECK(again.read() != nullptr);  // a fresh reader starts over
}

TEST_CASE("hostile nesting is a located error, not a stack overflow") {
  {
    ReadFixture f;
    std::string deep(200000, '(');
    f.read(deep);
    REQUIRE(f.diags.has_errors());
    CHECK(f.first_error().find("nested more than") != std::string::npos);
  }
  {
    ReadFixture f;
    std::string quotes(200000, '\'');
    f.read(quotes + "x");
    REQUIRE(f.diags.has_errors());
    CHECK(f.first_error().find("nested more than") != std::string::npos);
  }
  {
    ReadFixture f;
    std::string mixed;
    for (int i = 0; i < 100000; ++i) mixed += "`,#'";
    f.read(mixed + "x");
    CHECK(f.diags.has_errors());
  }
  {
    ReadFixture f;
    std::string comments;
    for (int i = 0; i < 100000; ++i) comments += "#;";
    f.read(comments + "a b");
    CHECK(f.diags.has_errors());
  }
  {
    ReadFixture f;  // deep but allowed nesting reads fine
    std::string text = std::string(500, '(') + "x" + std::string(500, ')');
    auto forms = f.read(text);
    CHECK(forms.size() == 1);
    CHECK_FALSE(f.diags.has_errors());
  }
}

TEST_CASE("control and non-ASCII bytes never crash the reader") {
  ReadFixture f;
  std::string text = "(a \x01 \xc3\xa9t\xc3\xa9 b)";
  text += std::string("\0", 1);
  text += " c";
  auto forms = f.read(text);
  CHECK(forms.size() == 1);  // the list before the NUL byte; reading stops there
  REQUIRE(f.diags.error_count() == 1);
  CHECK(f.first_error() == "t.lisp:1:14: unexpected byte 0x00");
  ReadFixture g;
  CHECK(g.printed("(a \x01 \xc3\xa9t\xc3\xa9)") == "(a \x01 \xc3\xa9t\xc3\xa9)");  // other bytes are symbol constituents
  CHECK_FALSE(g.diags.has_errors());
}

TEST_CASE("diagnostics render as file:line:col: error: message, the line and a caret") {
  ReadFixture f;
  f.read("(defprog p ()\n  (printk \"oops))\n");
  REQUIRE(f.diags.error_count() == 1);
  std::string text = f.diags.render(f.diags.all().front());
  CHECK(text ==
        "t.lisp:2:11: error: unterminated string\n"
        "    (printk \"oops))\n"
        "            ^\n"
        "  hint: add the closing '\"'\n");
}

TEST_CASE("the caret follows tabs in the source line") {
  ReadFixture f;
  f.read("\t\t#q");
  REQUIRE(f.diags.error_count() == 1);
  std::string text = f.diags.render(f.diags.all().front());
  CHECK(text.rfind("t.lisp:1:3: error: unknown reader syntax '#q'\n  \t\t#q\n  \t\t^\n", 0) == 0);
}

TEST_CASE("render_all sorts by file and position; notes and unknown locations render too") {
  SourceManager sm;
  Diagnostics diags(sm);
  uint32_t a = sm.add("a.lisp", "first line\nsecond line\n");
  uint32_t b = sm.add("b.lisp", "other\n");
  diags.error(SourceLoc{b, 1, 3}, "in b");
  diags.warning(SourceLoc{a, 2, 8}, "later in a");
  diags.error(SourceLoc{a, 1, 1}, "early in a").with_note(SourceLoc{b, 1, 1}, "related").with_hint("do this");
  diags.error(SourceLoc{}, "nowhere");
  CHECK(diags.error_count() == 3);
  CHECK(diags.has_errors());
  CHECK(diags.render_all() ==
        "error: nowhere\n"
        "a.lisp:1:1: error: early in a\n"
        "  first line\n"
        "  ^\n"
        "b.lisp:1:1: note: related\n"
        "  other\n"
        "  ^\n"
        "  hint: do this\n"
        "a.lisp:2:8: warning: later in a\n"
        "  second line\n"
        "         ^\n"
        "b.lisp:1:3: error: in b\n"
        "  other\n"
        "    ^\n");
  diags.clear();
  CHECK_FALSE(diags.has_errors());
  CHECK(diags.all().empty());
}

TEST_CASE("source files: lines, line count and the system flag") {
  SourceManager sm;
  uint32_t id = sm.add("x.lisp", "one\ntwo\r\nthree");
  uint32_t sys = sm.add("prelude.lisp", "", true);
  CHECK(id == 1);
  CHECK(sys == 2);
  const SourceFile& file = sm.file(id);
  CHECK(file.line_count() == 3);
  CHECK(file.line(1) == "one");
  CHECK(file.line(2) == "two");
  CHECK(file.line(3) == "three");
  CHECK(file.line(0).empty());
  CHECK(file.line(4).empty());
  CHECK_FALSE(sm.is_system(SourceLoc{id, 1, 1}));
  CHECK(sm.is_system(SourceLoc{sys, 1, 1}));
  CHECK_FALSE(sm.is_system(SourceLoc{}));
}

TEST_CASE("printing and structural equality of data") {
  ReadFixture f;
  auto forms = f.read("(a (b 1) \"s\" . c) (a (b 1) \"s\" . c) (a (b 2) \"s\" . c)");
  REQUIRE(forms.size() == 3);
  CHECK(equal(forms[0], forms[1]));
  CHECK_FALSE(equal(forms[0], forms[2]));
  CHECK(print(forms[0]) == "(a (b 1) \"s\" . c)");
  CHECK(print(f.heap.nil()) == "nil");
  CHECK(print(f.heap.integer(-3)) == "-3");
  CHECK(list_length(forms[0]) == -1);
  CHECK(nth(forms[0], 1) != nullptr);
  CHECK(nth(forms[0], 5) == nullptr);
}

TEST_CASE("read_source reads every form of a registered file") {
  Heap heap;
  SourceManager sm;
  Diagnostics diags(sm);
  uint32_t id = sm.add("r.lisp", "(a) b 3");
  auto forms = read_source(heap, diags, id);
  REQUIRE(forms.size() == 3);
  CHECK(print(forms[0]) == "(a)");
  CHECK(print(forms[2]) == "3");
}

}  // TEST_SUITE
