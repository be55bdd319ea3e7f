/* Twin of examples/packet-counter.lisp: count packets and bytes per
 * EtherType class in per-CPU arrays; pass every packet. */
#include "parsing_helpers.h"

#define SLOT_IPV4 0
#define SLOT_IPV6 1
#define SLOT_OTHER 2

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} bytes SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 slot = SLOT_OTHER;
	__u64 *value;

	if ((void *)(eth + 1) <= data_end) {
		if (ETH_PROTO(eth) == bpf_htons(ETH_P_IP))
			slot = SLOT_IPV4;
		else if (ETH_PROTO(eth) == bpf_htons(ETH_P_IPV6))
			slot = SLOT_IPV6;
	}
	value = bpf_map_lookup_elem(&packets, &slot);
	if (value)
		*value += 1;
	value = bpf_map_lookup_elem(&bytes, &slot);
	if (value)
		*value += data_end - data;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
