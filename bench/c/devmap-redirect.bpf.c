/* Twin of examples/devmap-redirect.lisp: forward through a devmap keyed by
 * the ingress ifindex; a devmap program stamps the egress ifindex into the
 * last byte of the source MAC. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_ports SEC(".maps");

SEC("xdp")
int redirect_ports(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_ports, ctx->ingress_ifindex, XDP_PASS);
}

SEC("xdp/devmap")
int mark_egress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	eth->h_source[ETH_ALEN - 1] = ctx->egress_ifindex;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
