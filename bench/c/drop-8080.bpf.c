/* Twin of examples/drop-8080.lisp (seed 003): drop TCP to port 8080 and log
 * each drop. Like the Whistler example (with-tcp), VLAN tags and IPv4
 * options are honoured. */
#include "parsing_helpers.h"

SEC("xdp")
int drop_ingress_port_8080(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *tcph = parse_tcphdr(data, data_end);

	if (tcph && tcph->dest == bpf_htons(8080)) {
		bpf_printk("Dropping XDP ingress packet port 8080\n");
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
