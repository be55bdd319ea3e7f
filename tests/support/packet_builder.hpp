// Test frames from a one-line description: a C++ port of /work/shared/pkt.py.
//
//   build_packet("tcp src=1.1.1.1 dst=10.0.0.2 sport=1234 dport=9999 flags=S vlan=10 ihl=6 trunc=40")
//
// KIND is one of
//   tcp udp icmp      Ethernet + IPv4 + transport header + payload
//   tcp6 udp6 icmp6   the same over IPv6 (icmp6 is pkt.py's: the ICMPv4 header with
//                     next header 1 unless proto= says otherwise, e.g. proto=58 type=128)
//   arp               Ethernet header (EtherType 0x0806) + 28 zero bytes, 42 bytes, never padded
//   raw               len=N zero bytes (default 64); "raw N" is accepted too
// KEY=VALUE pairs (defaults in brackets):
//   dmac smac     12 hex digits, ':' allowed          [02:00:00:00:00:02] [02:00:00:00:00:01]
//   vlan=TCI      one 802.1Q tag (0x8100) with this 16-bit TCI
//   qinq=O,I      802.1ad: outer tag 0x88a8 with TCI O, inner 0x8100 with TCI I (not in pkt.py)
//   src dst       addresses         [192.0.2.1] [192.0.2.2] / [2001:db8::1] [2001:db8::2]
//   sport dport   tcp/udp ports     [40000] [80]
//   flags         tcp flags from FSRPAU                                          [A]
//   plen          payload length in zero bytes                                   [8]
//   payload       payload as hex (instead of plen)
//   ttl           IPv4 TTL                                                       [64]
//   proto         IP protocol / IPv6 next header       [6 tcp, 17 udp, 1 icmp]
//   type          ICMP type                                                      [8]
//   ihl           IPv4 header length in words, 5..15; options are zero bytes     [5]
//   trunc=N       keep only the first N bytes (no padding then)
//   len=N         raw only: the frame length
// Frames shorter than 60 bytes are padded with zeros to 60 unless trunc= is given.
// The checksums are pkt.py's: IPv4 header checksum, ICMP checksum over header
// and payload; TCP and UDP checksums are 0.
//
// Every spec accepted gives the same bytes as pkt.py. Where pkt.py would
// silently ignore something (an unknown key, a key that does not apply to the
// kind, a repeated key, payload= with plen=) or crash, this throws
// std::invalid_argument naming the offending part.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace whistler::test {

std::vector<uint8_t> build_packet(const std::string& spec);

// Lower-case hex without separators, and back (spaces, ':' and '_' between
// digits are ignored when parsing; throws std::invalid_argument on bad input).
std::string to_hex(const std::vector<uint8_t>& bytes);
std::vector<uint8_t> parse_hex(const std::string& text);

}  // namespace whistler::test
