/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Addresses in one canonical form, and the one check of what an address
 * may be, shared by the datapath and the daemon so that the two can never
 * disagree (STYLE: one check for every role).
 *
 * Canonical form: 16 bytes, an IPv4 address as IPv4-mapped IPv6
 * (::ffff:a.b.c.d). An IPv6 address that is itself IPv4-mapped is thereby
 * the IPv4 address it maps: every check sees ::ffff:127.0.0.1 as 127.0.0.1.
 * Every map keyed by address (subscribers, buckets, sessions, modes,
 * learned servers) uses this form, built by the helpers here and nowhere
 * else, in the datapath and in userspace alike.
 */
#ifndef XMCP_ADDR_H
#define XMCP_ADDR_H

#include "xmcp_types.h"

struct xmcp_addr {
	__u8 a[16];
};
XMCP_ASSERT_SIZE(struct xmcp_addr, 16);

XMCP_INLINE void xmcp_addr_from4(struct xmcp_addr *k, const void *v4)
{
	const __u8 *b = v4;
	int i;

	for (i = 0; i < 10; i++)
		k->a[i] = 0;
	k->a[10] = k->a[11] = 0xff;
	for (i = 0; i < 4; i++)
		k->a[12 + i] = b[i];
}

XMCP_INLINE void xmcp_addr_from6(struct xmcp_addr *k, const void *v6)
{
	const __u8 *b = v6;
	int i;

	for (i = 0; i < 16; i++)
		k->a[i] = b[i];
}

/*
 * An IPv4 prefix of n bits is the canonical prefix of XMCP_ADDR4_PLEN + n
 * bits (::ffff:a.b.c.d/96+n); the IPv4 address is the last 4 bytes.
 */
#define XMCP_ADDR4_PLEN 96
#define XMCP_ADDR4_OFF 12

/*
 * A prefix of len bits of an IPv4 (4 bytes, is4) or IPv6 address (16), in
 * canonical form: the address into *k, and the length returned.
 */
XMCP_INLINE __u32 xmcp_addr_prefix(struct xmcp_addr *k, int is4, const void *addr, __u32 len)
{
	if (is4) {
		xmcp_addr_from4(k, addr);
		return XMCP_ADDR4_PLEN + len;
	}
	xmcp_addr_from6(k, addr);
	return len;
}

/* ::ffff:0:0/96, the canonical form of an IPv4 address. */
XMCP_INLINE int xmcp_addr_is4(const struct xmcp_addr *k)
{
	int i;

	for (i = 0; i < 10; i++)
		if (k->a[i])
			return 0;
	return k->a[10] == 0xff && k->a[11] == 0xff;
}

/* The IPv4 address of a canonical one xmcp_addr_is4 accepts. */
XMCP_INLINE const __u8 *xmcp_addr_v4(const struct xmcp_addr *k)
{
	return k->a + XMCP_ADDR4_OFF;
}

/*
 * The key of an LPM trie over canonical addresses (the subscriber
 * prefixes): a prefix, or, with len 128, the address to look up.
 */
struct xmcp_prefix_key {
	__u32 prefixlen;
	__u8 addr[16];
};
XMCP_ASSERT_SIZE(struct xmcp_prefix_key, 20);

XMCP_INLINE void xmcp_prefix_key_set(struct xmcp_prefix_key *pk, const struct xmcp_addr *k, __u32 len)
{
	pk->prefixlen = len;
	__builtin_memcpy(pk->addr, k->a, 16);
}

/*
 * Why an address can never be a peer of a relayed connection, or
 * XMCP_ADDR_OK. Neither end of a subscriber's connection, nor a server an
 * MCP opens, is ever one of these (RFC 6890's special-purpose blocks that
 * have no business crossing a gateway).
 */
enum xmcp_addr_verdict {
	XMCP_ADDR_OK = 0,
	XMCP_ADDR_UNSPECIFIED, /* 0.0.0.0/8, ::/128, and the deprecated IPv4-compatible ::/96 */
	XMCP_ADDR_LOOPBACK,    /* 127.0.0.0/8, ::1 */
	XMCP_ADDR_LINK_LOCAL,  /* 169.254.0.0/16, fe80::/10 */
	XMCP_ADDR_MULTICAST,   /* 224.0.0.0/4, ff00::/8 */
	XMCP_ADDR_BROADCAST,   /* 255.255.255.255 */
};

XMCP_INLINE int xmcp_addr4_verdict(__u8 a0, __u8 a1, __u8 a2, __u8 a3)
{
	if (a0 == 0)
		return XMCP_ADDR_UNSPECIFIED;
	if (a0 == 127)
		return XMCP_ADDR_LOOPBACK;
	if (a0 == 169 && a1 == 254)
		return XMCP_ADDR_LINK_LOCAL;
	if (a0 >= 224 && a0 <= 239)
		return XMCP_ADDR_MULTICAST;
	if (a0 == 255 && a1 == 255 && a2 == 255 && a3 == 255)
		return XMCP_ADDR_BROADCAST;
	return XMCP_ADDR_OK;
}

/*
 * The verdict on a canonical address given as four big-endian words (the
 * form that costs the BPF stack nothing: the MP_CONVERT check runs deep in
 * the classifier's calls).
 */
XMCP_INLINE int xmcp_addr_verdict_w(__u32 w0, __u32 w1, __u32 w2, __u32 w3)
{
	if (!w0 && !w1 && w2 == 0xffff)
		return xmcp_addr4_verdict(w3 >> 24, (w3 >> 16) & 0xff, (w3 >> 8) & 0xff, w3 & 0xff);
	if ((w0 >> 24) == 0xff)
		return XMCP_ADDR_MULTICAST;
	if ((w0 >> 22) == (0xfe80 >> 6))
		return XMCP_ADDR_LINK_LOCAL;
	if (w0 || w1 || w2)
		return XMCP_ADDR_OK;
	/* ::/96: ::, ::1, or an IPv4-compatible address (deprecated, RFC 4291) */
	return w3 == 1 ? XMCP_ADDR_LOOPBACK : XMCP_ADDR_UNSPECIFIED;
}

XMCP_INLINE __u32 xmcp_be32(const __u8 *b)
{
	return (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
}

XMCP_INLINE int xmcp_addr_verdict(const struct xmcp_addr *k)
{
	return xmcp_addr_verdict_w(xmcp_be32(k->a), xmcp_be32(k->a + 4), xmcp_be32(k->a + 8),
				   xmcp_be32(k->a + 12));
}

/*
 * The key of per-subscriber state (SYN buckets, session counts): the
 * address itself for IPv4, its /64 for IPv6, since one IPv6 subscriber
 * holds at least a /64 and may use any address in it.
 */
XMCP_INLINE void xmcp_addr_subscriber(struct xmcp_addr *k)
{
	int i;

	if (xmcp_addr_is4(k))
		return;
	for (i = 8; i < 16; i++)
		k->a[i] = 0;
}

#endif
