#include "value.hpp"

#include <fmt/format.h>

#include <mutex>
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

void print_to(std::string& out, const Value* v) {
  switch (v->tag) {
    case Tag::Nil: out += "nil"; return;
    case Tag::Int: out += fmt::format("{}", v->i); return;
    case Tag::Sym: out += v->sym->name; return;
    case Tag::Func: out += "#<function>"; return;
    case Tag::Str:
      out += '"';
      for (char c : *v->str) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
      return;
    case Tag::Cons: break;
  }
  // Reader abbreviations print back as written.
  if (const Symbol* h = head_symbol(v); h && list_length(v) == 2) {
    const char* prefix = nullptr;
    if (h == WSYM("quote")) prefix = "'";
    else if (h == WSYM("quasiquote")) prefix = "`";
    else if (h == WSYM("unquote")) prefix = ",";
    else if (h == WSYM("unquote-splicing")) prefix = ",@";
    else if (h == WSYM("function")) prefix = "#'";
    if (prefix) {
      out += prefix;
      print_to(out, v->cons.cdr->cons.car);
      return;
    }
  }
  out += '(';
  bool first = true;
  while (v->tag == Tag::Cons) {
    if (!first) out += ' ';
    first = false;
    print_to(out, v->cons.car);
    v = v->cons.cdr;
  }
  if (v->tag != Tag::Nil) {
    out += " . ";
    print_to(out, v);
  }
  out += ')';
}

}  // namespace

std::string print(const Value* v) {
  std::string out;
  print_to(out, v);
  return out;
}

bool equal(const Value* a, const Value* b) {
  // Iterates along the lists (recursing only into elements), so long lists
  // built at compile time cannot exhaust the stack.
  for (;;) {
    if (a == b) return true;
    if (a->tag != b->tag) return false;
    switch (a->tag) {
      case Tag::Nil: return true;
      case Tag::Int: return a->i == b->i;
      case Tag::Sym: return a->sym == b->sym;
      case Tag::Str: return *a->str == *b->str;
      case Tag::Func: return a->fn == b->fn;
      case Tag::Cons:
        if (!equal(a->cons.car, b->cons.car)) return false;
        a = a->cons.cdr;
        b = b->cons.cdr;
        continue;
    }
    return false;
  }
}

}  // namespace whistler
