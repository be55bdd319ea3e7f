/* Twin of examples/ip-blocklist.lisp (seeds 001 and 002): drop packets whose
 * IPv4 source is in `blocklist`. One 802.1Q/802.1ad tag is stepped over; a
 * frame cut short inside the bytes the program reads is XDP_ABORTED. Like the
 * Whistler program, the source address in the packet is the lookup key and
 * the frame must reach the end of that address (not of the whole header). */
#include "parsing_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} blocklist SEC(".maps");

SEC("xdp/xdp_ip_filter")
int xdp_ip_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u64 offset = sizeof(*eth);
	struct iphdr *iph;
	__be16 eth_type;

	if (data + offset > data_end)
		return XDP_ABORTED;
	eth_type = ETH_PROTO(eth);
	if (eth_type == bpf_htons(ETH_P_8021Q) || eth_type == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan_hdr = data + offset;

		offset += sizeof(*vlan_hdr);
		if (data + offset > data_end)
			return XDP_ABORTED;
		eth_type = vlan_hdr->h_vlan_encapsulated_proto;
	}
	if (eth_type != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = data + offset;
	if ((void *)(&iph->saddr + 1) > data_end)
		return XDP_ABORTED;
	if (bpf_map_lookup_elem(&blocklist, &iph->saddr))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
