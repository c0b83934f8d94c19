/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TCP option and MP_CONVERT scanning, shared word for word by the XDP
 * classifier and the userspace codec so that both apply the same rules.
 *
 * Everything works on a small copy of the bytes in a fixed 64-byte buffer:
 * every index is masked with XMCP_OPTBUF_MASK, which is what lets the BPF
 * verifier accept variable offsets, and every loop has a constant bound.
 */
#ifndef XMCP_TCPOPT_H
#define XMCP_TCPOPT_H

#include "xmcp_types.h"
#include "xmcp_addr.h"

#define XMCP_TCPOPT_EOL 0
#define XMCP_TCPOPT_NOP 1
#define XMCP_TCPOPT_MD5 19 /* RFC 2385 */
#define XMCP_TCPOPT_AO 29  /* RFC 5925 */
#define XMCP_TCPOPT_MPTCP 30

#define XMCP_MPTCP_SUB_CAPABLE 0x0
#define XMCP_MPTCP_SUB_JOIN 0x1
/* No IANA code yet; the draft allows 0xe in managed networks. */
#define XMCP_MPTCP_SUB_CONVERT 0xe

#define XMCP_TCPOPT_MAX_LEN 40 /* 60-byte TCP header minus 20 */
#define XMCP_OPTBUF_SIZE 64
#define XMCP_OPTBUF_MASK (XMCP_OPTBUF_SIZE - 1)

/* MP_CONVERT lengths (draft-boucadair section 4) */
#define XMCP_MPC_LEN_EMPTY 4
#define XMCP_MPC_LEN_V4 8
#define XMCP_MPC_LEN_V4_PORT 10
#define XMCP_MPC_LEN_V6 20
#define XMCP_MPC_LEN_V6_PORT 22
#define XMCP_MPC_MAX 2 /* at most two per SYN, with different D bits */
#define XMCP_MPC_D_BIT 0x08 /* in byte 2, just below the subtype nibble */
/* Longest SYN-payload framing: two IPv6+port options and the EOL. */
#define XMCP_MPC_FRAME_MAX (2 * XMCP_MPC_LEN_V6_PORT + 1)

_Static_assert(XMCP_TCPOPT_MAX_LEN <= XMCP_OPTBUF_SIZE, "option space must fit the buffer");
_Static_assert(XMCP_MPC_FRAME_MAX <= XMCP_OPTBUF_SIZE, "framing must fit the buffer");

/*
 * The bytes being scanned. A struct rather than a bare pointer so that a
 * BPF global function knows the size behind its argument.
 */
struct xmcp_optbuf {
	__u8 b[XMCP_OPTBUF_SIZE];
} __attribute__((aligned(8))); /* the datapath fills it a word at a time */

/* Why an MP_CONVERT (or its SYN-payload framing) breaks the draft. */
enum xmcp_mpc_err {
	XMCP_MPC_OK = 0,
	XMCP_MPC_ERR_LEN,	/* length not 4/8/10/20/22 */
	XMCP_MPC_ERR_TRUNC,	/* option runs past the bytes available */
	XMCP_MPC_ERR_ADDR,	/* an address no connection may have (xmcp_addr.h): loopback, ... */
	XMCP_MPC_ERR_DUP_D,	/* two options with the same D bit (or a third) */
	XMCP_MPC_ERR_NO_EOL,	/* payload framing not ended by EOL */
	XMCP_MPC_ERR_KIND,	/* not an MP_CONVERT at all (userspace codec only) */
	XMCP_MPC_ERR_MAX
};

/* What one scan found; both scanners add to the same record. */
enum {
	XMCP_SCAN_MPC = 1 << 0,	 /* MP_CAPABLE */
	XMCP_SCAN_JOIN = 1 << 1, /* MP_JOIN */
	XMCP_SCAN_AUTH = 1 << 2, /* TCP-MD5 or TCP-AO */
	XMCP_SCAN_BAD = 1 << 3,	 /* malformed option list */
	XMCP_SCAN_MPTCP = 1 << 4, /* any MPTCP option: the segment belongs to an MPTCP subflow */
};

struct xmcp_scan {
	__u8 flags;
	__u8 n_convert;			   /* valid MP_CONVERT options recorded */
	__u8 convert_err;		   /* first enum xmcp_mpc_err seen */
	__u8 d_seen;			   /* bit 0: a destination, bit 1: a source */
	__u8 convert_off[XMCP_MPC_MAX];	   /* offsets in the scanned buffer */
	__u16 pos;			   /* walk position, see xmcp_scan_tcp_options */
	__u8 join_off;			   /* XMCP_SCAN_JOIN: where the SYN's MP_JOIN starts (see below) */
	__u8 mpc_off;			   /* XMCP_SCAN_MPC: where the MP_CAPABLE option starts */
	__u8 mpc_len;			   /* and its length (12 and up carry a key) */
};

XMCP_INLINE __u8 xmcp_buf(const struct xmcp_optbuf *buf, __u32 i)
{
	return buf->b[i & XMCP_OPTBUF_MASK];
}

XMCP_INLINE int xmcp_mpc_len_valid(__u32 len)
{
	return len == XMCP_MPC_LEN_EMPTY || len == XMCP_MPC_LEN_V4 || len == XMCP_MPC_LEN_V4_PORT ||
	       len == XMCP_MPC_LEN_V6 || len == XMCP_MPC_LEN_V6_PORT;
}

/*
 * The MP_CONVERT address at buf[off] (4 or 16 bytes) is one no connection
 * may have: the draft names multicast, broadcast and loopback; xmcp refuses
 * every special address of include/xmcp_addr.h, IPv4-mapped ones judged as
 * the IPv4 address they map, with the same check the daemon makes.
 */
XMCP_INLINE __u32 xmcp_buf_be32(const struct xmcp_optbuf *buf, __u32 off)
{
	return (__u32)xmcp_buf(buf, off) << 24 | (__u32)xmcp_buf(buf, off + 1) << 16 |
	       (__u32)xmcp_buf(buf, off + 2) << 8 | xmcp_buf(buf, off + 3);
}

XMCP_INLINE int xmcp_mpc_addr_refused(const struct xmcp_optbuf *buf, __u32 off, int v6)
{
	int v;

	if (v6)
		v = xmcp_addr_verdict_w(xmcp_buf_be32(buf, off), xmcp_buf_be32(buf, off + 4),
					xmcp_buf_be32(buf, off + 8), xmcp_buf_be32(buf, off + 12));
	else
		v = xmcp_addr_verdict_w(0, 0, 0xffff, xmcp_buf_be32(buf, off));
	return v != XMCP_ADDR_OK;
}

/*
 * Check the MP_CONVERT that starts at buf[off] (kind, length, subtype are
 * already known to be MPTCP/0xe); avail is how many bytes of buf are real.
 */
XMCP_SUBPROG int xmcp_mpc_check(const struct xmcp_optbuf *buf, __u32 off, __u32 avail)
{
	__u32 len;

	if (!buf)
		return XMCP_MPC_ERR_TRUNC;
	if (off + 2 > avail)
		return XMCP_MPC_ERR_TRUNC;
	len = xmcp_buf(buf, off + 1);
	if (!xmcp_mpc_len_valid(len))
		return XMCP_MPC_ERR_LEN;
	if (off + len > avail)
		return XMCP_MPC_ERR_TRUNC;
	if (len != XMCP_MPC_LEN_EMPTY &&
	    xmcp_mpc_addr_refused(buf, off + 4, len == XMCP_MPC_LEN_V6 || len == XMCP_MPC_LEN_V6_PORT))
		return XMCP_MPC_ERR_ADDR;
	return XMCP_MPC_OK;
}

XMCP_INLINE void xmcp_scan_set_err(struct xmcp_scan *s, int err)
{
	if (!s->convert_err)
		s->convert_err = err;
}

/* Validate one MP_CONVERT at off and remember it; returns its length or 0. */
XMCP_INLINE __u32 xmcp_mpc_record(const struct xmcp_optbuf *buf, __u32 off, __u32 avail, struct xmcp_scan *s)
{
	int err = xmcp_mpc_check(buf, off, avail);
	__u8 d;

	if (err) {
		xmcp_scan_set_err(s, err);
		return 0;
	}
	d = (xmcp_buf(buf, off + 2) & XMCP_MPC_D_BIT) ? 2 : 1;
	if (s->d_seen & d) {
		xmcp_scan_set_err(s, XMCP_MPC_ERR_DUP_D);
	} else {
		s->d_seen |= d;
		if (s->n_convert < XMCP_MPC_MAX) {
			s->convert_off[s->n_convert & 1] = off;
			s->n_convert++;
		}
	}
	return xmcp_buf(buf, off + 1);
}

XMCP_INLINE int xmcp_is_mpc_start(const struct xmcp_optbuf *buf, __u32 off, __u32 avail)
{
	return off + 3 <= avail && xmcp_buf(buf, off) == XMCP_TCPOPT_MPTCP &&
	       (xmcp_buf(buf, off + 2) >> 4) == XMCP_MPTCP_SUB_CONVERT;
}

/* The sizes the kernel's own parser accepts; anything else it ignores. */
XMCP_INLINE int xmcp_mpcapable_len_ok(__u32 len)
{
	return len == 4 || len == 12 || len == 20 || len == 22 || len == 24;
}

XMCP_INLINE int xmcp_mpjoin_len_ok(__u32 len)
{
	return len == 12 || len == 16 || len == 24;
}

XMCP_INLINE void xmcp_scan_mptcp(const struct xmcp_optbuf *buf, __u32 i, __u32 olen, __u32 len,
				 struct xmcp_scan *s)
{
	__u8 sub;

	if (olen < 3)
		return;
	s->flags |= XMCP_SCAN_MPTCP;
	sub = xmcp_buf(buf, i + 2) >> 4;
	if (sub == XMCP_MPTCP_SUB_CAPABLE && xmcp_mpcapable_len_ok(olen)) {
		s->flags |= XMCP_SCAN_MPC;
		s->mpc_off = i;
		s->mpc_len = olen;
	} else if (sub == XMCP_MPTCP_SUB_JOIN && xmcp_mpjoin_len_ok(olen)) {
		/*
		 * The kernel takes a SYN's token from its last 12-byte MP_JOIN
		 * and only ORs in flags from the others: that one is the join,
		 * else the first MP_JOIN (a SYN whose MP_JOIN is not 12 bytes).
		 */
		if (olen == 12 || !(s->flags & XMCP_SCAN_JOIN))
			s->join_off = i;
		s->flags |= XMCP_SCAN_JOIN;
	} else if (sub == XMCP_MPTCP_SUB_CONVERT)
		xmcp_mpc_record(buf, i, len, s);
}

/*
 * Walk the TCP option space held in buf[0..len). Stops at EOL, steps over
 * NOP, and marks the list bad when a length is below 2 or runs past the
 * header. One iteration per option byte at the most, so 40 bound it.
 */
XMCP_SUBPROG int xmcp_scan_tcp_options(const struct xmcp_optbuf *buf, __u32 len,
					struct xmcp_scan *s)
{
	volatile __u16 *pos = &s->pos;
	__u32 i, n, kind, olen;

	if (!buf || !s)
		return 0;
	/*
	 * The position lives in *s, read through a volatile pointer, rather
	 * than in a local: the verifier tracks a local's exact range and would
	 * then explore every layout of options separately (over a million
	 * states); a value loaded from memory is just "some u16", bounded by
	 * the masks, and the loop's states collapse into one per iteration.
	 */
	*pos = 0;
	for (n = 0; n < XMCP_TCPOPT_MAX_LEN; n++) {
		i = *pos;
		if (i >= len)
			break;
		kind = xmcp_buf(buf, i);
		if (kind == XMCP_TCPOPT_EOL)
			break;
		if (kind == XMCP_TCPOPT_NOP) {
			*pos = i + 1;
			continue;
		}
		if (i + 2 > len) {
			s->flags |= XMCP_SCAN_BAD;
			break;
		}
		olen = xmcp_buf(buf, i + 1);
		if (olen < 2 || i + olen > len) {
			s->flags |= XMCP_SCAN_BAD;
			break;
		}
		if (kind == XMCP_TCPOPT_MD5 || kind == XMCP_TCPOPT_AO)
			s->flags |= XMCP_SCAN_AUTH;
		else if (kind == XMCP_TCPOPT_MPTCP)
			xmcp_scan_mptcp(buf, i, olen, len, s);
		*pos = i + olen;
	}
	return 0;
}

/*
 * Scan the head of a SYN payload for the draft's framing: one or two
 * MP_CONVERT options, then EOL, then the original data. Returns 0 when the
 * payload does not start with an MP_CONVERT, else the framing's length
 * (the offset of the original data); a broken framing sets convert_err.
 */
XMCP_SUBPROG int xmcp_scan_syn_payload(const struct xmcp_optbuf *buf, __u32 len,
					struct xmcp_scan *s)
{
	__u32 pos = 0, n, olen;

	if (!buf || !s)
		return 0;
	if (!xmcp_is_mpc_start(buf, 0, len))
		return 0;
	/* Two options and an EOL; a third option is a duplicate D by definition. */
	for (n = 0; n <= XMCP_MPC_MAX; n++) {
		if (pos < len && xmcp_buf(buf, pos) == XMCP_TCPOPT_EOL)
			return pos + 1;
		if (!xmcp_is_mpc_start(buf, pos, len))
			break;
		olen = xmcp_mpc_record(buf, pos, len, s);
		if (!olen)
			return pos;
		pos += olen;
	}
	if (n > XMCP_MPC_MAX)
		xmcp_scan_set_err(s, XMCP_MPC_ERR_DUP_D);
	else
		xmcp_scan_set_err(s, XMCP_MPC_ERR_NO_EOL);
	return pos;
}

#endif
