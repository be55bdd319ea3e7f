#include "frame_generator.hpp"

#include <algorithm>

#include "random_source.hpp"

namespace whistler::torture {

namespace {

class FrameWriter {
 public:
  explicit FrameWriter(RandomSource& rng) : rng_(rng) {}

  void u8(uint32_t v) { bytes_.push_back(static_cast<uint8_t>(v)); }
  void u16(uint32_t v) {
    u8(v >> 8);
    u8(v);
  }
  void u32(uint32_t v) {
    u16(v >> 16);
    u16(v & 0xffff);
  }
  void random_bytes(size_t n) {
    for (size_t i = 0; i < n; ++i) u8(static_cast<uint32_t>(rng_.below(256)));
  }
  size_t size() const { return bytes_.size(); }
  void put16_at(size_t at, uint32_t v) {
    bytes_[at] = static_cast<uint8_t>(v >> 8);
    bytes_[at + 1] = static_cast<uint8_t>(v);
  }
  uint16_t checksum(size_t from, size_t to) const {
    uint64_t sum = 0;
    for (size_t i = from; i < to; i += 2) {
      uint32_t hi = bytes_[i];
      uint32_t lo = i + 1 < to ? bytes_[i + 1] : 0;
      sum += (hi << 8) | lo;
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  RandomSource& rng_;
  std::vector<uint8_t> bytes_;
};

uint32_t interesting_port(RandomSource& rng) {
  static const uint32_t ports[] = {0, 22, 23, 53, 80, 443, 1024, 4789, 5353, 8080, 9999, 65535};
  return rng.chance(60) ? ports[rng.below(12)] : static_cast<uint32_t>(rng.below(65536));
}

enum class L4 { Tcp, Udp, Icmp, Other };

void write_l4(FrameWriter& w, RandomSource& rng, L4 l4, std::string& desc) {
  switch (l4) {
    case L4::Tcp:
      desc += "/tcp";
      w.u16(interesting_port(rng));
      w.u16(interesting_port(rng));
      w.u32(static_cast<uint32_t>(rng.next()));
      w.u32(static_cast<uint32_t>(rng.next()));
      w.u8(rng.chance(80) ? 0x50 : static_cast<uint32_t>(rng.below(256)));  // data offset
      w.u8(rng.chance(50) ? 0x02 : static_cast<uint32_t>(rng.below(256)));  // flags (SYN often)
      w.u16(static_cast<uint32_t>(rng.below(65536)));
      w.u16(static_cast<uint32_t>(rng.below(65536)));
      w.u16(0);
      break;
    case L4::Udp:
      desc += "/udp";
      w.u16(interesting_port(rng));
      w.u16(interesting_port(rng));
      w.u16(static_cast<uint32_t>(rng.chance(70) ? 8 + rng.below(64) : rng.below(65536)));
      w.u16(rng.chance(50) ? 0 : static_cast<uint32_t>(rng.below(65536)));
      break;
    case L4::Icmp:
      desc += "/icmp";
      w.u8(rng.chance(60) ? 8 : static_cast<uint32_t>(rng.below(256)));
      w.u8(static_cast<uint32_t>(rng.below(4)));
      w.u16(static_cast<uint32_t>(rng.below(65536)));
      w.u32(static_cast<uint32_t>(rng.next()));
      break;
    case L4::Other:
      desc += "/other";
      break;
  }
}

Frame well_formed_frame(RandomSource& rng) {
  Frame f;
  FrameWriter w(rng);
  // Ethernet: MACs, then up to two tags, then the EtherType.
  w.random_bytes(6);
  w.random_bytes(6);
  int tags = static_cast<int>(rng.weighted({6, 2, 1, 1}));
  for (int i = 0; i < tags; ++i) {
    w.u16(rng.chance(60) ? 0x8100 : 0x88a8);
    w.u16(static_cast<uint32_t>(rng.below(4096)));
    f.description += i == 0 ? "vlan " : "qinq ";
  }
  size_t l3 = w.size() + 2;
  switch (rng.weighted({10, 4, 1, 1})) {
    case 0: {  // IPv4
      w.u16(0x0800);
      L4 l4 = static_cast<L4>(rng.weighted({4, 4, 2, 1}));
      int ihl = rng.chance(75) ? 5 : static_cast<int>(rng.between(rng.chance(90) ? 5 : 0, 15));
      w.u8(static_cast<uint32_t>((rng.chance(95) ? 0x40 : 0x60) | ihl));
      w.u8(static_cast<uint32_t>(rng.below(256)));
      size_t total_len_at = w.size();
      w.u16(0);
      w.u16(static_cast<uint32_t>(rng.below(65536)));
      uint32_t frag = 0;
      if (rng.chance(20)) frag = static_cast<uint32_t>(rng.below(65536));  // fragments, DF, MF
      else if (rng.chance(20)) frag = 0x4000;
      w.u16(frag);
      w.u8(static_cast<uint32_t>(rng.chance(70) ? 64 : rng.below(256)));
      uint32_t proto = l4 == L4::Tcp ? 6 : l4 == L4::Udp ? 17 : l4 == L4::Icmp ? 1 : static_cast<uint32_t>(rng.below(256));
      w.u8(proto);
      size_t checksum_at = w.size();
      w.u16(0);
      w.u32(rng.chance(50) ? 0xc0000201 : static_cast<uint32_t>(rng.next()));
      w.u32(rng.chance(50) ? 0x0a000002 : static_cast<uint32_t>(rng.next()));
      if (ihl > 5) w.random_bytes(static_cast<size_t>(ihl - 5) * 4);
      f.description = "ipv4 " + f.description + "ihl=" + std::to_string(ihl) + (frag ? " frag" : "");
      write_l4(w, rng, l4, f.description);
      w.random_bytes(rng.chance(90) ? rng.below(64) : rng.below(1400));
      uint32_t total = static_cast<uint32_t>(w.size() - l3);
      w.put16_at(total_len_at, rng.chance(85) ? total : static_cast<uint32_t>(rng.below(65536)));
      if (ihl >= 5 && l3 + static_cast<size_t>(ihl) * 4 <= w.size())
        w.put16_at(checksum_at, rng.chance(85) ? w.checksum(l3, l3 + static_cast<size_t>(ihl) * 4)
                                               : static_cast<uint32_t>(rng.below(65536)));
      break;
    }
    case 1: {  // IPv6
      w.u16(0x86dd);
      L4 l4 = static_cast<L4>(rng.weighted({4, 4, 2, 1}));
      w.u32(0x60000000u | static_cast<uint32_t>(rng.below(1u << 20)));
      size_t payload_len_at = w.size();
      w.u16(0);
      uint32_t next = l4 == L4::Tcp ? 6 : l4 == L4::Udp ? 17 : l4 == L4::Icmp ? 58 : static_cast<uint32_t>(rng.below(256));
      w.u8(next);
      w.u8(static_cast<uint32_t>(rng.below(256)));
      w.random_bytes(32);
      f.description = "ipv6 " + f.description;
      write_l4(w, rng, l4, f.description);
      w.random_bytes(rng.below(64));
      w.put16_at(payload_len_at, static_cast<uint32_t>(w.size() - l3 - 40));
      break;
    }
    case 2:  // ARP
      w.u16(0x0806);
      w.u16(1);
      w.u16(0x0800);
      w.u8(6);
      w.u8(4);
      w.u16(static_cast<uint32_t>(rng.between(1, 2)));
      w.random_bytes(20);
      f.description = "arp " + f.description;
      break;
    default:  // some other EtherType
      w.u16(static_cast<uint32_t>(rng.below(65536)));
      w.random_bytes(rng.below(80));
      f.description = "ethertype " + f.description;
  }
  // Pad to the Ethernet minimum, as a NIC would, unless truncated below.
  while (w.size() < 60 && rng.chance(70)) w.u8(0);
  f.bytes = std::move(w.bytes());
  return f;
}

}  // namespace

std::vector<Frame> generate_frames(uint64_t seed, int count) {
  RandomSource rng(seed ^ 0x6672616d65730000ULL);  // "frames": independent of the program's stream
  std::vector<Frame> frames;
  for (int i = 0; i < count; ++i) {
    Frame f;
    if (rng.chance(12)) {
      size_t n = static_cast<size_t>(rng.between(14, rng.chance(80) ? 80 : 600));
      for (size_t b = 0; b < n; ++b) f.bytes.push_back(static_cast<uint8_t>(rng.below(256)));
      f.description = "random";
    } else {
      f = well_formed_frame(rng);
      if (rng.chance(30) && f.bytes.size() > 14) {
        size_t n = static_cast<size_t>(rng.between(14, static_cast<int64_t>(f.bytes.size()) - 1));
        f.bytes.resize(n);
        f.description += " trunc=" + std::to_string(n);
      }
    }
    while (f.bytes.size() < 14) f.bytes.push_back(0);
    frames.push_back(std::move(f));
  }
  return frames;
}

std::string frame_hex(const std::vector<uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

bool parse_frame_hex(const std::string& text, std::vector<uint8_t>& out) {
  out.clear();
  int high = -1;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else if (c == ' ' || c == ':') continue;
    else return false;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  return high < 0;
}

}  // namespace whistler::torture
