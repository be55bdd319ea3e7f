#include "debug_types.hpp"

#include <llvm/BinaryFormat/Dwarf.h>

namespace whistler {

using namespace llvm;

DIType* DebugTypes::integer(unsigned bits, bool is_signed) {
  auto key = std::make_pair(bits, is_signed);
  if (auto it = ints_.find(key); it != ints_.end()) return it->second;
  const char* name;
  switch (bits) {
    case 8: name = is_signed ? "signed char" : "unsigned char"; break;
    case 16: name = is_signed ? "short" : "unsigned short"; break;
    case 32: name = is_signed ? "int" : "unsigned int"; break;
    default: name = is_signed ? "long long" : "unsigned long long"; break;
  }
  unsigned encoding = bits == 8 ? (is_signed ? dwarf::DW_ATE_signed_char : dwarf::DW_ATE_unsigned_char)
                                : (is_signed ? dwarf::DW_ATE_signed : dwarf::DW_ATE_unsigned);
  DIType* t = dib_.createBasicType(name, bits, encoding);
  ints_[key] = t;
  return t;
}

DIType* DebugTypes::type(const Type& t) {
  switch (t.kind) {
    case Type::Kind::Int:
      return integer(t.bits, t.is_signed);
    case Type::Kind::Array: {
      DIType* element = type(*t.element);
      auto* range = dib_.getOrCreateSubrange(0, static_cast<int64_t>(t.count));
      return dib_.createArrayType(t.size() * 8, t.align() * 8, element, dib_.getOrCreateArray({range}));
    }
    case Type::Kind::Struct: {
      const StructDef* def = t.record;
      if (auto it = structs_.find(def); it != structs_.end()) return it->second;
      std::vector<Metadata*> members;
      for (const auto& f : def->fields)
        members.push_back(dib_.createMemberType(cu_, elf_name(f.name->name), file_, f.loc.line, f.type.size() * 8,
                                                f.type.align() * 8, f.offset * 8, DINode::FlagZero, type(f.type)));
      DIType* st = dib_.createStructType(cu_, elf_name(def->name->name), file_, def->loc.line, def->size * 8,
                                          def->align * 8, DINode::FlagZero, nullptr, dib_.getOrCreateArray(members));
      structs_[def] = st;
      return st;
    }
  }
  return integer(64, false);
}

DIType* DebugTypes::xdp_md_pointer() {
  if (xdp_md_ptr_) return xdp_md_ptr_;
  DIType* u32 = integer(32, false);
  const char* fields[] = {"data", "data_end", "data_meta", "ingress_ifindex", "rx_queue_index", "egress_ifindex"};
  std::vector<Metadata*> members;
  for (unsigned i = 0; i < 6; ++i)
    members.push_back(dib_.createMemberType(cu_, fields[i], file_, 0, 32, 32, i * 32, DINode::FlagZero, u32));
  DIType* xdp_md = dib_.createStructType(cu_, "xdp_md", file_, 0, 6 * 32, 32, DINode::FlagZero, nullptr,
                                         dib_.getOrCreateArray(members));
  xdp_md_ptr_ = dib_.createPointerType(xdp_md, 64);
  return xdp_md_ptr_;
}

DISubroutineType* DebugTypes::program_signature() {
  if (!program_sig_)
    program_sig_ = dib_.createSubroutineType(dib_.getOrCreateTypeArray({integer(32, true), xdp_md_pointer()}));
  return program_sig_;
}

DIDerivedType* DebugTypes::int_member(const char* name, uint64_t value, uint64_t offset_bits, DIFile* file) {
  // __uint(name, value): a pointer to int[value]; the element count carries the value.
  auto* range = dib_.getOrCreateSubrange(0, static_cast<int64_t>(value));
  DIType* array = dib_.createArrayType(32 * value, 32, integer(32, true), dib_.getOrCreateArray({range}));
  return dib_.createMemberType(cu_, name, file, 0, 64, 0, offset_bits, DINode::FlagZero, dib_.createPointerType(array, 64));
}

DIDerivedType* DebugTypes::pointer_member(const char* name, DIType* pointee, uint64_t offset_bits, DIFile* file) {
  return dib_.createMemberType(cu_, name, file, 0, 64, 0, offset_bits, DINode::FlagZero, dib_.createPointerType(pointee, 64));
}

// The kernel wants an LPM trie key described as a struct: { u32 prefixlen; u8 data[N]; }.
DIType* DebugTypes::lpm_key(uint32_t key_size) {
  if (auto it = lpm_keys_.find(key_size); it != lpm_keys_.end()) return it->second;
  uint32_t data_len = key_size - 4;
  auto* range = dib_.getOrCreateSubrange(0, static_cast<int64_t>(data_len));
  DIType* bytes = dib_.createArrayType(data_len * 8, 8, integer(8, false), dib_.getOrCreateArray({range}));
  Metadata* members[] = {
      dib_.createMemberType(cu_, "prefixlen", file_, 0, 32, 32, 0, DINode::FlagZero, integer(32, false)),
      dib_.createMemberType(cu_, "data", file_, 0, data_len * 8, 8, 32, DINode::FlagZero, bytes),
  };
  DIType* st = dib_.createStructType(cu_, "", file_, 0, key_size * 8, 32, DINode::FlagZero, nullptr,
                                     dib_.getOrCreateArray(members));
  lpm_keys_[key_size] = st;
  return st;
}

namespace {

// Map types whose kernel implementation refuses BTF key/value types: their
// definitions give key_size/value_size instead of key/value.
bool sizes_only(MapKind k) {
  switch (k) {
    case MapKind::ProgArray:
    case MapKind::PerfEventArray:
    case MapKind::Devmap:
    case MapKind::DevmapHash:
    case MapKind::Cpumap:
    case MapKind::Xskmap:
      return true;
    default:
      return false;
  }
}

}  // namespace

unsigned DebugTypes::map_member_count(const MapDef& map) {
  unsigned n = 2;  // type, max_entries
  if (map.has_key_value()) n += 2;
  if (map.map_flags) ++n;
  if (!map.pin.empty()) ++n;
  return n;
}

void DebugTypes::describe_map(const MapDef& map, GlobalVariable* global, DIFile* file, unsigned line) {
  std::vector<Metadata*> members;
  uint64_t offset = 0;
  auto next = [&]() {
    uint64_t o = offset;
    offset += 64;
    return o;
  };
  members.push_back(int_member("type", static_cast<uint64_t>(map.kind), next(), file));
  members.push_back(int_member("max_entries", map.max_entries, next(), file));
  if (map.has_key_value()) {
    if (sizes_only(map.kind)) {
      members.push_back(int_member("key_size", map.key_size, next(), file));
      members.push_back(int_member("value_size", map.value_size, next(), file));
    } else {
      DIType* key = map.kind == MapKind::LpmTrie && map.key_type && !map.key_type->record ? lpm_key(map.key_size)
                                                                                          : type(*map.key_type);
      members.push_back(pointer_member("key", key, next(), file));
      members.push_back(pointer_member("value", type(*map.value_type), next(), file));
    }
  }
  if (map.map_flags) members.push_back(int_member("map_flags", map.map_flags, next(), file));
  if (!map.pin.empty()) members.push_back(int_member("pinning", 1, next(), file));  // LIBBPF_PIN_BY_NAME
  DIType* def = dib_.createStructType(cu_, "", file, line, offset, 64, DINode::FlagZero, nullptr,
                                      dib_.getOrCreateArray(members));
  auto* gve = dib_.createGlobalVariableExpression(cu_, map.elf_name, "", file, line, def, /*isLocalToUnit=*/false);
  global->addDebugInfo(gve);
}

void DebugTypes::describe_license(GlobalVariable* global, size_t length) {
  auto* range = dib_.getOrCreateSubrange(0, static_cast<int64_t>(length));
  DIType* chars = dib_.createArrayType(length * 8, 8, integer(8, true), dib_.getOrCreateArray({range}));
  auto* gve = dib_.createGlobalVariableExpression(cu_, global->getName(), "", file_, 0, chars, false);
  global->addDebugInfo(gve);
}

}  // namespace whistler
