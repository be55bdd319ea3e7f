/* Twin of examples/prefix-blocklist.lisp: drop packets whose IPv4 source
 * falls in a prefix of the LPM trie `blocked_prefix`. */
#include "parsing_helpers.h"

struct lpm_v4_key {
	__u32 prefixlen; /* significant bits of addr */
	__u32 addr;      /* network order */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blocked_prefix SEC(".maps");

SEC("xdp")
int prefix_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = parse_iphdr(data, data_end);
	struct lpm_v4_key key;

	if (!iph)
		return XDP_PASS;
	key.prefixlen = 32;
	key.addr = iph->saddr;
	if (bpf_map_lookup_elem(&blocked_prefix, &key))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
