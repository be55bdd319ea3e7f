/* Twin of examples/drop9999.lisp: drop TCP to port 9999, pass the rest. */
#include "parsing_helpers.h"

SEC("xdp/drop_9999")
int drop_9999(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *tcph = parse_tcphdr(data, data_end);

	if (tcph && tcph->dest == bpf_htons(9999))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
