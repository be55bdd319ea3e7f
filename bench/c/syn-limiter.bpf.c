/* Twin of examples/syn-limiter.lisp: each IPv4 source may open SYN_LIMIT
 * connections per WINDOW_NS; further SYNs in the window are dropped. As in
 * the example, the SYN test needs the TCP header only up to its flags byte. */
#include "parsing_helpers.h"

#define SYN_LIMIT 16
#define WINDOW_NS 1000000000ULL /* one second */
#define TCP_FLAGS_OFFSET 13
#define TCP_SYN 0x02
#define TCP_ACK 0x10

struct syn_window {
	__u64 start; /* bpf_ktime_get_ns() when the window opened */
	__u64 count; /* SYNs seen in it */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct syn_window);
} syn_windows SEC(".maps");

SEC("xdp")
int syn_limiter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = parse_iphdr(data, data_end);
	struct syn_window *window;
	__u8 *flags;
	__u64 now;
	__u32 source;

	if (!iph || iph->protocol != IPPROTO_TCP)
		return XDP_PASS;
	flags = ip_payload(iph) + TCP_FLAGS_OFFSET;
	if ((void *)(flags + 1) > data_end)
		return XDP_PASS;
	if ((*flags & (TCP_SYN | TCP_ACK)) != TCP_SYN)
		return XDP_PASS;

	now = bpf_ktime_get_ns();
	source = iph->saddr;
	window = bpf_map_lookup_elem(&syn_windows, &source);
	if (window) {
		if (now - window->start > WINDOW_NS) {
			window->start = now;
			window->count = 1;
		} else {
			__sync_fetch_and_add(&window->count, 1);
			if (window->count > SYN_LIMIT)
				return XDP_DROP;
		}
	} else {
		struct syn_window fresh = { .start = now, .count = 1 };

		bpf_map_update_elem(&syn_windows, &source, &fresh, BPF_ANY);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
