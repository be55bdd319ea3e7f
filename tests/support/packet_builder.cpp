#include "packet_builder.hpp"

#include <arpa/inet.h>

#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace whistler::test {

namespace {

[[noreturn]] void fail(const std::string& spec, const std::string& why) {
  throw std::invalid_argument("bad packet spec '" + spec + "': " + why);
}

std::vector<std::string> split_ws(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void put16(std::vector<uint8_t>& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}

uint16_t csum(const std::vector<uint8_t>& bytes, size_t from, size_t to) {
  uint64_t sum = 0;
  for (size_t i = from; i < to; i += 2) {
    uint32_t hi = bytes[i];
    uint32_t lo = i + 1 < to ? bytes[i + 1] : 0;
    sum += (hi << 8) | lo;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// Keys each kind uses; anything else pkt.py would ignore, so it is an error here.
const std::set<std::string>& keys_for(const std::string& kind) {
  static const std::set<std::string> l2 = {"dmac", "smac", "vlan", "qinq"};
  static const std::map<std::string, std::set<std::string>> table = [] {
    std::set<std::string> common = {"dmac", "smac", "vlan", "qinq", "src", "dst", "plen", "payload", "proto", "trunc"};
    std::set<std::string> v4 = common;
    v4.insert({"ttl", "ihl"});
    auto with = [](std::set<std::string> s, std::initializer_list<const char*> extra) {
      for (const char* e : extra) s.insert(e);
      return s;
    };
    return std::map<std::string, std::set<std::string>>{
        {"tcp", with(v4, {"sport", "dport", "flags"})},
        {"udp", with(v4, {"sport", "dport"})},
        {"icmp", with(v4, {"type"})},
        {"tcp6", with(common, {"sport", "dport", "flags"})},
        {"udp6", with(common, {"sport", "dport"})},
        {"icmp6", with(common, {"type"})},
        {"arp", l2},
        {"raw", {"len"}},
    };
  }();
  static const std::set<std::string> none;
  auto it = table.find(kind);
  return it == table.end() ? none : it->second;
}

}  // namespace

std::string to_hex(const std::vector<uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::vector<uint8_t> parse_hex(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (c == ' ' || c == ':' || c == '_' || c == '\t') continue;
    if (hex_digit(c) < 0) throw std::invalid_argument("'" + text + "' is not hex: unexpected '" + std::string(1, c) + "'");
    digits.push_back(c);
  }
  if (digits.size() % 2) throw std::invalid_argument("'" + text + "' has an odd number of hex digits");
  std::vector<uint8_t> out;
  for (size_t i = 0; i < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(hex_digit(digits[i]) * 16 + hex_digit(digits[i + 1])));
  return out;
}

std::vector<uint8_t> build_packet(const std::string& spec) {
  std::vector<std::string> words = split_ws(spec);
  if (words.empty()) fail(spec, "empty (expected a kind: tcp udp icmp tcp6 udp6 icmp6 arp raw)");
  const std::string kind = words[0];
  const std::set<std::string>& allowed = keys_for(kind);
  if (allowed.empty()) fail(spec, "unknown kind '" + kind + "' (expected tcp udp icmp tcp6 udp6 icmp6 arp raw)");

  std::map<std::string, std::string> a;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    size_t eq = w.find('=');
    if (eq == std::string::npos) {
      // pkt.py's usage line says "raw LEN".
      if (kind == "raw" && i == 1 && !w.empty() && w.find_first_not_of("0123456789") == std::string::npos &&
          words.size() == 2) {
        a["len"] = w;
        continue;
      }
      fail(spec, "'" + w + "' is not KEY=VALUE");
    }
    std::string key = w.substr(0, eq);
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& k : allowed) list += (list.empty() ? "" : " ") + k;
      fail(spec, "key '" + key + "' does not apply to " + kind + " (keys: " + list + ")");
    }
    if (!a.emplace(key, w.substr(eq + 1)).second) fail(spec, "key '" + key + "' given twice");
  }
  auto has = [&](const char* k) { return a.count(k) != 0; };
  auto number = [&](const char* key, const char* dflt, uint64_t max) -> uint64_t {
    std::string v = has(key) ? a.at(key) : dflt;
    if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos)
      fail(spec, std::string(key) + "=" + v + " is not a decimal number");
    uint64_t n = std::stoull(v);
    if (n > max) fail(spec, std::string(key) + "=" + v + " is out of range (at most " + std::to_string(max) + ")");
    return n;
  };
  auto mac = [&](const char* key, const char* dflt) {
    std::string v = has(key) ? a.at(key) : dflt;
    std::vector<uint8_t> m;
    try {
      m = parse_hex(v);
    } catch (const std::invalid_argument&) {
      fail(spec, std::string(key) + "=" + v + " is not a MAC address");
    }
    if (m.size() != 6) fail(spec, std::string(key) + "=" + v + " is not 6 bytes");
    return m;
  };

  if (kind == "raw") return std::vector<uint8_t>(number("len", "64", 1 << 20), 0);

  const bool six = kind.back() == '6';
  const std::string proto = six ? kind.substr(0, kind.size() - 1) : kind;
  const uint32_t etype = six ? 0x86DD : (kind == "arp" ? 0x0806 : 0x0800);

  std::vector<uint8_t> frame = mac("dmac", "020000000002");
  std::vector<uint8_t> smac = mac("smac", "020000000001");
  frame.insert(frame.end(), smac.begin(), smac.end());
  if (has("vlan") && has("qinq")) fail(spec, "vlan= and qinq= together (qinq= gives both tags)");
  if (has("vlan")) {
    put16(frame, 0x8100);
    put16(frame, static_cast<uint32_t>(number("vlan", "0", 0xffff)));
  }
  if (has("qinq")) {
    const std::string& v = a.at("qinq");
    size_t comma = v.find(',');
    auto tci = [&](const std::string& s) {
      if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos || std::stoul(s) > 0xffff)
        fail(spec, "qinq=" + v + " needs two 16-bit decimal TCIs, OUTER,INNER");
      return static_cast<uint32_t>(std::stoul(s));
    };
    if (comma == std::string::npos) fail(spec, "qinq=" + v + " needs two 16-bit decimal TCIs, OUTER,INNER");
    uint32_t outer = tci(v.substr(0, comma)), inner = tci(v.substr(comma + 1));
    put16(frame, 0x88A8);
    put16(frame, outer);
    put16(frame, 0x8100);
    put16(frame, inner);
  }
  put16(frame, etype);
  if (kind == "arp") {
    frame.resize(frame.size() + 28, 0);  // pkt.py: no padding, no truncation for ARP
    return frame;
  }

  if (has("payload") && has("plen")) fail(spec, "payload= and plen= together");
  std::vector<uint8_t> payload;
  if (has("payload")) {
    try {
      payload = parse_hex(a.at("payload"));
    } catch (const std::invalid_argument& e) {
      fail(spec, std::string("payload: ") + e.what());
    }
  } else {
    payload.assign(number("plen", "8", 65535), 0);
  }
  const uint32_t sport = static_cast<uint32_t>(number("sport", "40000", 0xffff));
  const uint32_t dport = static_cast<uint32_t>(number("dport", "80", 0xffff));

  std::vector<uint8_t> l4;
  uint32_t pnum = 0;
  if (proto == "tcp") {
    uint32_t flags = 0;
    for (char ch : (has("flags") ? a.at("flags") : std::string("A"))) {
      static const std::string letters = "FSRPAU";
      size_t bit = letters.find(ch);
      if (bit == std::string::npos) fail(spec, std::string("tcp flag '") + ch + "' is not one of F S R P A U");
      flags |= 1u << bit;
    }
    put16(l4, sport);
    put16(l4, dport);
    put32(l4, 1);           // seq
    put32(l4, 0);           // ack
    l4.push_back(5 << 4);   // data offset
    l4.push_back(static_cast<uint8_t>(flags));
    put16(l4, 65535);       // window
    put16(l4, 0);           // checksum
    put16(l4, 0);           // urgent pointer
    pnum = 6;
  } else if (proto == "udp") {
    if (8 + payload.size() > 0xffff) fail(spec, "UDP length exceeds 65535");
    put16(l4, sport);
    put16(l4, dport);
    put16(l4, static_cast<uint32_t>(8 + payload.size()));
    put16(l4, 0);
    pnum = 17;
  } else {  // icmp
    l4.push_back(static_cast<uint8_t>(number("type", "8", 255)));
    l4.push_back(0);
    put16(l4, 0);  // checksum, below
    put16(l4, 1);  // id
    put16(l4, 1);  // sequence
    pnum = 1;
  }
  l4.insert(l4.end(), payload.begin(), payload.end());
  if (proto == "icmp") {
    uint16_t c = csum(l4, 0, l4.size());
    l4[2] = static_cast<uint8_t>(c >> 8);
    l4[3] = static_cast<uint8_t>(c);
  }
  if (has("proto")) pnum = static_cast<uint32_t>(number("proto", "0", 255));

  if (six) {
    uint8_t src[16], dst[16];
    std::string s = has("src") ? a.at("src") : "2001:db8::1";
    std::string d = has("dst") ? a.at("dst") : "2001:db8::2";
    if (inet_pton(AF_INET6, s.c_str(), src) != 1) fail(spec, "src=" + s + " is not an IPv6 address");
    if (inet_pton(AF_INET6, d.c_str(), dst) != 1) fail(spec, "dst=" + d + " is not an IPv6 address");
    if (l4.size() > 0xffff) fail(spec, "IPv6 payload length exceeds 65535");
    put32(frame, 6u << 28);
    put16(frame, static_cast<uint32_t>(l4.size()));
    frame.push_back(static_cast<uint8_t>(pnum));
    frame.push_back(64);
    frame.insert(frame.end(), src, src + 16);
    frame.insert(frame.end(), dst, dst + 16);
  } else {
    uint8_t src[4], dst[4];
    std::string s = has("src") ? a.at("src") : "192.0.2.1";
    std::string d = has("dst") ? a.at("dst") : "192.0.2.2";
    if (inet_pton(AF_INET, s.c_str(), src) != 1) fail(spec, "src=" + s + " is not an IPv4 address");
    if (inet_pton(AF_INET, d.c_str(), dst) != 1) fail(spec, "dst=" + d + " is not an IPv4 address");
    uint32_t ihl = static_cast<uint32_t>(number("ihl", "5", 255));
    if (ihl < 5 || ihl > 15) fail(spec, "ihl=" + a.at("ihl") + " is outside 5..15 (use a hex packet for malformed headers)");
    uint32_t opts = 4 * (ihl - 5);
    uint32_t total = 20 + opts + static_cast<uint32_t>(l4.size());
    if (total > 0xffff) fail(spec, "IPv4 total length exceeds 65535");
    size_t start = frame.size();
    frame.push_back(static_cast<uint8_t>((4 << 4) | ihl));
    frame.push_back(0);  // tos
    put16(frame, total);
    put16(frame, 1);     // id
    put16(frame, 0);     // fragment
    frame.push_back(static_cast<uint8_t>(number("ttl", "64", 255)));
    frame.push_back(static_cast<uint8_t>(pnum));
    put16(frame, 0);     // checksum, below
    frame.insert(frame.end(), src, src + 4);
    frame.insert(frame.end(), dst, dst + 4);
    frame.resize(frame.size() + opts, 0);
    uint16_t c = csum(frame, start, frame.size());
    frame[start + 10] = static_cast<uint8_t>(c >> 8);
    frame[start + 11] = static_cast<uint8_t>(c);
  }
  frame.insert(frame.end(), l4.begin(), l4.end());
  if (has("trunc")) {
    uint64_t n = number("trunc", "0", 1 << 20);
    if (n < frame.size()) frame.resize(n);
  } else if (frame.size() < 60) {
    frame.resize(60, 0);
  }
  return frame;
}

}  // namespace whistler::test
