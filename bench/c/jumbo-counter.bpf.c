/* Twin of examples/jumbo-counter.lisp: multi-buffer XDP; count frames by
 * size and drop UDP to port 9, reading the ports with bpf_xdp_load_bytes. */
#include "parsing_helpers.h"

#define SLOT_NORMAL 0
#define SLOT_JUMBO 1 /* frames over 1500 bytes of payload */

struct udp_ports {
	__u16 src;
	__u16 dst;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} frame_sizes SEC(".maps");

SEC("xdp.frags")
int jumbo_counter(struct xdp_md *ctx)
{
	__u32 slot = bpf_xdp_get_buff_len(ctx) > 1514 ? SLOT_JUMBO : SLOT_NORMAL;
	struct udp_ports ports;
	struct iphdr *iph;
	__u64 *count;
	void *data, *data_end;

	count = bpf_map_lookup_elem(&frame_sizes, &slot);
	if (count)
		*count += 1;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	iph = parse_iphdr(data, data_end);
	if (!iph || iph->protocol != IPPROTO_UDP)
		return XDP_PASS;
	if (bpf_xdp_load_bytes(ctx, (void *)iph - data + iph->ihl * 4, &ports, sizeof(ports)) == 0 &&
	    ports.dst == bpf_htons(9))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
