// Data types of the language: the scalar types u8..i64, fixed arrays and
// defstruct records, laid out as C lays them out so BTF and user space agree.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "source.hpp"
#include "value.hpp"

namespace whistler {

struct StructDef;

struct Type {
  enum class Kind { Int, Array, Struct };
  Kind kind = Kind::Int;
  unsigned bits = 64;       // Int
  bool is_signed = false;   // Int
  std::shared_ptr<const Type> element;  // Array
  uint64_t count = 0;                   // Array
  const StructDef* record = nullptr;    // Struct

  static Type integer(unsigned bits, bool is_signed = false) {
    Type t;
    t.bits = bits;
    t.is_signed = is_signed;
    return t;
  }
  static Type array(Type element, uint64_t count) {
    Type t;
    t.kind = Kind::Array;
    t.element = std::make_shared<const Type>(std::move(element));
    t.count = count;
    return t;
  }
  static Type structure(const StructDef* def) {
    Type t;
    t.kind = Kind::Struct;
    t.record = def;
    return t;
  }
  bool is_int() const { return kind == Kind::Int; }
  uint64_t size() const;
  uint64_t align() const;
  std::string name() const;  // "u32", "(array u8 6)", struct name
};

struct StructField {
  const Symbol* name = nullptr;
  Type type;
  uint64_t offset = 0;
  SourceLoc loc;
};

struct StructDef {
  const Symbol* name = nullptr;
  std::vector<StructField> fields;
  uint64_t size = 0;
  uint64_t align = 1;
  SourceLoc loc;
  const StructField* field(const Symbol* s) const {
    for (const auto& f : fields)
      if (f.name == s) return &f;
    return nullptr;
  }
};

// "u8".."u64", "i8".."i64" (also "s8".."s64" and C-ish "char"); nullopt otherwise.
std::optional<Type> scalar_type_named(const Symbol* s);

// Lays out fields in order with natural alignment (C rules) and fills sizes.
void layout_struct(StructDef& def);

}  // namespace whistler
