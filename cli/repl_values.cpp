#include "repl_values.hpp"

#include <fmt/format.h>

#include "large_stack.hpp"

namespace whistler {

namespace {

Value* evaluate(Value* v, Compilation& c, std::string& error) {
  size_t before = c.diags().all().size();
  Value* result = nullptr;
  // On the large stack, as compilations evaluate (large_stack.hpp).
  run_with_large_stack([&] {
    try {
      result = c.interpreter().eval(v, c.interpreter().global());
    } catch (const AbortForm&) {
      const auto& all = c.diags().all();
      error = all.size() > before ? all.back().message : "cannot evaluate " + print(v);
    }
  });
  return result;
}

}  // namespace

std::optional<std::string> name_argument(Value* v) {
  if (v->tag == Tag::Sym && !v->sym->keyword()) return v->sym->name;
  if (v->tag == Tag::Str) return *v->str;
  return std::nullopt;
}

std::optional<runtime::DecodedValue> to_decoded_value(Value* v, Compilation& c, std::string& error) {
  switch (v->tag) {
    case Tag::Int:
      return runtime::DecodedValue::integer(static_cast<uint64_t>(v->i), v->i < 0);
    case Tag::Str:
      return runtime::DecodedValue::text(*v->str);
    case Tag::Nil:
      return runtime::DecodedValue::integer(0);
    case Tag::Sym: {
      if (v->sym->name == "t") return runtime::DecodedValue::integer(1);
      Value* r = evaluate(v, c, error);
      if (!r) {
        error = fmt::format("'{}' is not a constant (use a number, a string or a defconstant name)", v->sym->name);
        return std::nullopt;
      }
      if (r == v) {
        error = fmt::format("'{}' has no value", v->sym->name);
        return std::nullopt;
      }
      return to_decoded_value(r, c, error);
    }
    case Tag::Cons: {
      Value* head = car(v);
      if (is_keyword(head)) {
        runtime::DecodedValue rec;
        rec.kind = runtime::DecodedValue::Kind::Record;
        Value* p = v;
        while (p->tag == Tag::Cons) {
          Value* key = car(p);
          if (!is_keyword(key) || cdr(p)->tag != Tag::Cons) {
            error = fmt::format("a record is written (:field value ...), got {}", print(v));
            return std::nullopt;
          }
          auto field = to_decoded_value(car(cdr(p)), c, error);
          if (!field) return std::nullopt;
          rec.fields.emplace_back(key->sym->name.substr(1), *field);
          p = cdr(cdr(p));
        }
        return rec;
      }
      if (head->tag == Tag::Sym) {
        Value* r = evaluate(v, c, error);
        if (!r) return std::nullopt;
        return to_decoded_value(r, c, error);
      }
      runtime::DecodedValue list;
      list.kind = runtime::DecodedValue::Kind::List;
      for (Value* item : items(v)) {
        auto one = to_decoded_value(item, c, error);
        if (!one) return std::nullopt;
        list.items.push_back(*one);
      }
      return list;
    }
    case Tag::Func:
      break;
  }
  error = fmt::format("cannot use {} as a map key or value", print(v));
  return std::nullopt;
}

std::optional<std::string> to_packet_bytes(Value* v, Compilation& c, std::string& error) {
  if (v->tag == Tag::Str) {
    std::string bytes;
    if (!runtime::parse_hex_bytes(*v->str, bytes)) {
      error = fmt::format("\"{}\" is not hex bytes (e.g. \"ffffffffffff 000000000001 0800 ...\")", *v->str);
      return std::nullopt;
    }
    return bytes;
  }
  if (v->tag == Tag::Sym) {
    Value* r = evaluate(v, c, error);
    if (!r || r == v) {
      error = fmt::format("'{}' is not a packet (give a hex string or a list of byte values)", v->sym->name);
      return std::nullopt;
    }
    return to_packet_bytes(r, c, error);
  }
  if (v->tag == Tag::Cons) {
    Value* list = v;
    if (car(v)->tag == Tag::Sym) {
      list = evaluate(v, c, error);
      if (!list) return std::nullopt;
      if (list->tag == Tag::Str) return to_packet_bytes(list, c, error);
    }
    std::string bytes;
    for (Value* item : items(list)) {
      if (item->tag != Tag::Int || item->i < 0 || item->i > 255) {
        error = fmt::format("packet bytes are numbers from 0 to 255, got {}", print(item));
        return std::nullopt;
      }
      bytes.push_back(static_cast<char>(item->i));
    }
    return bytes;
  }
  error = fmt::format("a packet is a hex string or a list of byte values, got {}", print(v));
  return std::nullopt;
}

}  // namespace whistler
