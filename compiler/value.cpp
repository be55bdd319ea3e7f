#include "value.hpp"

#include <fmt/format.h>

#include <mutex>
#include <tuple>
#include <unordered_map>


namespace whistler {

namespace {

struct SymbolTable {
  std::mutex mutex;
  std::unordered_map<std::string, std::unique_ptr<Symbol>> symbols;
};

SymbolTable& symbol_table() {
  static SymbolTable* table = new SymbolTable();  // never destroyed: symbols outlive everything
  return *table;
}

}  // namespace

const Symbol* intern(std::string_view name) {
  SymbolTable& table = symbol_table();
  std::lock_guard<std::mutex> lock(table.mutex);
  auto it = table.symbols.find(std::string(name));
  if (it != table.symbols.end()) return it->second.get();
  auto sym = std::make_unique<Symbol>();
  sym->name = std::string(name);
  const Symbol* result = sym.get();
  table.symbols.emplace(sym->name, std::move(sym));
  return result;
}

bool is_variable_name(const Value* v) {
  return v->tag == Tag::Sym && !v->sym->keyword() && v->sym != WSYM("t") && v->sym != WSYM("nil");
}

Heap::Heap() {
  nil_ = alloc();
  nil_->tag = Tag::Nil;
  t_ = symbol(WSYM("t"));
}

Value* Heap::alloc() { return &values_.emplace_back(); }

Value* Heap::integer(int64_t v, SourceLoc loc) {
  Value* x = alloc();
  x->tag = Tag::Int;
  x->i = v;
  x->loc = loc;
  return x;
}

Value* Heap::nil_at(SourceLoc loc) {
  if (!loc.valid()) return nil_;
  Value* x = alloc();
  x->tag = Tag::Nil;
  x->loc = loc;
  return x;
}

Value* Heap::symbol(const Symbol* s, SourceLoc loc) {
  if (s == WSYM("nil")) return nil_at(loc);
  Value* x = alloc();
  x->tag = Tag::Sym;
  x->sym = s;
  x->loc = loc;
  return x;
}

Value* Heap::string(std::string s, SourceLoc loc) {
  Value* x = alloc();
  x->tag = Tag::Str;
  x->str = &strings_.emplace_back(std::move(s));
  x->loc = loc;
  return x;
}

Value* Heap::cons(Value* car, Value* cdr, SourceLoc loc) {
  Value* x = alloc();
  x->tag = Tag::Cons;
  x->cons.car = car;
  x->cons.cdr = cdr;
  x->loc = loc;
  return x;
}

Value* Heap::function(Closure* c) {
  Value* x = alloc();
  x->tag = Tag::Func;
  x->fn = c;
  return x;
}

Closure* Heap::new_closure() { return &closures_.emplace_back(); }

Value* Heap::list(std::initializer_list<Value*> items, SourceLoc loc) {
  return list(std::vector<Value*>(items), loc);
}

Value* Heap::list(const std::vector<Value*>& items, SourceLoc loc, Value* tail) {
  Value* result = tail ? tail : nil_;
  for (auto it = items.rbegin(); it != items.rend(); ++it) result = cons(*it, result, loc);
  return result;
}

Value* Heap::gensym(std::string_view prefix, SourceLoc loc) {
  std::string name = fmt::format("{}%{}", prefix.empty() ? "g" : prefix, ++gensym_counter_);
  for (char& c : name)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return symbol(intern(name), loc);
}

long list_length(const Value* v) {
  long n = 0;
  while (v->tag == Tag::Cons) {
    ++n;
    v = v->cons.cdr;
  }
  return v->tag == Tag::Nil ? n : -1;
}

Value* nth(Value* list, size_t n) {
  while (n-- > 0 && list->tag == Tag::Cons) list = list->cons.cdr;
  return list->tag == Tag::Cons ? list->cons.car : nullptr;
}

std::vector<Value*> list_items(Value* list) {
  std::vector<Value*> out;
  for (; list->tag == Tag::Cons; list = list->cons.cdr) out.push_back(list->cons.car);
  return out;
}

namespace {

void print_atom(std::string& out, const Value* v, bool princ) {
  switch (v->tag) {
    case Tag::Nil: out += "nil"; return;
    case Tag::Int: out += fmt::format("{}", v->i); return;
    case Tag::Sym: out += princ && v->sym->keyword() ? v->sym->name.substr(1) : v->sym->name; return;
    case Tag::Func: out += "#<function>"; return;
    case Tag::Str:
      if (princ) {
        out += *v->str;
        return;
      }
      out += '"';
      for (char c : *v->str) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
      return;
    case Tag::Cons: return;
  }
}

// The reader abbreviation that prints `v`, or nullptr.
const char* abbreviation(const Value* v) {
  const Symbol* h = head_symbol(v);
  if (!h || list_length(v) != 2) return nullptr;
  if (h == WSYM("quote")) return "'";
  if (h == WSYM("quasiquote")) return "`";
  if (h == WSYM("unquote")) return ",";
  if (h == WSYM("unquote-splicing")) return ",@";
  if (h == WSYM("function")) return "#'";
  return nullptr;
}

// Prints without recursion: macro code can build data nested far deeper than
// anything the reader accepts ((dotimes (i n) (setq x (list x)))), and a
// recursive printer ran out of stack on it (in diagnostics, format ~a and the
// REPL). Each open list is a frame holding what is left of it.
void write_value(std::string& out, const Value* v, bool princ) {
  struct Open {
    const Value* rest;  // elements still to print; nullptr: the dotted tail is printed
    bool abbreviated;   // 'x and friends: nothing to close
  };
  std::vector<Open> open;
  for (;;) {
    // Print `v`, descending into lists.
    while (v->tag == Tag::Cons) {
      if (const char* prefix = princ ? nullptr : abbreviation(v)) {
        out += prefix;
        open.push_back({nullptr, true});
        v = v->cons.cdr->cons.car;
        continue;
      }
      out += '(';
      open.push_back({v->cons.cdr, false});
      v = v->cons.car;
    }
    print_atom(out, v, princ);
    // Continue with the next element of the innermost open list, closing the
    // lists that are done.
    for (;;) {
      if (open.empty()) return;
      Open& o = open.back();
      if (o.abbreviated || !o.rest) {
        if (!o.abbreviated) out += ')';
        open.pop_back();
        continue;
      }
      if (o.rest->tag == Tag::Cons) {
        out += ' ';
        v = o.rest->cons.car;
        o.rest = o.rest->cons.cdr;
        break;
      }
      if (o.rest->tag != Tag::Nil) {
        out += " . ";
        v = o.rest;
        o.rest = nullptr;
        break;
      }
      out += ')';
      open.pop_back();
    }
  }
}

}  // namespace

std::string print(const Value* v) {
  std::string out;
  write_value(out, v, false);
  return out;
}

std::string princ(const Value* v) {
  std::string out;
  write_value(out, v, true);
  return out;
}

bool equal(const Value* a, const Value* b) {
  // Without recursion: along the lists in the loop, into elements through an
  // explicit stack, so neither long nor deeply nested data built at compile
  // time can exhaust the stack. Flat lists never touch the stack vector.
  std::vector<std::pair<const Value*, const Value*>> pending;
  for (;;) {
    bool same = a == b;
    if (!same && a->tag == b->tag) {
      switch (a->tag) {
        case Tag::Nil: same = true; break;
        case Tag::Int: same = a->i == b->i; break;
        case Tag::Sym: same = a->sym == b->sym; break;
        case Tag::Str: same = *a->str == *b->str; break;
        case Tag::Func: same = a->fn == b->fn; break;
        case Tag::Cons: {
          const Value* ca = a->cons.car;
          const Value* cb = b->cons.car;
          a = a->cons.cdr;
          b = b->cons.cdr;
          if (ca == cb) continue;
          if (ca->tag == Tag::Cons && cb->tag == Tag::Cons) {
            pending.emplace_back(a, b);  // the rest of this list, after the element
            a = ca;
            b = cb;
            continue;
          }
          if (!equal(ca, cb)) return false;  // atoms: no deeper recursion
          continue;
        }
      }
    }
    if (!same) return false;
    if (pending.empty()) return true;
    std::tie(a, b) = pending.back();
    pending.pop_back();
  }
}

}  // namespace whistler
