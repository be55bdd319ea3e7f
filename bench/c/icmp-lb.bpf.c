/* Twin of examples/icmp-lb.lisp (seed 003): round-robin ICMP load balancer.
 * Like the Whistler example it is VLAN-aware and updates the IPv4 checksum
 * incrementally (RFC 1624) instead of recomputing it with bpf_csum_diff. */
#include "parsing_helpers.h"

#define LB_IP 0xC0A87AEE       /* 192.168.122.238 */
#define BACKEND0_IP 0xC0A87A58 /* 192.168.122.88 */
#define BACKEND1_IP 0xC0A87AD7 /* 192.168.122.215 */

struct backend {
	__u32 ip; /* network order, as in the packet */
	unsigned char mac[ETH_ALEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rr_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct backend);
} backend_map SEC(".maps");

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* RFC 1624 update of a checksum for a 32-bit field changing from -> to (all
 * as stored in the packet). */
static __always_inline __u16 csum_replace4(__u16 csum, __u32 from, __u32 to)
{
	__u32 sum = (__u16)~csum + (~from & 0xffff) + (~from >> 16) + (to & 0xffff) + (to >> 16);

	return ~csum_fold(sum);
}

SEC("xdp")
int icmp_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = parse_iphdr(data, data_end);
	struct backend *be;
	__u32 key = 0, index, old, new;
	__u32 *slot;

	if (!iph || iph->daddr != bpf_htonl(LB_IP) || iph->protocol != IPPROTO_ICMP)
		return XDP_PASS;

	/* The backends, on first use. */
	be = bpf_map_lookup_elem(&backend_map, &key);
	if (be && be->ip == 0) {
		struct backend be0 = {
			.ip = bpf_htonl(BACKEND0_IP),
			.mac = {0x52, 0x54, 0x00, 0xff, 0xff, 0x55},
		};
		struct backend be1 = {
			.ip = bpf_htonl(BACKEND1_IP),
			.mac = {0x52, 0x54, 0x00, 0x5d, 0x6e, 0xa1},
		};

		bpf_map_update_elem(&backend_map, &key, &be0, BPF_ANY);
		key = 1;
		bpf_map_update_elem(&backend_map, &key, &be1, BPF_ANY);
		key = 0;
	}

	/* Next backend, round robin. */
	slot = bpf_map_lookup_elem(&rr_map, &key);
	if (!slot)
		return XDP_PASS;
	index = *slot;
	*slot = (index + 1) % 2;
	be = bpf_map_lookup_elem(&backend_map, &index);
	if (!be)
		return XDP_PASS;
	old = iph->daddr;
	new = be->ip;
	iph->daddr = new;
	iph->check = csum_replace4(iph->check, old, new);
	__builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
