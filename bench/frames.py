"""Crafted Ethernet frames for the equivalence checks and the timings."""

import ipaddress
import struct

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8

DST_MAC = bytes.fromhex("020000000001")
SRC_MAC = bytes.fromhex("020000000002")


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def eth(ethertype, payload, tags=()):
    """An Ethernet frame; `tags` are (TPID, VID) pairs, outermost first."""
    out = DST_MAC + SRC_MAC
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, options=b"", ihl=None, ttl=64, frag_off=0x4000):
    """An IPv4 header with a valid checksum; `ihl` overrides the length field,
    `frag_off` is the flags and fragment offset field (default: DF)."""
    if len(options) % 4:
        options += b"\0" * (4 - len(options) % 4)
    header_len = 20 + len(options)
    ihl = header_len // 4 if ihl is None else ihl
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, header_len + len(payload), 0x1234, frag_off, ttl, proto, 0,
                         ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(src, dst, nexthdr, payload, hop_limit=64):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nexthdr, hop_limit,
                       ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed) + payload


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp(sport, dport, flags=TCP_ACK, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(type_, code=0, payload=b"abcdefgh"):
    body = struct.pack("!BBHHH", type_, code, 0, 0x42, 1) + payload
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def icmp6(type_, code=0, payload=b"abcdefgh"):
    return struct.pack("!BBHHH", type_, code, 0, 0x42, 1) + payload


LB_IP = "192.168.122.238"
CLIENT_IP = "192.168.122.1"
BLOCKED_IP = "10.1.2.3"
BLOCKED_IP6 = "2001:db8::1"
OTHER_IP6 = "2001:db8::2"
IP_OPTIONS = bytes([0x94, 0x04, 0x00, 0x00])  # router alert, one option word
LONG_OPTIONS = bytes([0x01] * 7 + [0x00])       # NOPs and EOL, two words


def tcp4(dport, src=CLIENT_IP, flags=TCP_ACK, **kw):
    return ipv4(src, "192.168.122.10", 6, tcp(40000, dport, flags), **kw)


def udp4(dport, src=CLIENT_IP, **kw):
    return ipv4(src, "192.168.122.10", 17, udp(40000, dport, b"payload!"), **kw)


def base_frames():
    """(name, frame) pairs covering every path of the examples: protocols,
    ports, VLAN/QinQ tags, IPv4 options, malformed IHL, blocked sources."""
    vlan = ((ETH_P_8021Q, 100),)
    qinq = ((ETH_P_8021AD, 10), (ETH_P_8021Q, 100))
    triple = ((ETH_P_8021AD, 10), (ETH_P_8021Q, 100), (ETH_P_8021Q, 200))
    frames = [
        ("tcp-9999", eth(ETH_P_IP, tcp4(9999))),
        ("tcp-8080", eth(ETH_P_IP, tcp4(8080))),
        ("tcp-23", eth(ETH_P_IP, tcp4(23))),
        ("tcp-80", eth(ETH_P_IP, tcp4(80))),
        ("tcp-syn", eth(ETH_P_IP, tcp4(80, flags=TCP_SYN))),
        ("tcp-synack", eth(ETH_P_IP, tcp4(80, flags=TCP_SYN | TCP_ACK))),
        ("udp-53", eth(ETH_P_IP, udp4(53))),
        ("udp-9", eth(ETH_P_IP, udp4(9))),
        ("udp-1234", eth(ETH_P_IP, udp4(1234))),
        ("icmp-echo-lb", eth(ETH_P_IP, ipv4(CLIENT_IP, LB_IP, 1, icmp(8)))),
        ("icmp-echo-other", eth(ETH_P_IP, ipv4(CLIENT_IP, "192.168.122.10", 1, icmp(8)))),
        ("tcp-to-lb", eth(ETH_P_IP, ipv4(CLIENT_IP, LB_IP, 6, tcp(40000, 80)))),
        ("gre", eth(ETH_P_IP, ipv4(CLIENT_IP, "192.168.122.10", 47, b"\0" * 12))),
        ("opts-tcp-9999", eth(ETH_P_IP, tcp4(9999, options=IP_OPTIONS))),
        ("opts-tcp-23", eth(ETH_P_IP, tcp4(23, options=LONG_OPTIONS))),
        ("opts-udp-53", eth(ETH_P_IP, udp4(53, options=IP_OPTIONS))),
        ("opts-udp-9", eth(ETH_P_IP, udp4(9, options=LONG_OPTIONS))),
        ("opts-icmp-lb", eth(ETH_P_IP, ipv4(CLIENT_IP, LB_IP, 1, icmp(8), options=IP_OPTIONS))),
        # A later fragment carries payload, not ports; the first one (MF set) carries the header.
        ("frag-tcp-9999", eth(ETH_P_IP, tcp4(9999, frag_off=0x00b9))),
        ("frag-udp-53", eth(ETH_P_IP, udp4(53, frag_off=0x2001))),
        ("first-frag-tcp-9999", eth(ETH_P_IP, tcp4(9999, frag_off=0x2000))),
        ("ihl0-tcp", eth(ETH_P_IP, tcp4(9999, ihl=0))),
        ("ihl3-udp", eth(ETH_P_IP, udp4(53, ihl=3))),
        ("ihl15-tcp", eth(ETH_P_IP, tcp4(9999, ihl=15) + b"\0" * 64)),
        ("vlan-tcp-9999", eth(ETH_P_IP, tcp4(9999), vlan)),
        ("vlan-tcp-8080", eth(ETH_P_IP, tcp4(8080), vlan)),
        ("vlan-udp-53", eth(ETH_P_IP, udp4(53), vlan)),
        ("vlan-icmp-lb", eth(ETH_P_IP, ipv4(CLIENT_IP, LB_IP, 1, icmp(8)), vlan)),
        ("vlan-blocked", eth(ETH_P_IP, tcp4(80, src=BLOCKED_IP), vlan)),
        ("vlan-syn", eth(ETH_P_IP, tcp4(80, src="192.168.122.77", flags=TCP_SYN), vlan)),
        ("qinq-tcp-9999", eth(ETH_P_IP, tcp4(9999), qinq)),
        ("qinq-udp-9", eth(ETH_P_IP, udp4(9), qinq)),
        ("qinq-blocked", eth(ETH_P_IP, tcp4(80, src=BLOCKED_IP), qinq)),
        ("qinq-icmp-lb", eth(ETH_P_IP, ipv4(CLIENT_IP, LB_IP, 1, icmp(8)), qinq)),
        ("qinq-ipv6-ping", eth(ETH_P_IPV6, ipv6(OTHER_IP6, "2001:db8::99", 58, icmp6(128)), qinq)),
        ("triple-tcp-9999", eth(ETH_P_IP, tcp4(9999), triple)),
        ("triple-blocked", eth(ETH_P_IP, tcp4(80, src=BLOCKED_IP), triple)),
        ("blocked-tcp", eth(ETH_P_IP, tcp4(80, src=BLOCKED_IP))),
        ("blocked-prefix-udp", eth(ETH_P_IP, udp4(1234, src="10.200.0.1"))),
        ("blocked-syn", eth(ETH_P_IP, tcp4(80, src=BLOCKED_IP, flags=TCP_SYN))),
        ("ipv6-tcp", eth(ETH_P_IPV6, ipv6(OTHER_IP6, "2001:db8::99", 6, tcp(40000, 9999)))),
        ("ipv6-ping", eth(ETH_P_IPV6, ipv6(OTHER_IP6, "2001:db8::99", 58, icmp6(128)))),
        ("ipv6-pong", eth(ETH_P_IPV6, ipv6(OTHER_IP6, "2001:db8::99", 58, icmp6(129)))),
        ("ipv6-blocked", eth(ETH_P_IPV6, ipv6(BLOCKED_IP6, "2001:db8::99", 17, udp(1, 2)))),
        ("vlan-ipv6-ping", eth(ETH_P_IPV6, ipv6(OTHER_IP6, "2001:db8::99", 58, icmp6(128)), vlan)),
        ("arp", eth(ETH_P_ARP, bytes(28))),
        ("ipv4-header-only", eth(ETH_P_IP, b"")),
        ("jumbo-udp-9", eth(ETH_P_IP, ipv4(CLIENT_IP, "192.168.122.10", 17, udp(40000, 9, bytes(1600))))),
        ("jumbo-udp-1234", eth(ETH_P_IP, ipv4(CLIENT_IP, "192.168.122.10", 17, udp(40000, 1234, bytes(1600))))),
    ]
    return frames


def with_truncations(frames, limit=None):
    """Each frame whole, then cut short at every length from 14 bytes (the
    kernel's minimum for a test run) up to its length; `limit` caps the
    lengths tried for long frames."""
    out = []
    for name, frame in frames:
        out.append((name, frame))
        top = len(frame) if limit is None else min(len(frame), limit)
        for n in range(14, top):
            out.append((f"{name}[:{n}]", frame[:n]))
    return out
