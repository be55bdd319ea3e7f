#include "type_layouts.hpp"

#include <memory>

namespace whistler {

namespace {

runtime::RecordLayout sized(uint32_t size) {
  if (size == 1 || size == 2 || size == 4 || size == 8) return runtime::RecordLayout::integer(size);
  return runtime::RecordLayout::bytes(size);
}

}  // namespace

runtime::RecordLayout layout_of(const Type& type) {
  switch (type.kind) {
    case Type::Kind::Int:
      return runtime::RecordLayout::integer(type.bits / 8, type.is_signed);
    case Type::Kind::Array:
      return runtime::RecordLayout::array(layout_of(*type.element), static_cast<uint32_t>(type.count));
    case Type::Kind::Struct: {
      runtime::RecordLayout l;
      l.kind = runtime::RecordLayout::Kind::Struct;
      l.size = static_cast<uint32_t>(type.record->size);
      l.name = type.record->name ? type.record->name->name : "struct";
      for (const auto& f : type.record->fields) {
        runtime::RecordLayout::Field field;
        field.name = f.name ? f.name->name : "?";
        field.offset = static_cast<uint32_t>(f.offset);
        field.layout = std::make_shared<const runtime::RecordLayout>(layout_of(f.type));
        l.fields.push_back(std::move(field));
      }
      return l;
    }
  }
  return runtime::RecordLayout::bytes(static_cast<uint32_t>(type.size()));
}

MapLayouts map_layouts(const MapDef& map, uint32_t key_size, uint32_t value_size) {
  MapLayouts out;
  if (!key_size) key_size = map.key_size;
  if (!value_size) value_size = map.value_size;
  out.key = map.key_type && map.key_type->size() == key_size ? layout_of(*map.key_type) : sized(key_size);
  if (map.value_type && (map.kind == MapKind::Ringbuf || map.value_type->size() == value_size))
    out.value = layout_of(*map.value_type);
  else
    out.value = sized(value_size);
  return out;
}

}  // namespace whistler
