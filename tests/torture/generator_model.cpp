#include "generator_model.hpp"

#include <algorithm>

namespace whistler::torture {

const Scalar kAllScalars[8] = {Scalar::U8, Scalar::U16, Scalar::U32, Scalar::U64,
                               Scalar::I8, Scalar::I16, Scalar::I32, Scalar::I64};

const ScalarInfo& scalar_info(Scalar s) {
  static const ScalarInfo table[] = {
      {"u8", 1, false}, {"u16", 2, false}, {"u32", 4, false}, {"u64", 8, false},
      {"i8", 1, true},  {"i16", 2, true},  {"i32", 4, true},  {"i64", 8, true},
  };
  return table[static_cast<int>(s)];
}

const char* header_name(Header h) {
  switch (h) {
    case Header::Eth: return "eth";
    case Header::Ipv4: return "ipv4";
    case Header::Ipv6: return "ipv6";
    case Header::Tcp: return "tcp";
    case Header::Udp: return "udp";
    case Header::Icmp: return "icmp";
    case Header::Any: return "packet";
  }
  return "packet";
}

int header_length(Header h) {
  switch (h) {
    case Header::Eth: return 14;
    case Header::Ipv4: return 20;
    case Header::Ipv6: return 40;
    case Header::Tcp: return 20;
    case Header::Udp: return 8;
    case Header::Icmp: return 8;
    case Header::Any: return 0;
  }
  return 0;
}

const std::vector<HeaderField>& header_fields(Header h) {
  static const std::vector<HeaderField> eth = {
      {"eth-dst-mac-hi", Scalar::U32, 0}, {"eth-dst-mac-lo", Scalar::U16, 4}, {"eth-src-mac-hi", Scalar::U32, 6},
      {"eth-src-mac-lo", Scalar::U16, 10}, {"eth-type", Scalar::U16, 12}};
  static const std::vector<HeaderField> ipv4 = {
      {"ipv4-ver-ihl", Scalar::U8, 0},     {"ipv4-tos", Scalar::U8, 1},       {"ipv4-total-len", Scalar::U16, 2},
      {"ipv4-id", Scalar::U16, 4},         {"ipv4-frag-off", Scalar::U16, 6}, {"ipv4-ttl", Scalar::U8, 8},
      {"ipv4-protocol", Scalar::U8, 9},    {"ipv4-checksum", Scalar::U16, 10}, {"ipv4-src-addr", Scalar::U32, 12},
      {"ipv4-dst-addr", Scalar::U32, 16}};
  static const std::vector<HeaderField> ipv6 = {
      {"ipv6-ver-tc-flow", Scalar::U32, 0}, {"ipv6-payload-len", Scalar::U16, 4}, {"ipv6-nexthdr", Scalar::U8, 6},
      {"ipv6-hop-limit", Scalar::U8, 7},    {"ipv6-src-addr-hi", Scalar::U64, 8}, {"ipv6-src-addr-lo", Scalar::U64, 16},
      {"ipv6-dst-addr-hi", Scalar::U64, 24}, {"ipv6-dst-addr-lo", Scalar::U64, 32}};
  static const std::vector<HeaderField> tcp = {
      {"tcp-src-port", Scalar::U16, 0}, {"tcp-dst-port", Scalar::U16, 2}, {"tcp-seq", Scalar::U32, 4},
      {"tcp-ack-seq", Scalar::U32, 8},  {"tcp-data-off", Scalar::U8, 12}, {"tcp-flags", Scalar::U8, 13},
      {"tcp-window", Scalar::U16, 14},  {"tcp-checksum", Scalar::U16, 16}, {"tcp-urgent", Scalar::U16, 18}};
  static const std::vector<HeaderField> udp = {
      {"udp-src-port", Scalar::U16, 0}, {"udp-dst-port", Scalar::U16, 2}, {"udp-length", Scalar::U16, 4},
      {"udp-checksum", Scalar::U16, 6}};
  static const std::vector<HeaderField> icmp = {
      {"icmp-type", Scalar::U8, 0}, {"icmp-code", Scalar::U8, 1}, {"icmp-checksum", Scalar::U16, 2},
      {"icmp-rest", Scalar::U32, 4}};
  static const std::vector<HeaderField> none;
  switch (h) {
    case Header::Eth: return eth;
    case Header::Ipv4: return ipv4;
    case Header::Ipv6: return ipv6;
    case Header::Tcp: return tcp;
    case Header::Udp: return udp;
    case Header::Icmp: return icmp;
    case Header::Any: return none;
  }
  return none;
}

void layout_struct(StructDef& def, const std::vector<StructDef>& earlier) {
  int offset = 0;
  int max_align = 1;
  for (auto& f : def.fields) {
    switch (f.kind) {
      case StructField::Kind::Scalar:
        f.size = scalar_bytes(f.type);
        f.align = f.size;
        break;
      case StructField::Kind::Array:
        f.size = scalar_bytes(f.type) * f.count;
        f.align = scalar_bytes(f.type);
        break;
      case StructField::Kind::Nested:
        f.size = earlier[static_cast<size_t>(f.nested)].size;
        f.align = earlier[static_cast<size_t>(f.nested)].align;
        break;
    }
    offset = (offset + f.align - 1) / f.align * f.align;
    f.offset = offset;
    offset += f.size;
    max_align = std::max(max_align, f.align);
  }
  def.align = max_align;
  def.size = (offset + max_align - 1) / max_align * max_align;
}

const char* map_type_keyword(MapType t) {
  switch (t) {
    case MapType::Array: return ":array";
    case MapType::Hash: return ":hash";
    case MapType::PercpuArray: return ":percpu-array";
    case MapType::PercpuHash: return ":percpu-hash";
    case MapType::LruHash: return ":lru-hash";
    case MapType::LruPercpuHash: return ":lru-percpu-hash";
    case MapType::LpmTrie: return ":lpm-trie";
    case MapType::Ringbuf: return ":ringbuf";
    case MapType::ProgArray: return ":prog-array";
    case MapType::Devmap: return ":devmap";
    case MapType::DevmapHash: return ":devmap-hash";
    case MapType::Cpumap: return ":cpumap";
    case MapType::Xskmap: return ":xskmap";
  }
  return ":hash";
}

bool MapDef::holds_data() const {
  switch (type) {
    case MapType::Array:
    case MapType::Hash:
    case MapType::PercpuArray:
    case MapType::PercpuHash:
    case MapType::LruHash:
    case MapType::LruPercpuHash:
    case MapType::LpmTrie:
      return true;
    default:
      return false;
  }
}

bool MapDef::percpu() const {
  return type == MapType::PercpuArray || type == MapType::PercpuHash || type == MapType::LruPercpuHash;
}

bool MapDef::redirect_target() const {
  return type == MapType::Devmap || type == MapType::DevmapHash || type == MapType::Cpumap || type == MapType::Xskmap;
}

}  // namespace whistler::torture
