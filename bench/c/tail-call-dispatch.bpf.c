/* Twin of examples/tail-call-dispatch.lisp: jump to a per-protocol program
 * through a prog-array indexed by the IPv4 protocol number. */
#include "parsing_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 256);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} jump_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} udp_packets SEC(".maps");

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = parse_iphdr(data, data_end);

	if (iph)
		bpf_tail_call(ctx, &jump_table, iph->protocol);
	return XDP_PASS;
}

/* TCP: drop telnet, pass the rest. */
SEC("xdp/tcp")
int handle_tcp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *tcph = parse_tcphdr(data, data_end);

	if (tcph && tcph->dest == bpf_htons(23))
		return XDP_DROP;
	return XDP_PASS;
}

/* UDP: count and pass. */
SEC("xdp/udp")
int handle_udp(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&udp_packets, &key);

	if (count)
		*count += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
