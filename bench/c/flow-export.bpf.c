/* Twin of examples/flow-export.lisp (seed 003): send each IPv4 packet's
 * addresses, ports and protocol to user space through a ring buffer; pass
 * every packet. VLAN tags and IPv4 options are honoured, as in the example. */
#include "parsing_helpers.h"

struct flow_meta {
	__u32 src_ip;   /* network order, as in the packet */
	__u32 dst_ip;
	__u16 src_port; /* network order; 0 for protocols without ports */
	__u16 dst_port;
	__u8 protocol;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} ringbuf SEC(".maps");

SEC("xdp")
int xdp_extract_metadata(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = parse_iphdr(data, data_end);
	struct flow_meta *meta;
	__u16 src_port = 0, dst_port = 0;

	if (!iph)
		return XDP_PASS;
	if (iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP) {
		struct udphdr *uh = ip_payload(iph);

		if ((void *)(uh + 1) > data_end)
			return XDP_PASS;
		src_port = uh->source;
		dst_port = uh->dest;
	}
	meta = bpf_ringbuf_reserve(&ringbuf, sizeof(*meta), 0);
	if (!meta)
		return XDP_PASS;
	meta->src_ip = iph->saddr;
	meta->dst_ip = iph->daddr;
	meta->src_port = src_port;
	meta->dst_port = dst_port;
	meta->protocol = iph->protocol;
	bpf_ringbuf_submit(meta, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
