// The Lisp data model shared by the reader, the macro interpreter and the
// expander: integers, interned symbols, strings, cons cells and closures, each
// carrying the source location it was read from.
#pragma once

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "source.hpp"

namespace whistler {

struct Symbol {
  std::string name;  // normalised to lower case; keywords keep their leading ':'
  bool keyword() const { return !name.empty() && name[0] == ':'; }
};

// Symbols are interned once per process, so two symbols are equal exactly when
// their pointers are. `sym("if")` returns the interned symbol.
const Symbol* intern(std::string_view name);
#define WSYM(text)                                                        \
  ([]() -> const ::whistler::Symbol* {                                    \
    static const ::whistler::Symbol* s_ = ::whistler::intern(text);       \
    return s_;                                                            \
  }())

enum class Tag : uint8_t { Nil, Int, Sym, Str, Cons, Func };

class Interpreter;
struct Env;
struct Value;

// A function value of the macro interpreter: a lambda with its captured
// environment, or a builtin (then `builtin` is set).
struct Closure {
  const Symbol* name = nullptr;
  Value* params = nullptr;  // lambda list
  Value* body = nullptr;    // list of forms
  Env* env = nullptr;
  Value* (*builtin)(Interpreter&, std::vector<Value*>& args, SourceLoc loc) = nullptr;
};

struct Value {
  Tag tag = Tag::Nil;
  SourceLoc loc;
  union {
    int64_t i;
    const Symbol* sym;
    const std::string* str;
    struct {
      Value* car;
      Value* cdr;
    } cons;
    Closure* fn;
  };
  Value() : i(0) {}
};

// Allocates values for one compilation (or one REPL session). Values live as
// long as the heap; nothing is freed one by one.
class Heap {
 public:
  Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  Value* nil() { return nil_; }
  // nil read or built at a location: a distinct Nil value carrying `loc`
  // (the shared nil when loc is not valid). Test for nil by tag, never by pointer.
  Value* nil_at(SourceLoc loc);
  Value* t() { return t_; }
  Value* integer(int64_t v, SourceLoc loc = {});
  Value* symbol(const Symbol* s, SourceLoc loc = {});
  Value* symbol(std::string_view name, SourceLoc loc = {}) { return symbol(intern(name), loc); }
  Value* string(std::string s, SourceLoc loc = {});
  Value* cons(Value* car, Value* cdr, SourceLoc loc = {});
  Value* function(Closure* c);
  Value* list(std::initializer_list<Value*> items, SourceLoc loc = {});
  Value* list(const std::vector<Value*>& items, SourceLoc loc = {}, Value* tail = nullptr);
  Value* boolean(bool b) { return b ? t_ : nil_; }
  Closure* new_closure();
  // A fresh uninterned-looking symbol, "#:g123"-style but valid as an identifier.
  Value* gensym(std::string_view prefix, SourceLoc loc = {});

 private:
  Value* alloc();
  std::deque<Value> values_;
  std::deque<std::string> strings_;
  std::deque<Closure> closures_;
  Value* nil_;
  Value* t_;
  uint64_t gensym_counter_ = 0;
};

// ---- Inspection helpers ----------------------------------------------------

inline bool is_nil(const Value* v) { return v->tag == Tag::Nil; }
inline bool is_cons(const Value* v) { return v->tag == Tag::Cons; }
inline bool is_int(const Value* v) { return v->tag == Tag::Int; }
inline bool is_sym(const Value* v) { return v->tag == Tag::Sym; }
inline bool is_str(const Value* v) { return v->tag == Tag::Str; }
inline bool is_list(const Value* v) { return v->tag == Tag::Nil || v->tag == Tag::Cons; }
inline bool is_sym(const Value* v, const Symbol* s) { return v->tag == Tag::Sym && v->sym == s; }
inline bool is_keyword(const Value* v) { return v->tag == Tag::Sym && v->sym->keyword(); }
// A symbol that names a variable: not a keyword, not t, not nil.
bool is_variable_name(const Value* v);

inline Value* car(Value* v) { return v->tag == Tag::Cons ? v->cons.car : v; }
inline Value* cdr(Value* v) { return v->tag == Tag::Cons ? v->cons.cdr : v; }
// The head symbol of a form `(head ...)`, or nullptr.
inline const Symbol* head_symbol(const Value* v) {
  return v->tag == Tag::Cons && v->cons.car->tag == Tag::Sym ? v->cons.car->sym : nullptr;
}
inline bool is_form(const Value* v, const Symbol* head) { return head_symbol(v) == head; }

// Number of elements of a proper list; -1 for an improper one.
long list_length(const Value* v);
Value* nth(Value* list, size_t n);
std::vector<Value*> list_items(Value* list);

// Iterate over the elements of a list: for (Value* x : items(list)).
class ListIter {
 public:
  explicit ListIter(Value* v) : v_(v) {}
  Value* operator*() const { return v_->cons.car; }
  ListIter& operator++() { v_ = v_->cons.cdr; return *this; }
  bool operator!=(const ListIter&) const { return v_->tag == Tag::Cons; }
 private:
  Value* v_;
};
struct ListRange {
  Value* v;
  ListIter begin() const { return ListIter(v); }
  ListIter end() const { return ListIter(v); }
};
inline ListRange items(Value* v) { return {v}; }

// Printed representation (for diagnostics, macroexpand output and tests), at
// any depth (macro code can build data far deeper than the reader accepts).
std::string print(const Value* v);
// CL's princ (format ~a): strings without quotes, keywords without their
// colon, no reader abbreviations.
std::string princ(const Value* v);
// Structural equality (CL `equal`), at any depth.
bool equal(const Value* a, const Value* b);

}  // namespace whistler
