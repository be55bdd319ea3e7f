"""Per example: the map contents its programs need, the maps compared after
the equivalence run, and the representative frames each program is timed on.

Every example in examples/ needs an entry here and a C twin in
bench/c/NAME.bpf.c; the driver refuses to run otherwise."""

import ipaddress
import struct


def u32(v):
    return struct.pack("<I", v).hex()


def ip4(addr):
    return ipaddress.IPv4Address(addr).packed.hex()


def ip6(addr):
    return ipaddress.IPv6Address(addr).packed.hex()


# Frames timed by default when a program lists none.
DEFAULT_TIMING = ["tcp-80"]

# name -> spec. Keys of a spec:
#   setup       map updates applied once after loading
#   cases       [(label, program, setup)] run in order over every frame in
#               equivalence mode (default: each program, no extra setup)
#   dump_maps   maps whose whole contents must be equal afterwards
#   mask        {map: [(offset, length)]} value bytes not compared (timestamps)
#   record_len  ring buffer record bytes compared (the rest is padding)
#   timing      {program: [frame name or (frame name, {"repeat": N, "calls": M})]}
#   not_runnable {program: reason} programs BPF_PROG_TEST_RUN refuses
EXAMPLES = {
    "check-len": {
        "timing": {"check_len": ["tcp-80"]},
    },
    "devmap-redirect": {
        "cases": [
            ("no entry: XDP_PASS", "redirect_ports", []),
            # Test runs arrive on the loopback device (ifindex 1).
            ("entry for lo: XDP_REDIRECT", "redirect_ports", [{"map": "tx_ports", "key": u32(1), "value": u32(1) + u32(0)}]),
        ],
        "dump_maps": ["tx_ports"],
        "timing": {"redirect_ports": ["tcp-80"]},
        "timing_setup": [{"map": "tx_ports", "key": u32(1), "value": u32(1) + u32(0)}],
        "not_runnable": {
            "mark_egress": "a devmap program (expected attach type BPF_XDP_DEVMAP): the kernel refuses "
                           "BPF_PROG_TEST_RUN for it (EINVAL); the kernel tests attach it through a devmap entry",
        },
    },
    "drop-8080": {
        "timing": {"drop_ingress_port_8080": ["tcp-80", ("vlan-tcp-8080", {"repeat": 100000}), "ipv6-tcp"]},
    },
    "drop9999": {
        "timing": {"drop_9999": ["tcp-9999", "tcp-80", "qinq-tcp-9999"]},
    },
    "flow-export": {
        "record_len": 13,
        # 500,000 records fit the 16 MiB ring buffer; it is drained after every run.
        "timing": {"xdp_extract_metadata": [("tcp-80", {"repeat": 500000}), ("icmp-echo-other", {"repeat": 500000}),
                                            ("arp", {"repeat": 500000})]},
    },
    "icmp-lb": {
        "dump_maps": ["rr_map", "backend_map"],
        # The balanced path rewrites the frame, so the kernel's next iteration
        # would see a frame for a backend: that path is timed as many single runs.
        "timing": {"icmp_lb": [("icmp-echo-lb", {"repeat": 1, "calls": 20001}), "icmp-echo-other", "tcp-80"]},
    },
    "ip-blocklist": {
        "setup": [{"map": "blocklist", "key": ip4("10.1.2.3"), "value": u32(1) + u32(0)}],
        "dump_maps": ["blocklist"],
        "timing": {"xdp_ip_filter": ["blocked-tcp", "tcp-80", "vlan-blocked"]},
    },
    "ipv6-filter": {
        "setup": [{"map": "blocked6", "key": ip6("2001:db8::1"), "value": "01"}],
        "dump_maps": ["blocked6"],
        "timing": {"ipv6_filter": ["ipv6-blocked", "ipv6-ping", "ipv6-tcp", "tcp-80"]},
    },
    "jumbo-counter": {
        "dump_maps": ["frame_sizes"],
        "timing": {"jumbo_counter": ["udp-9", "udp-1234", "jumbo-udp-1234"]},
    },
    "packet-counter": {
        "dump_maps": ["packets", "bytes"],
        "timing": {"count_packets": ["tcp-80", "ipv6-tcp", "arp"]},
    },
    "port-filter": {
        "timing": {"block_telnet": ["tcp-23", "tcp-80"], "block_dns": ["udp-53", "udp-1234"]},
    },
    "prefix-blocklist": {
        "setup": [{"map": "blocked_prefix", "key": u32(8) + ip4("10.0.0.0"), "value": u32(1) + u32(0)}],
        "dump_maps": ["blocked_prefix"],
        "timing": {"prefix_filter": ["blocked-prefix-udp", "tcp-80"]},
    },
    "syn-limiter": {
        "dump_maps": ["syn_windows"],
        "mask": {"syn_windows": [(0, 8)]},  # the window's start time
        "timing": {"syn_limiter": ["tcp-syn", "tcp-80"]},
    },
    "tail-call-dispatch": {
        "setup": [
            {"map": "jump_table", "key": u32(6), "program": "handle_tcp"},
            {"map": "jump_table", "key": u32(17), "program": "handle_udp"},
        ],
        "dump_maps": ["udp_packets"],
        "timing": {"dispatch": ["tcp-23", "udp-53", "icmp-echo-other"], "handle_tcp": ["tcp-23", "tcp-80"],
                   "handle_udp": ["udp-53"]},
    },
}
