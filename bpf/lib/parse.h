/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing for every program (XDP and tc alike): a cursor over the
 * packet and one small helper per header. Each helper checks
 * `pos + len > end` before it reads, advances the cursor, and returns 0 or
 * an enum xmcp_malformed_reason. Then reading what the metadata points at
 * (frame_ptr) and a packet's addresses in canonical form (ip_addrs).
 */
#ifndef XMCP_PARSE_H
#define XMCP_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include "xmcp_class.h"
#include "xmcp_tcpopt.h"
#include "xmcp_addr.h"

/* UAPI macros that vmlinux.h cannot carry (they are #defines, not types), for every program. */
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
#define AF_INET 2
#define AF_INET6 10
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define PACKET_HOST 0 /* skb->pkt_type: addressed to this host's link-layer address */

#define XMCP_VLAN_MAX 2	  /* 802.1ad outer + 802.1Q inner */
#define XMCP_IPV6_EXT_MAX 6 /* more is treated as an evasion attempt */

struct cursor {
	void *pos;
	void *start; /* first byte of the frame, for offsets */
	void *end;   /* end of the bytes that can be read directly */
	__u32 len;   /* the frame's length: past end when tc sees a packet with paged data (GSO) */
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
/*
 * A packet tc sees after GRO built it past 64 KiB (BIG TCP) has a length
 * field of 0: its length is the rest of the frame. No frame on the wire
 * is that long, so a 0 there anywhere else still fails the checks below.
 */
#define XMCP_BIG_TCP_LEN 0xffff

static __always_inline int parse_ipv4(struct cursor *c, __u8 *l4proto, __u32 *l3_end)
{
	struct iphdr *iph = c->pos;
	__u32 hlen, tot;

	if ((void *)(iph + 1) > c->end)
		return XMCP_MF_IP_TRUNC;
	hlen = iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	if (!tot) {
		__u32 off = cursor_off(c);

		/*
		 * An early return, not a 0 carried on to the checks below: 6.1's
		 * verifier cannot see that a known 0 is below hlen and walks on
		 * with an impossible hlen (umin 20, umax 0) that turns the
		 * cursor into a scalar.
		 */
		if (c->len <= XMCP_BIG_TCP_LEN)
			return XMCP_MF_IP_HDR;
		barrier_var(off); /* a number, not pointer arithmetic in 32 bits */
		tot = c->len - off;
	}
	if (iph->version != 4 || hlen < sizeof(*iph) || tot < hlen)
		return XMCP_MF_IP_HDR;
	if (cursor_off(c) + tot > c->len)
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
	if (!plen && c->len > XMCP_BIG_TCP_LEN + sizeof(*ip6)) {
		__u32 off = cursor_off(c);

		barrier_var(off); /* a number, not pointer arithmetic in 32 bits */
		if (c->len > off + sizeof(*ip6))
			plen = c->len - off - sizeof(*ip6);
	}
	if (cursor_off(c) + sizeof(*ip6) + plen > c->len)
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

/*
 * Ethernet (with VLANs) and IPv4 or IPv6 at c->pos, for XDP and tc alike:
 * the cursor ends on the transport header. *l3_off is where the IP header
 * starts, *l3_end where the datagram ends; *l4proto is 0 when there is no
 * transport header to read (a non-first fragment) or the packet is not IP
 * (then the function returns XMCP_MF_NONE with *l4proto 0 too).
 */
static __always_inline int parse_to_l4(struct cursor *c, __u32 *l3_off, __u32 *l3_end, __u8 *l4proto)
{
	__u16 proto = 0;
	int err;

	*l4proto = 0;
	err = parse_eth(c, &proto);
	if (err)
		return err;
	*l3_off = cursor_off(c);
	if (proto == ETH_P_IP)
		return parse_ipv4(c, l4proto, l3_end);
	if (proto == ETH_P_IPV6)
		return parse_ipv6(c, l4proto, l3_end);
	return 0;
}

/*
 * Copy len bytes (at most XMCP_OPTBUF_SIZE) from the packet at src into
 * buf; 0 on success, -1 when the packet ends first. Words, then a byte
 * tail, with direct packet access: bpf_xdp_load_bytes() cost more than the
 * whole option walk. Bytes of buf past len are left as they were.
 */
static __always_inline int copy_from_packet(__u8 *src, void *end, __u32 len, struct xmcp_optbuf *buf)
{
	__u32 *dst = (__u32 *)buf->b;
	__u32 k, words = len / 4;

	for (k = 0; k < XMCP_OPTBUF_SIZE / 4; k++) {
		if (k >= words)
			break;
		if ((void *)(src + 4 * (k + 1)) > end)
			return -1;
		dst[k] = *(__u32 *)(src + 4 * k);
	}
	if (words >= XMCP_OPTBUF_SIZE / 4)
		return 0;
	src += words * 4;
	for (k = 0; k < 3; k++) {
		if (words * 4 + k >= len)
			break;
		if ((void *)(src + k + 1) > end)
			return -1;
		buf->b[(words * 4 + k) & XMCP_OPTBUF_MASK] = src[k];
	}
	return 0;
}

/*
 * Walk the options of the TCP header th (its data offset already checked
 * against the segment) into *s, with buf holding a copy of them. -1 when
 * the options run past the packet's bytes.
 */
static __always_inline int scan_tcp_header(struct tcphdr *th, void *end, struct xmcp_optbuf *buf,
					   struct xmcp_scan *s)
{
	__u32 optlen = th->doff * 4 - sizeof(*th);

	if (!optlen)
		return 0;
	if (optlen > XMCP_TCPOPT_MAX_LEN || copy_from_packet((__u8 *)(th + 1), end, optlen, buf))
		return -1;
	xmcp_scan_tcp_options(buf, optlen, s);
	return 0;
}

/*
 * A frame offset the metadata carries, as a pointer to len readable bytes,
 * or NULL. The offsets come from our own parse; the bound is what lets the
 * verifier add them to a packet pointer (it must stay well under 64 KiB
 * with len added). An offset past it is refused, never wrapped: a mask
 * would read some other byte of the packet as the header.
 */
#define XMCP_MAX_FRAME_OFF 0x3fff
static __always_inline void *frame_ptr(void *data, void *end, __u32 off, __u32 len)
{
	void *p;

	/* the barriers keep the check and the access on the same registers */
	barrier_var(off);
	if (off > XMCP_MAX_FRAME_OFF)
		return NULL;
	p = data + off;
	barrier_var(p);
	if (p + len > end)
		return NULL;
	return p;
}

/*
 * The IP header at frame offset l3_off: its addresses in canonical form.
 * 4 or 6 by the header's version, -1 when it is not there.
 */
static __always_inline int ip_addrs(void *data, void *end, __u32 l3_off, struct xmcp_addr *src,
				    struct xmcp_addr *dst)
{
	struct iphdr *iph = frame_ptr(data, end, l3_off, sizeof(*iph));
	struct ipv6hdr *ip6;

	if (!iph)
		return -1;
	if (iph->version == 4) {
		xmcp_addr_from4(src, &iph->saddr);
		xmcp_addr_from4(dst, &iph->daddr);
		return 4;
	}
	ip6 = frame_ptr(data, end, l3_off, sizeof(*ip6));
	if (!ip6)
		return -1;
	xmcp_addr_from6(src, &ip6->saddr);
	xmcp_addr_from6(dst, &ip6->daddr);
	return 6;
}

#endif
