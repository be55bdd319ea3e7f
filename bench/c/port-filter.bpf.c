/* Twin of examples/port-filter.lisp: two programs, one dropping TCP to port
 * 23, one dropping UDP to port 53. */
#include "parsing_helpers.h"

SEC("xdp/block-telnet")
int block_telnet(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *tcph = parse_tcphdr(data, data_end);

	if (tcph && tcph->dest == bpf_htons(23))
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp/block-dns")
int block_dns(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *udph = parse_udphdr(data, data_end);

	if (udph && udph->dest == bpf_htons(53))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
