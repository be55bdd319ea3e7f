/* Twin of examples/ipv6-filter.lisp: drop packets from sources in `blocked6`
 * and ICMPv6 echo requests; pass everything else. As in the example the key
 * is built on the stack, and the ICMPv6 test needs only the type byte. */
#include "parsing_helpers.h"

#define ICMPV6_ECHO_REQUEST 128

struct in6_key {
	__u64 hi; /* first 8 bytes, as in the packet */
	__u64 lo;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct in6_key);
	__type(value, __u8);
} blocked6 SEC(".maps");

SEC("xdp")
int ipv6_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6h = parse_ip6hdr(data, data_end);
	struct in6_key source;
	__u8 *icmp_type;

	if (!ip6h)
		return XDP_PASS;
	__builtin_memcpy(&source, &ip6h->saddr, sizeof(source));
	if (bpf_map_lookup_elem(&blocked6, &source))
		return XDP_DROP;
	if (ip6h->nexthdr == IPPROTO_ICMPV6) {
		icmp_type = (void *)(ip6h + 1);
		if ((void *)(icmp_type + 1) > data_end)
			return XDP_PASS;
		if (*icmp_type == ICMPV6_ECHO_REQUEST)
			return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
