/* Header parsing shared by the C twins, in the style of xdp-tutorial's
 * parsing_helpers.h: a cursor walks the Ethernet header and up to two VLAN
 * tags (802.1Q, 802.1ad), as the Whistler packet library's with-* forms do. */
#ifndef WHISTLER_BENCH_PARSING_HELPERS_H
#define WHISTLER_BENCH_PARSING_HELPERS_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef VLAN_MAX_DEPTH
#define VLAN_MAX_DEPTH 2
#endif

/* struct ethhdr is packed, so clang reads eth->h_proto byte by byte (two
 * loads, a shift and an or), and so every EtherType merged with it. With
 * -DETH_PROTO_ALIGNED the twins read it as one 16-bit load, as Whistler's
 * packet library does; the driver reports the instruction counts of both
 * builds and tests against the idiomatic one. */
#ifdef ETH_PROTO_ALIGNED
#define ETH_PROTO(eth) (*(__be16 *)((void *)(eth) + offsetof(struct ethhdr, h_proto)))
#else
#define ETH_PROTO(eth) ((eth)->h_proto)
#endif

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

static __always_inline int proto_is_vlan(__be16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD);
}

/* The EtherType (network order) after the Ethernet header and up to
 * VLAN_MAX_DEPTH tags, with *l3 set to the header after them; -1 when the
 * frame ends inside them. */
static __always_inline int parse_ethhdr_vlan(void *data, void *data_end, void **l3)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vlh;
	__be16 h_proto;

	if ((void *)(eth + 1) > data_end)
		return -1;
	vlh = (void *)(eth + 1);
	h_proto = ETH_PROTO(eth);
#pragma unroll
	for (int i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (!proto_is_vlan(h_proto))
			break;
		if ((void *)(vlh + 1) > data_end)
			return -1;
		h_proto = vlh->h_vlan_encapsulated_proto;
		vlh++;
	}
	*l3 = vlh;
	return h_proto;
}

/* The IPv4 header, well formed (IHL >= 5) and whole, options included, or
 * NULL (as xdp-tutorial's parse_iphdr checks it). */
static __always_inline struct iphdr *parse_iphdr(void *data, void *data_end)
{
	struct iphdr *iph;
	int hdrsize;

	if (parse_ethhdr_vlan(data, data_end, (void **)&iph) != bpf_htons(ETH_P_IP))
		return NULL;
	if ((void *)(iph + 1) > data_end)
		return NULL;
	hdrsize = iph->ihl * 4;
	if (hdrsize < (int)sizeof(*iph))
		return NULL;
	if ((void *)iph + hdrsize > data_end)
		return NULL;
	return iph;
}

/* True for the first (or only) fragment: the one that carries the
 * transport header. */
static __always_inline int ip_has_l4(struct iphdr *iph)
{
	return (iph->frag_off & bpf_htons(0x1fff)) == 0;
}

/* The IPv6 header (40 bytes present), or NULL. */
static __always_inline struct ipv6hdr *parse_ip6hdr(void *data, void *data_end)
{
	struct ipv6hdr *ip6h;

	if (parse_ethhdr_vlan(data, data_end, (void **)&ip6h) != bpf_htons(ETH_P_IPV6))
		return NULL;
	if ((void *)(ip6h + 1) > data_end)
		return NULL;
	return ip6h;
}

/* The transport header after the IPv4 header and its options (IHL). */
static __always_inline void *ip_payload(struct iphdr *iph)
{
	return (void *)iph + iph->ihl * 4;
}

/* The TCP header over IPv4 (20 bytes present), or NULL. */
static __always_inline struct tcphdr *parse_tcphdr(void *data, void *data_end)
{
	struct iphdr *iph = parse_iphdr(data, data_end);
	struct tcphdr *tcph;

	if (!iph || iph->protocol != IPPROTO_TCP || !ip_has_l4(iph))
		return NULL;
	tcph = ip_payload(iph);
	if ((void *)(tcph + 1) > data_end)
		return NULL;
	return tcph;
}

/* The UDP header over IPv4 (8 bytes present), or NULL. */
static __always_inline struct udphdr *parse_udphdr(void *data, void *data_end)
{
	struct iphdr *iph = parse_iphdr(data, data_end);
	struct udphdr *udph;

	if (!iph || iph->protocol != IPPROTO_UDP || !ip_has_l4(iph))
		return NULL;
	udph = ip_payload(iph);
	if ((void *)(udph + 1) > data_end)
		return NULL;
	return udph;
}

#endif
