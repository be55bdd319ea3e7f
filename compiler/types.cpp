#include "types.hpp"

#include <fmt/format.h>

namespace whistler {

uint64_t Type::size() const {
  switch (kind) {
    case Kind::Int: return bits / 8;
    case Kind::Array: return element->size() * count;
    case Kind::Struct: return record->size;
  }
  return 0;
}

uint64_t Type::align() const {
  switch (kind) {
    case Kind::Int: return bits / 8;
    case Kind::Array: return element->align();
    case Kind::Struct: return record->align;
  }
  return 1;
}

std::string Type::name() const {
  switch (kind) {
    case Kind::Int: return fmt::format("{}{}", is_signed ? 'i' : 'u', bits);
    case Kind::Array: return fmt::format("(array {} {})", element->name(), count);
    case Kind::Struct: return record->name->name;
  }
  return "?";
}

std::optional<Type> scalar_type_named(const Symbol* s) {
  const std::string& n = s->name;
  if (n.size() < 2) return std::nullopt;
  bool is_signed;
  if (n[0] == 'u') is_signed = false;
  else if (n[0] == 'i' || n[0] == 's') is_signed = true;
  else if (n == "char") return Type::integer(8, false);
  else return std::nullopt;
  std::string digits = n.substr(1);
  if (digits == "8") return Type::integer(8, is_signed);
  if (digits == "16") return Type::integer(16, is_signed);
  if (digits == "32") return Type::integer(32, is_signed);
  if (digits == "64") return Type::integer(64, is_signed);
  return std::nullopt;
}

void layout_struct(StructDef& def) {
  uint64_t offset = 0;
  uint64_t align = 1;
  for (auto& f : def.fields) {
    uint64_t a = f.type.align();
    offset = (offset + a - 1) / a * a;
    f.offset = offset;
    offset += f.type.size();
    if (a > align) align = a;
  }
  def.align = align;
  def.size = (offset + align - 1) / align * align;
  if (def.size == 0) def.size = 0;
}

}  // namespace whistler
