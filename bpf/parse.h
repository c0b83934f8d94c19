/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing for the XDP classifier: a cursor over the packet and one
 * small helper per header. Each helper checks `pos + len > end` before it
 * reads, advances the cursor, and returns 0 or an enum xmcp_malformed_reason.
 */
#ifndef XMCP_PARSE_H
#define XMCP_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include "xmcp_class.h"

/* UAPI macros that vmlinux.h cannot carry (they are #defines, not types). */
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IP_OFFSET_MASK 0x1fff
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60
#define NEXTHDR_NONE 59
#define TCP_FLAG_SYN_BIT 0x02
#define TCP_FLAG_ACK_BIT 0x10

#define XMCP_VLAN_MAX 2	  /* 802.1ad outer + 802.1Q inner */
#define XMCP_IPV6_EXT_MAX 6 /* more is treated as an evasion attempt */

struct cursor {
	void *pos;
	void *start; /* first byte of the frame, for offsets */
	void *end;
};

static __always_inline __u32 cursor_off(const struct cursor *c)
{
	return c->pos - c->start;
}

/* Ethernet plus up to two VLAN tags; *proto gets the inner EtherType. */
static __always_inline int parse_eth(struct cursor *c, __u16 *proto)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr *vlan;
	__u16 type;
	int i;

	if ((void *)(eth + 1) > c->end)
		return XMCP_MF_ETH_TRUNC;
	c->pos = eth + 1;
	type = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (i = 0; i < XMCP_VLAN_MAX; i++) {
		if (type != ETH_P_8021Q && type != ETH_P_8021AD)
			break;
		vlan = c->pos;
		if ((void *)(vlan + 1) > c->end)
			return XMCP_MF_ETH_TRUNC;
		c->pos = vlan + 1;
		type = bpf_ntohs(vlan->h_vlan_encapsulated_proto);
	}
	if (type == ETH_P_8021Q || type == ETH_P_8021AD)
		return XMCP_MF_VLAN_DEPTH;
	*proto = type;
	return 0;
}

/*
 * IPv4 with options. *l4proto is 0 for a non-first fragment (its bytes are
 * not a transport header); *l3_end is where the datagram ends, which is
 * not data_end when a short frame was padded to 60 bytes.
 */
static __always_inline int parse_ipv4(struct cursor *c, __u8 *l4proto, __u32 *l3_end)
{
	struct iphdr *iph = c->pos;
	__u32 hlen, tot;

	if ((void *)(iph + 1) > c->end)
		return XMCP_MF_IP_TRUNC;
	hlen = iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || hlen < sizeof(*iph) || tot < hlen)
		return XMCP_MF_IP_HDR;
	if (c->pos + tot > c->end)
		return XMCP_MF_IP_TRUNC;
	*l3_end = cursor_off(c) + tot;
	c->pos += hlen;
	*l4proto = (iph->frag_off & bpf_htons(IP_OFFSET_MASK)) ? 0 : iph->protocol;
	return 0;
}

static __always_inline int ipv6_is_ext(__u8 nh)
{
	return nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING || nh == NEXTHDR_DEST ||
	       nh == NEXTHDR_FRAGMENT;
}

/* Steps over one extension header; a non-first fragment ends the walk. */
static __always_inline int skip_ipv6_ext(struct cursor *c, __u8 *nh)
{
	struct ipv6_opt_hdr *opt = c->pos;
	struct frag_hdr *frag = c->pos;

	if (*nh == NEXTHDR_FRAGMENT) {
		if ((void *)(frag + 1) > c->end)
			return XMCP_MF_IP6_EXT;
		c->pos = frag + 1;
		*nh = (frag->frag_off & bpf_htons(0xfff8)) ? NEXTHDR_NONE : frag->nexthdr;
		return 0;
	}
	if ((void *)(opt + 1) > c->end)
		return XMCP_MF_IP6_EXT;
	*nh = opt->nexthdr;
	c->pos += (opt->hdrlen + 1) * 8;
	return 0;
}

static __always_inline int parse_ipv6(struct cursor *c, __u8 *l4proto, __u32 *l3_end)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 plen;
	__u8 nh;
	int i, err;

	if ((void *)(ip6 + 1) > c->end)
		return XMCP_MF_IP_TRUNC;
	if (ip6->version != 6)
		return XMCP_MF_IP_HDR;
	plen = bpf_ntohs(ip6->payload_len);
	/* Verifiers before 6.3 or so know nothing of a byte swap's result and
	 * refuse to add it to a packet pointer; the mask, kept by the barrier
	 * (the compiler knows it is a no-op), bounds it for them. */
	barrier_var(plen);
	plen &= 0xffff;
	if ((void *)(ip6 + 1) + plen > c->end)
		return XMCP_MF_IP_TRUNC;
	*l3_end = cursor_off(c) + sizeof(*ip6) + plen;
	c->pos = ip6 + 1;
	nh = ip6->nexthdr;

#pragma unroll
	for (i = 0; i < XMCP_IPV6_EXT_MAX; i++) {
		if (!ipv6_is_ext(nh))
			break;
		err = skip_ipv6_ext(c, &nh);
		if (err)
			return err;
	}
	if (ipv6_is_ext(nh))
		return XMCP_MF_IP6_EXT;
	if (cursor_off(c) > *l3_end)
		return XMCP_MF_IP6_EXT;
	*l4proto = nh;
	return 0;
}

#endif
