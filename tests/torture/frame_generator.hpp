// Random test frames for the -O0/-O2 differential runs: well-formed
// Ethernet frames (untagged, 802.1Q, QinQ) carrying IPv4 (with options and
// fragments), IPv6, TCP, UDP, ICMP or ARP with random field values, some
// truncated to any length >= 14, and some pure random bytes. Deterministic:
// the same seed gives the same frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace whistler::torture {

struct Frame {
  std::vector<uint8_t> bytes;  // at least 14 bytes (BPF_PROG_TEST_RUN refuses less)
  std::string description;     // "ipv4/udp vlan ihl=7 trunc=31"
};

std::vector<Frame> generate_frames(uint64_t seed, int count);

std::string frame_hex(const std::vector<uint8_t>& bytes);
bool parse_frame_hex(const std::string& text, std::vector<uint8_t>& out);

}  // namespace whistler::torture
