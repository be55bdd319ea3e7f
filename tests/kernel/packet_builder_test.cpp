// packet_builder: byte-for-byte agreement with /work/shared/pkt.py. The hex
// strings below were printed by `python3 pkt.py SPEC` (the qinq ones, which
// pkt.py does not know, are its vlan= frames with the second tag spliced in).
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "packet_builder.hpp"

using whistler::test::build_packet;
using whistler::test::parse_hex;
using whistler::test::to_hex;

namespace {

struct Reference {
  const char* spec;
  const char* hex;
};

const Reference kReference[] = {
    {"tcp src=1.1.1.1 dst=10.0.0.2 sport=1234 dport=9999 flags=S",
     "0200000000020200000000010800450000300001000040066ec4010101010a00000204d2270f00000001000000005002ffff000000000000000000000000"},
    {"tcp dport=9999 vlan=10 ihl=6",
     "0200000000020200000000018100000a080046000034000100004006f5bfc0000201c0000202000000009c40270f00000001000000005010ffff000000000000000000000000"},
    {"tcp dport=9999 trunc=40", "020000000002020000000001080045000030000100004006f6c3c0000201c00002029c40270f0000"},
    {"udp dport=53 payload=deadbeef",
     "020000000002020000000001080045000020000100004011f6c8c0000201c00002029c400035000c0000deadbeef0000000000000000000000000000"},
    {"udp6 dport=53 src=2001:db8::5 dst=fe80::1",
     "02000000000202000000000186dd600000000010114020010db8000000000000000000000005fe8000000000000000000000000000019c400035001000000000000000000000"},
    {"tcp6 dport=22 flags=SA plen=3",
     "02000000000202000000000186dd600000000017064020010db800000000000000000000000120010db80000000000000000000000029c40001600000001000000005012ffff00000000000000"},
    {"icmp type=0 ttl=1",
     "02000000000202000000000108004500002400010000010135d5c0000201c00002020000fffd00010001000000000000000000000000000000000000"},
    {"icmp payload=01020304050607",
     "020000000002020000000001080045000023000100004001f6d5c0000201c00002020800e7f100010001010203040506070000000000000000000000"},
    {"arp", "020000000002020000000001080600000000000000000000000000000000000000000000000000000000"},
    {"raw len=20", "0000000000000000000000000000000000000000"},
    {"raw len=14", "0000000000000000000000000000"},
    {"tcp proto=17 dmac=ff:ff:ff:ff:ff:ff smac=aabbccddeeff flags=FSRPAU",
     "ffffffffffffaabbccddeeff080045000030000100004011f6b8c0000201c00002029c4000500000000100000000503fffff000000000000000000000000"},
    {"udp plen=0 ihl=15",
     "02000000000202000000000108004f000044000100004011eca4c0000201c0000202000000000000000000000000000000000000000000000000000000000000000000000000000000009c40005000080000"},
    {"icmp6",
     "02000000000202000000000186dd600000000010014020010db800000000000000000000000120010db80000000000000000000000020800f7fd000100010000000000000000"},
    {"icmp6 proto=58 type=128",
     "02000000000202000000000186dd6000000000103a4020010db800000000000000000000000120010db800000000000000000000000280007ffd000100010000000000000000"},
    {"tcp ttl=255 plen=100",
     "02000000000202000000000108004500008c00010000ff063767c0000201c00002029c40005000000001000000005010ffff00000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000"},
    {"udp plen=0", "02000000000202000000000108004500001c000100004011f6ccc0000201c00002029c40005000080000000000000000000000000000000000000000"},
    {"udp payload=", "02000000000202000000000108004500001c000100004011f6ccc0000201c00002029c40005000080000000000000000000000000000000000000000"},
    {"udp plen=0 vlan=100",
     "0200000000020200000000018100006408004500001c000100004011f6ccc0000201c00002029c400050000800000000000000000000000000000000"},
    {"tcp6 dport=9999 trunc=70",
     "02000000000202000000000186dd60000000001c064020010db800000000000000000000000120010db80000000000000000000000029c40270f00000001000000005010ffff"},
    // 802.1ad (not in pkt.py): outer 0x88a8 tag, then the 0x8100 tag.
    {"tcp dport=9999 qinq=100,10",
     "02000000000202000000000188a800648100000a0800450000300001000040 06f6c3c0000201c00002029c40270f00000001000000005010ffff000000000000000000000000"},
    {"udp plen=0 qinq=1,2",
     "02000000000202000000000188a80001810000020800"
     "4500001c000100004011f6ccc0000201c00002029c40005000080000"
     "00000000000000000000"},
};

}  // namespace

TEST_CASE("packet_builder: same bytes as pkt.py") {
  for (const Reference& r : kReference) {
    std::string spec = r.spec;
    CAPTURE(spec);
    std::string want;
    for (char c : std::string(r.hex))
      if (c != ' ') want.push_back(c);
    CHECK(to_hex(build_packet(r.spec)) == want);
  }
}

TEST_CASE("packet_builder: frames are padded to 60 bytes unless truncated") {
  CHECK(build_packet("udp plen=0").size() == 60);
  CHECK(build_packet("udp plen=0 trunc=100").size() == 42);  // trunc beyond the end: unpadded, as pkt.py
  CHECK(build_packet("tcp trunc=14").size() == 14);
  CHECK(build_packet("tcp trunc=0").empty());
  CHECK(build_packet("arp").size() == 42);  // pkt.py never pads ARP
  CHECK(build_packet("raw 30").size() == 30);  // the "pkt.py raw LEN" spelling of its usage line
  CHECK(build_packet("raw").size() == 64);
}

TEST_CASE("packet_builder: hex helpers") {
  CHECK(parse_hex("de:ad be_ef") == std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef});
  CHECK(to_hex({0x00, 0x0f, 0xf0}) == "000ff0");
  CHECK_THROWS_AS(parse_hex("abc"), std::invalid_argument);
  CHECK_THROWS_AS(parse_hex("zz"), std::invalid_argument);
}

TEST_CASE("packet_builder: bad specs throw invalid_argument naming the problem") {
  auto message = [](const std::string& spec) -> std::string {
    try {
      build_packet(spec);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no exception";
  };
  auto has = [](const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; };
  CHECK(has(message(""), "empty"));
  CHECK(has(message("sctp"), "unknown kind 'sctp'"));
  CHECK(has(message("tcp dprt=9999"), "key 'dprt' does not apply to tcp"));
  CHECK(has(message("tcp dport=70000"), "dport=70000 is out of range"));
  CHECK(has(message("tcp dport=x"), "dport=x is not a decimal number"));
  CHECK(has(message("tcp flags=SX"), "tcp flag 'X'"));
  CHECK(has(message("tcp src=1.2.3"), "src=1.2.3 is not an IPv4 address"));
  CHECK(has(message("tcp6 dst=10.0.0.1"), "dst=10.0.0.1 is not an IPv6 address"));
  CHECK(has(message("tcp ihl=4"), "ihl=4 is outside 5..15"));
  CHECK(has(message("tcp ihl=16"), "ihl=16 is outside 5..15"));
  CHECK(has(message("tcp6 ihl=6"), "key 'ihl' does not apply to tcp6"));
  CHECK(has(message("tcp6 ttl=1"), "key 'ttl' does not apply to tcp6"));
  CHECK(has(message("arp dport=1"), "key 'dport' does not apply to arp"));
  CHECK(has(message("arp trunc=20"), "key 'trunc' does not apply to arp"));
  CHECK(has(message("raw len=20 vlan=1"), "key 'vlan' does not apply to raw"));
  CHECK(has(message("tcp dport=1 dport=2"), "key 'dport' given twice"));
  CHECK(has(message("tcp plen=4 payload=00"), "payload= and plen= together"));
  CHECK(has(message("udp payload=abc"), "payload"));
  CHECK(has(message("tcp dmac=0200"), "dmac=0200 is not 6 bytes"));
  CHECK(has(message("tcp smac=zz0000000000"), "smac=zz0000000000 is not a MAC address"));
  CHECK(has(message("tcp vlan=10 qinq=1,2"), "vlan= and qinq= together"));
  CHECK(has(message("tcp qinq=1"), "qinq=1 needs two"));
  CHECK(has(message("tcp qinq=1,70000"), "qinq=1,70000 needs two"));
  CHECK(has(message("tcp trunc=-1"), "trunc=-1 is not a decimal number"));
  CHECK(has(message("tcp 9999"), "'9999' is not KEY=VALUE"));
  CHECK(has(message("udp plen=70000"), "plen=70000 is out of range"));
  CHECK(has(message("udp plen=65530"), "exceeds 65535"));
  // The message quotes the whole spec.
  CHECK(has(message("tcp dport=x"), "bad packet spec 'tcp dport=x'"));
}
