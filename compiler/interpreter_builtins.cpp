// Builtin functions of the compile-time interpreter (a Common Lisp subset).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "interpreter.hpp"

namespace whistler {

namespace {

using Args = std::vector<Value*>;

bool truthy(const Value* v) { return v->tag != Tag::Nil; }

void arity(Interpreter& in, const Args& a, size_t lo, size_t hi, SourceLoc loc, const char* name) {
  if (a.size() < lo || a.size() > hi) {
    std::string expected = lo == hi ? fmt::format("{}", lo)
                           : hi == SIZE_MAX ? fmt::format("at least {}", lo)
                                            : fmt::format("{} to {}", lo, hi);
    in.fail(loc, fmt::format("{} expects {} argument{}, got {}", name, expected, (lo == 1 && hi == 1) ? "" : "s", a.size()));
  }
}

Value* list_arg(Interpreter& in, Value* v, SourceLoc loc, const char* name) {
  if (!is_list(v)) in.fail(loc, fmt::format("{} expects a list, got {}", name, print(v)));
  return v;
}

std::string string_designator(Interpreter& in, Value* v, SourceLoc loc, const char* name) {
  if (v->tag == Tag::Str) return *v->str;
  if (v->tag == Tag::Sym) return v->sym->keyword() ? v->sym->name.substr(1) : v->sym->name;
  if (v->tag == Tag::Nil) return "nil";
  in.fail(loc, fmt::format("{} expects a string or symbol, got {}", name, print(v)));
}

uint64_t u(int64_t x) { return static_cast<uint64_t>(x); }
int64_t s(uint64_t x) { return static_cast<int64_t>(x); }

// ---- Lists ---------------------------------------------------------------------

Value* b_car(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "car");
  return car(list_arg(in, a[0], loc, "car"));
}
Value* b_cdr(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "cdr");
  return cdr(list_arg(in, a[0], loc, "cdr"));
}

template <int N>
Value* b_nth_fixed(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "first/second/...");
  Value* v = nth(list_arg(in, a[0], loc, "first/second/..."), N);
  return v ? v : in.heap().nil();
}

// c[ad]+r: path read right to left.
template <char... Ops>
Value* b_cxr(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "c[ad]r");
  Value* v = a[0];
  const char ops[] = {Ops...};
  for (int k = static_cast<int>(sizeof...(Ops)) - 1; k >= 0; --k) {
    list_arg(in, v, loc, "c[ad]r");
    v = ops[k] == 'a' ? car(v) : cdr(v);
  }
  return v;
}

Value* b_nth(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "nth");
  Value* v = nth(list_arg(in, a[1], loc, "nth"), static_cast<size_t>(expect_int(in, a[0], loc, "nth")));
  return v ? v : in.heap().nil();
}
Value* b_nthcdr(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "nthcdr");
  Value* v = list_arg(in, a[1], loc, "nthcdr");
  for (int64_t n = expect_int(in, a[0], loc, "nthcdr"); n > 0 && v->tag == Tag::Cons; --n) v = v->cons.cdr;
  return v;
}
Value* b_last(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "last");
  Value* v = list_arg(in, a[0], loc, "last");
  while (v->tag == Tag::Cons && v->cons.cdr->tag == Tag::Cons) v = v->cons.cdr;
  return v;
}
Value* b_butlast(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "butlast");
  auto xs = list_items(list_arg(in, a[0], loc, "butlast"));
  if (!xs.empty()) xs.pop_back();
  return in.heap().list(xs);
}
Value* b_cons(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "cons");
  return in.heap().cons(a[0], a[1]);
}
Value* b_list(Interpreter& in, Args& a, SourceLoc) { return in.heap().list(a); }
Value* b_list_star(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, SIZE_MAX, loc, "list*");
  std::vector<Value*> head(a.begin(), a.end() - 1);
  return in.heap().list(head, {}, a.back());
}
Value* b_append(Interpreter& in, Args& a, SourceLoc loc) {
  if (a.empty()) return in.heap().nil();
  std::vector<Value*> out;
  for (size_t k = 0; k + 1 < a.size(); ++k)
    for (Value* x : items(list_arg(in, a[k], loc, "append"))) out.push_back(x);
  return in.heap().list(out, {}, a.back());
}
Value* b_reverse(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "reverse");
  auto xs = list_items(list_arg(in, a[0], loc, "reverse"));
  std::reverse(xs.begin(), xs.end());
  return in.heap().list(xs);
}
Value* b_length(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "length");
  if (a[0]->tag == Tag::Str) return in.heap().integer(static_cast<int64_t>(a[0]->str->size()));
  long n = list_length(list_arg(in, a[0], loc, "length"));
  if (n < 0) in.fail(loc, "length of an improper list");
  return in.heap().integer(n);
}
Value* b_copy_list(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "copy-list");
  return in.heap().list(list_items(list_arg(in, a[0], loc, "copy-list")));
}

// Calls fn on elements of the lists in parallel.
std::vector<Value*> map_lists(Interpreter& in, Args& a, SourceLoc loc, const char* name) {
  arity(in, a, 2, SIZE_MAX, loc, name);
  std::vector<Value*> lists(a.begin() + 1, a.end());
  for (Value* l : lists) list_arg(in, l, loc, name);
  std::vector<Value*> results;
  for (;;) {
    std::vector<Value*> args;
    for (Value*& l : lists) {
      if (l->tag != Tag::Cons) return results;
      args.push_back(l->cons.car);
      l = l->cons.cdr;
    }
    results.push_back(in.apply(a[0], args, loc));
  }
}
Value* b_mapcar(Interpreter& in, Args& a, SourceLoc loc) { return in.heap().list(map_lists(in, a, loc, "mapcar")); }
Value* b_mapc(Interpreter& in, Args& a, SourceLoc loc) {
  map_lists(in, a, loc, "mapc");
  return a[1];
}
Value* b_mapcan(Interpreter& in, Args& a, SourceLoc loc) {
  std::vector<Value*> out;
  for (Value* r : map_lists(in, a, loc, "mapcan"))
    for (Value* x : items(list_arg(in, r, loc, "mapcan"))) out.push_back(x);
  return in.heap().list(out);
}
Value* b_apply(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, SIZE_MAX, loc, "apply");
  std::vector<Value*> args(a.begin() + 1, a.end() - 1);
  for (Value* x : items(list_arg(in, a.back(), loc, "apply"))) args.push_back(x);
  return in.apply(a[0], args, loc);
}
Value* b_funcall(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, SIZE_MAX, loc, "funcall");
  std::vector<Value*> args(a.begin() + 1, a.end());
  return in.apply(a[0], args, loc);
}
Value* b_member(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 4, loc, "member");
  for (Value* l = list_arg(in, a[1], loc, "member"); l->tag == Tag::Cons; l = l->cons.cdr)
    if (equal(l->cons.car, a[0])) return l;
  return in.heap().nil();
}
Value* b_assoc(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 4, loc, "assoc");
  for (Value* entry : items(list_arg(in, a[1], loc, "assoc")))
    if (entry->tag == Tag::Cons && equal(entry->cons.car, a[0])) return entry;
  return in.heap().nil();
}
Value* b_getf(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 3, loc, "getf");
  for (Value* l = list_arg(in, a[0], loc, "getf"); l->tag == Tag::Cons && l->cons.cdr->tag == Tag::Cons;
       l = l->cons.cdr->cons.cdr)
    if (equal(l->cons.car, a[1])) return l->cons.cdr->cons.car;
  return a.size() == 3 ? a[2] : in.heap().nil();
}
Value* b_remove(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "remove");
  std::vector<Value*> out;
  for (Value* x : items(list_arg(in, a[1], loc, "remove")))
    if (!equal(x, a[0])) out.push_back(x);
  return in.heap().list(out);
}
Value* filter(Interpreter& in, Args& a, SourceLoc loc, const char* name, bool keep) {
  arity(in, a, 2, 2, loc, name);
  std::vector<Value*> out;
  for (Value* x : items(list_arg(in, a[1], loc, name))) {
    std::vector<Value*> args{x};
    if (truthy(in.apply(a[0], args, loc)) == keep) out.push_back(x);
  }
  return in.heap().list(out);
}
Value* b_remove_if(Interpreter& in, Args& a, SourceLoc loc) { return filter(in, a, loc, "remove-if", false); }
Value* b_remove_if_not(Interpreter& in, Args& a, SourceLoc loc) { return filter(in, a, loc, "remove-if-not", true); }
Value* b_find_if(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "find-if");
  for (Value* x : items(list_arg(in, a[1], loc, "find-if"))) {
    std::vector<Value*> args{x};
    if (truthy(in.apply(a[0], args, loc))) return x;
  }
  return in.heap().nil();
}
Value* b_find(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "find");
  for (Value* x : items(list_arg(in, a[1], loc, "find")))
    if (equal(x, a[0])) return x;
  return in.heap().nil();
}
Value* b_position(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "position");
  int64_t k = 0;
  for (Value* x : items(list_arg(in, a[1], loc, "position"))) {
    if (equal(x, a[0])) return in.heap().integer(k);
    ++k;
  }
  return in.heap().nil();
}
Value* b_reduce(Interpreter& in, Args& a, SourceLoc loc) {
  if (a.size() != 2 && a.size() != 4) arity(in, a, 2, 2, loc, "reduce");
  auto xs = list_items(list_arg(in, a[1], loc, "reduce"));
  size_t start = 0;
  Value* acc;
  if (a.size() == 4) acc = a[3];  // (reduce f list :initial-value v)
  else if (xs.empty()) {
    std::vector<Value*> none;
    return in.apply(a[0], none, loc);
  } else acc = xs[start++];
  for (size_t k = start; k < xs.size(); ++k) {
    std::vector<Value*> args{acc, xs[k]};
    acc = in.apply(a[0], args, loc);
  }
  return acc;
}

// ---- Predicates ----------------------------------------------------------------

#define PRED(fname, label, expr)                              \
  Value* fname(Interpreter& in, Args& a, SourceLoc loc) {     \
    arity(in, a, 1, 1, loc, label);                           \
    Value* x = a[0];                                          \
    return in.heap().boolean(expr);                           \
  }
PRED(b_null, "null", x->tag == Tag::Nil)
PRED(b_atom, "atom", x->tag != Tag::Cons)
PRED(b_consp, "consp", x->tag == Tag::Cons)
PRED(b_listp, "listp", is_list(x))
PRED(b_symbolp, "symbolp", x->tag == Tag::Sym || x->tag == Tag::Nil)
PRED(b_keywordp, "keywordp", is_keyword(x))
PRED(b_integerp, "integerp", x->tag == Tag::Int)
PRED(b_stringp, "stringp", x->tag == Tag::Str)
PRED(b_functionp, "functionp", x->tag == Tag::Func)
PRED(b_zerop, "zerop", x->tag == Tag::Int && x->i == 0)
PRED(b_plusp, "plusp", x->tag == Tag::Int && x->i > 0)
PRED(b_minusp, "minusp", x->tag == Tag::Int && x->i < 0)
PRED(b_evenp, "evenp", x->tag == Tag::Int && x->i % 2 == 0)
PRED(b_oddp, "oddp", x->tag == Tag::Int && x->i % 2 != 0)
#undef PRED

Value* b_eq(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "eq");
  const Value *x = a[0], *y = a[1];
  if (x == y) return in.heap().t();
  if (x->tag != y->tag) return in.heap().nil();
  if (x->tag == Tag::Sym) return in.heap().boolean(x->sym == y->sym);
  if (x->tag == Tag::Int) return in.heap().boolean(x->i == y->i);
  return in.heap().boolean(x->tag == Tag::Nil);
}
Value* b_equal(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "equal");
  return in.heap().boolean(equal(a[0], a[1]));
}
Value* b_identity(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "identity");
  return a[0];
}

// ---- Arithmetic (64-bit, wrapping) --------------------------------------------------

Value* b_add(Interpreter& in, Args& a, SourceLoc loc) {
  uint64_t r = 0;
  for (Value* x : a) r += u(expect_int(in, x, loc, "+"));
  return in.heap().integer(s(r));
}
Value* b_mul(Interpreter& in, Args& a, SourceLoc loc) {
  uint64_t r = 1;
  for (Value* x : a) r *= u(expect_int(in, x, loc, "*"));
  return in.heap().integer(s(r));
}
Value* b_sub(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, SIZE_MAX, loc, "-");
  uint64_t r = u(expect_int(in, a[0], loc, "-"));
  if (a.size() == 1) return in.heap().integer(s(0 - r));
  for (size_t k = 1; k < a.size(); ++k) r -= u(expect_int(in, a[k], loc, "-"));
  return in.heap().integer(s(r));
}
// Truncating division, wrapping like the rest of 64-bit arithmetic:
// INT64_MIN / -1 is INT64_MIN (and its remainder 0), never a trap.
int64_t wrapping_quotient(int64_t x, int64_t d) {
  if (d == -1) return s(0 - u(x));
  return x / d;
}
int64_t wrapping_remainder(int64_t x, int64_t d) {
  if (d == -1) return 0;
  return x % d;
}
Value* b_div(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "/");
  int64_t d = expect_int(in, a[1], loc, "/");
  if (d == 0) in.fail(loc, "division by zero at compile time");
  return in.heap().integer(wrapping_quotient(expect_int(in, a[0], loc, "/"), d));
}
// (floor x [d]): the quotient rounded towards negative infinity, as in CL.
Value* b_floor(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 2, loc, "floor");
  int64_t x = expect_int(in, a[0], loc, "floor");
  if (a.size() == 1) return a[0];
  int64_t d = expect_int(in, a[1], loc, "floor");
  if (d == 0) in.fail(loc, "division by zero at compile time");
  int64_t q = wrapping_quotient(x, d);
  if (wrapping_remainder(x, d) != 0 && ((x < 0) != (d < 0))) --q;
  return in.heap().integer(q);
}
Value* b_mod(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "mod");
  int64_t x = expect_int(in, a[0], loc, "mod"), d = expect_int(in, a[1], loc, "mod");
  if (d == 0) in.fail(loc, "division by zero at compile time");
  int64_t r = wrapping_remainder(x, d);
  if (r != 0 && ((r < 0) != (d < 0))) r += d;  // CL mod takes the sign of the divisor
  return in.heap().integer(r);
}
Value* b_rem(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "rem");
  int64_t d = expect_int(in, a[1], loc, "rem");
  if (d == 0) in.fail(loc, "division by zero at compile time");
  return in.heap().integer(wrapping_remainder(expect_int(in, a[0], loc, "rem"), d));
}
Value* b_inc(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "1+");
  return in.heap().integer(s(u(expect_int(in, a[0], loc, "1+")) + 1));
}
Value* b_dec(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "1-");
  return in.heap().integer(s(u(expect_int(in, a[0], loc, "1-")) - 1));
}
Value* b_abs(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "abs");
  int64_t x = expect_int(in, a[0], loc, "abs");
  return in.heap().integer(x < 0 ? s(0 - u(x)) : x);  // wraps at INT64_MIN
}
Value* b_ash(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "ash");
  int64_t x = expect_int(in, a[0], loc, "ash"), n = expect_int(in, a[1], loc, "ash");
  if (n >= 64) return in.heap().integer(0);
  if (n >= 0) return in.heap().integer(s(u(x) << n));
  if (n <= -64) return in.heap().integer(x < 0 ? -1 : 0);
  return in.heap().integer(x >> (-n));
}
template <int Op>
Value* b_logop(Interpreter& in, Args& a, SourceLoc loc) {
  uint64_t r = Op == 0 ? ~0ULL : 0;
  for (Value* x : a) {
    uint64_t v = u(expect_int(in, x, loc, "logand/logior/logxor"));
    if (Op == 0) r &= v;
    else if (Op == 1) r |= v;
    else r ^= v;
  }
  return in.heap().integer(s(r));
}
Value* b_lognot(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "lognot");
  return in.heap().integer(~expect_int(in, a[0], loc, "lognot"));
}
template <int Op>
Value* b_compare(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, SIZE_MAX, loc, "comparison");
  for (size_t k = 0; k + 1 < a.size(); ++k) {
    int64_t x = expect_int(in, a[k], loc, "comparison"), y = expect_int(in, a[k + 1], loc, "comparison");
    bool ok = Op == 0 ? x == y : Op == 1 ? x < y : Op == 2 ? x > y : Op == 3 ? x <= y : Op == 4 ? x >= y : x != y;
    if (!ok) return in.heap().nil();
    if (Op == 5)  // /= : all pairs differ, not only neighbours
      for (size_t j = k + 2; j < a.size(); ++j)
        if (x == expect_int(in, a[j], loc, "comparison")) return in.heap().nil();
  }
  return in.heap().t();
}
template <bool Max>
Value* b_minmax(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, SIZE_MAX, loc, Max ? "max" : "min");
  int64_t r = expect_int(in, a[0], loc, "min/max");
  for (Value* x : a) {
    int64_t v = expect_int(in, x, loc, "min/max");
    r = Max ? std::max(r, v) : std::min(r, v);
  }
  return in.heap().integer(r);
}

// ---- Symbols and strings -----------------------------------------------------------

Value* b_symbol_name(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "symbol-name");
  if (a[0]->tag == Tag::Nil) return in.heap().string("nil");
  if (a[0]->tag != Tag::Sym) in.fail(loc, fmt::format("symbol-name expects a symbol, got {}", print(a[0])));
  return in.heap().string(a[0]->sym->keyword() ? a[0]->sym->name.substr(1) : a[0]->sym->name);
}

std::string lower(std::string x) {
  for (char& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return x;
}
std::string upper(std::string x) {
  for (char& c : x) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return x;
}
// Symbols are case-insensitive in Whistler, so intern folds case.
Value* b_intern(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 2, loc, "intern");
  return in.heap().symbol(intern(lower(string_designator(in, a[0], loc, "intern"))), loc);
}
Value* b_make_keyword(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "make-keyword");
  return in.heap().symbol(intern(":" + lower(string_designator(in, a[0], loc, "make-keyword"))), loc);
}
Value* b_gensym(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 0, 1, loc, "gensym");
  return in.heap().gensym(a.empty() ? "g" : string_designator(in, a[0], loc, "gensym"));
}
Value* b_string(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "string");
  return in.heap().string(string_designator(in, a[0], loc, "string"));
}
Value* b_string_upcase(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "string-upcase");
  return in.heap().string(upper(string_designator(in, a[0], loc, "string-upcase")));
}
Value* b_string_downcase(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "string-downcase");
  return in.heap().string(lower(string_designator(in, a[0], loc, "string-downcase")));
}
Value* b_string_eq(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "string=");
  return in.heap().boolean(string_designator(in, a[0], loc, "string=") == string_designator(in, a[1], loc, "string="));
}
Value* b_string_equal(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, 2, loc, "string-equal");
  return in.heap().boolean(lower(string_designator(in, a[0], loc, "string-equal")) ==
                           lower(string_designator(in, a[1], loc, "string-equal")));
}
Value* b_concatenate(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, SIZE_MAX, loc, "concatenate");
  // (concatenate 'string a b ...): the result type is ignored beyond 'string / 'list.
  if (is_sym(a[0], WSYM("list"))) {
    std::vector<Value*> out;
    for (size_t k = 1; k < a.size(); ++k)
      for (Value* x : items(list_arg(in, a[k], loc, "concatenate"))) out.push_back(x);
    return in.heap().list(out);
  }
  std::string out;
  for (size_t k = 1; k < a.size(); ++k) out += string_designator(in, a[k], loc, "concatenate");
  return in.heap().string(out);
}
// (parse-integer STRING [:radix N]): decimal unless a radix is given, as in CL.
Value* b_parse_integer(Interpreter& in, Args& a, SourceLoc loc) {
  if (a.size() != 1 && a.size() != 3) arity(in, a, 1, 1, loc, "parse-integer");
  int radix = 10;
  if (a.size() == 3) {
    if (!is_sym(a[1], WSYM(":radix"))) in.fail(loc, fmt::format("parse-integer takes :radix, not {}", print(a[1])));
    int64_t r = expect_int(in, a[2], loc, "parse-integer :radix");
    if (r < 2 || r > 36) in.fail(loc, fmt::format("parse-integer: radix {} is not between 2 and 36", r));
    radix = static_cast<int>(r);
  }
  std::string text = string_designator(in, a[0], loc, "parse-integer");
  size_t b = text.find_first_not_of(" \t\n");
  size_t e = text.find_last_not_of(" \t\n");
  std::string trimmed = b == std::string::npos ? std::string() : text.substr(b, e - b + 1);
  bool digits_only = !trimmed.empty();
  for (size_t k = 0; k < trimmed.size(); ++k)
    if (!std::isalnum(static_cast<unsigned char>(trimmed[k])) && !(k == 0 && (trimmed[k] == '-' || trimmed[k] == '+')))
      digits_only = false;
  if (digits_only) {
    try {
      size_t used = 0;
      long long v = std::stoll(trimmed, &used, radix);
      if (used == trimmed.size()) return in.heap().integer(v);
    } catch (...) {
    }
  }
  in.fail(loc, fmt::format("parse-integer: '{}' is not an integer", text));
}

// (format nil control args...): ~a ~s ~d ~x ~b ~o ~% ~~ and case conversion ~( ~) ~:@( ~) ~@( ~) ~:( ~).
std::string format_text(Interpreter& in, const std::string& control, Args& a, size_t& next, SourceLoc loc) {
  std::string out;
  auto arg = [&]() -> Value* {
    if (next >= a.size()) in.fail(loc, fmt::format("format: too few arguments for \"{}\"", control));
    return a[next++];
  };
  for (size_t k = 0; k < control.size(); ++k) {
    char c = control[k];
    if (c != '~') {
      out += c;
      continue;
    }
    if (++k >= control.size()) in.fail(loc, "format: control string ends in '~'");
    bool colon = false, at = false;
    while (control[k] == ':' || control[k] == '@') {
      (control[k] == ':' ? colon : at) = true;
      if (++k >= control.size()) in.fail(loc, "format: control string ends in a directive prefix");
    }
    char d = static_cast<char>(std::tolower(static_cast<unsigned char>(control[k])));
    switch (d) {
      case 'a': out += princ(arg()); break;
      case 's': out += print(arg()); break;
      case 'd': out += fmt::format("{}", expect_int(in, arg(), loc, "format ~d")); break;
      case 'x': out += fmt::format("{:x}", u(expect_int(in, arg(), loc, "format ~x"))); break;
      case 'b': out += fmt::format("{:b}", u(expect_int(in, arg(), loc, "format ~b"))); break;
      case 'o': out += fmt::format("{:o}", u(expect_int(in, arg(), loc, "format ~o"))); break;
      case '%': out += '\n'; break;
      case '~': out += '~'; break;
      case '(': {
        size_t close = control.find("~)", k);
        if (close == std::string::npos) in.fail(loc, "format: '~(' without '~)'");
        std::string inner = format_text(in, control.substr(k + 1, close - k - 1), a, next, loc);
        if (colon && at) inner = upper(inner);
        else if (colon || at) {
          inner = lower(inner);
          bool start = true;
          for (char& ch : inner) {
            if (start && std::isalpha(static_cast<unsigned char>(ch))) {
              ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
              if (at) at = false, colon = false;  // ~@( capitalises only the first word
              start = false;
            } else if (!std::isalnum(static_cast<unsigned char>(ch))) {
              start = colon;
            }
          }
        } else {
          inner = lower(inner);
        }
        out += inner;
        k = close + 1;
        break;
      }
      default: in.fail(loc, fmt::format("format: unsupported directive '~{}'", control[k]));
    }
  }
  return out;
}
Value* b_format(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 2, SIZE_MAX, loc, "format");
  if (a[0]->tag != Tag::Nil) in.fail(loc, "compile-time format supports only (format nil ...)");
  if (a[1]->tag != Tag::Str) in.fail(loc, "format needs a control string");
  size_t next = 2;
  return in.heap().string(format_text(in, *a[1]->str, a, next, loc));
}
Value* b_error(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, SIZE_MAX, loc, "error");
  std::string msg;
  if (a[0]->tag == Tag::Str) {
    size_t next = 1;
    msg = format_text(in, *a[0]->str, a, next, loc);
  } else {
    msg = print(a[0]);
  }
  in.fail(loc, msg);
}
// (sizeof NAME) in macro code: a defstruct's size, or a scalar type's.
Value* b_sizeof(Interpreter& in, Args& a, SourceLoc loc) {
  arity(in, a, 1, 1, loc, "sizeof");
  if (a[0]->tag == Tag::Sym) {
    if (const StructDef* def = in.module().find_struct(a[0]->sym)) return in.heap().integer(static_cast<int64_t>(def->size));
    if (auto t = scalar_type_named(a[0]->sym)) return in.heap().integer(static_cast<int64_t>(t->size()));
  }
  in.fail(loc, fmt::format("sizeof: {} is not a type", print(a[0])));
}

}  // namespace

const std::unordered_map<const Symbol*, Builtin>& interpreter_builtins() {
  static const auto* table = [] {
    auto* m = new std::unordered_map<const Symbol*, Builtin>();
    auto add = [&](const char* name, Builtin fn) { (*m)[intern(name)] = fn; };
    add("car", b_car);
    add("cdr", b_cdr);
    add("first", b_nth_fixed<0>);
    add("rest", b_cdr);
    add("second", b_nth_fixed<1>);
    add("third", b_nth_fixed<2>);
    add("fourth", b_nth_fixed<3>);
    add("fifth", b_nth_fixed<4>);
    add("caar", b_cxr<'a', 'a'>);
    add("cadr", b_cxr<'a', 'd'>);
    add("cdar", b_cxr<'d', 'a'>);
    add("cddr", b_cxr<'d', 'd'>);
    add("caddr", b_cxr<'a', 'd', 'd'>);
    add("cdddr", b_cxr<'d', 'd', 'd'>);
    add("cadddr", b_cxr<'a', 'd', 'd', 'd'>);
    add("nth", b_nth);
    add("nthcdr", b_nthcdr);
    add("last", b_last);
    add("butlast", b_butlast);
    add("cons", b_cons);
    add("list", b_list);
    add("list*", b_list_star);
    add("append", b_append);
    add("nconc", b_append);
    add("reverse", b_reverse);
    add("nreverse", b_reverse);
    add("length", b_length);
    add("copy-list", b_copy_list);
    add("mapcar", b_mapcar);
    add("mapc", b_mapc);
    add("mapcan", b_mapcan);
    add("apply", b_apply);
    add("funcall", b_funcall);
    add("member", b_member);
    add("assoc", b_assoc);
    add("getf", b_getf);
    add("remove", b_remove);
    add("remove-if", b_remove_if);
    add("remove-if-not", b_remove_if_not);
    add("find", b_find);
    add("find-if", b_find_if);
    add("position", b_position);
    add("reduce", b_reduce);
    add("null", b_null);
    add("not", b_null);
    add("atom", b_atom);
    add("consp", b_consp);
    add("listp", b_listp);
    add("symbolp", b_symbolp);
    add("keywordp", b_keywordp);
    add("integerp", b_integerp);
    add("numberp", b_integerp);
    add("stringp", b_stringp);
    add("functionp", b_functionp);
    add("zerop", b_zerop);
    add("plusp", b_plusp);
    add("minusp", b_minusp);
    add("evenp", b_evenp);
    add("oddp", b_oddp);
    add("eq", b_eq);
    add("eql", b_eq);
    add("equal", b_equal);
    add("identity", b_identity);
    add("+", b_add);
    add("-", b_sub);
    add("*", b_mul);
    add("/", b_div);
    add("floor", b_floor);
    add("truncate", b_div);
    add("mod", b_mod);
    add("rem", b_rem);
    add("1+", b_inc);
    add("1-", b_dec);
    add("abs", b_abs);
    add("ash", b_ash);
    add("logand", b_logop<0>);
    add("logior", b_logop<1>);
    add("logxor", b_logop<2>);
    add("lognot", b_lognot);
    add("=", b_compare<0>);
    add("<", b_compare<1>);
    add(">", b_compare<2>);
    add("<=", b_compare<3>);
    add(">=", b_compare<4>);
    add("/=", b_compare<5>);
    add("min", b_minmax<false>);
    add("max", b_minmax<true>);
    add("symbol-name", b_symbol_name);
    add("string", b_string);
    add("intern", b_intern);
    add("make-symbol", b_intern);
    add("make-keyword", b_make_keyword);
    add("gensym", b_gensym);
    add("string-upcase", b_string_upcase);
    add("string-downcase", b_string_downcase);
    add("string=", b_string_eq);
    add("string-equal", b_string_equal);
    add("concatenate", b_concatenate);
    add("parse-integer", b_parse_integer);
    add("format", b_format);
    add("error", b_error);
    add("sizeof", b_sizeof);
    return m;
  }();
  return *table;
}

}  // namespace whistler
