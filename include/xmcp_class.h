/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet classes of the XDP classifier. The names are part of xmcp's
 * interface (CLI output, JSON, counters): they are defined once here and
 * both the enum and the strings are generated from this list.
 */
#ifndef XMCP_CLASS_H
#define XMCP_CLASS_H

#include "xmcp_types.h"

/* X(enum suffix, printed name) -- order is the counter layout */
#define XMCP_CLASSES(X)                                   \
	X(NOT_TCP, not_tcp)                               \
	X(TCP, tcp)                                       \
	X(SYN, syn)                                       \
	X(SYN_MP_CAPABLE, syn_mp_capable)                 \
	X(SYN_MP_CONVERT, syn_mp_convert)                 \
	X(SYN_MP_CONVERT_INVALID, syn_mp_convert_invalid) \
	X(SYN_MP_JOIN, syn_mp_join)                       \
	X(SYNACK_MP_CAPABLE, synack_mp_capable)           \
	X(SYN_TCP_AUTH, syn_tcp_auth)                     \
	X(MALFORMED, malformed)

#define XMCP_ENUM_CLASS(e, n) XMCP_CLASS_##e,
enum xmcp_class {
	XMCP_CLASSES(XMCP_ENUM_CLASS)
	XMCP_CLASS_MAX
};
#undef XMCP_ENUM_CLASS

/*
 * Why a packet was classed malformed. Each reason has its own counter so an
 * operator can tell a truncating capture from a broken sender.
 */
#define XMCP_MALFORMED_REASONS(X)                                      \
	X(ETH_TRUNC, eth_trunc)   /* Ethernet or VLAN header cut short */ \
	X(VLAN_DEPTH, vlan_depth) /* more than two VLAN tags */            \
	X(IP_TRUNC, ip_trunc)     /* IP header or its length past the frame */ \
	X(IP_HDR, ip_hdr)         /* bad version, IHL or total length */  \
	X(IP6_EXT, ip6_ext)       /* extension header chain cut or too long */ \
	X(TCP_TRUNC, tcp_trunc)   /* TCP header or options past the packet */ \
	X(TCP_DOFF, tcp_doff)     /* TCP data offset below 5 */           \
	X(TCP_OPT, tcp_opt)       /* option length < 2 or past the header */

#define XMCP_ENUM_MALFORMED(e, n) XMCP_MF_##e,
enum xmcp_malformed_reason {
	XMCP_MF_NONE = 0,
	XMCP_MALFORMED_REASONS(XMCP_ENUM_MALFORMED)
	XMCP_MF_MAX
};
#undef XMCP_ENUM_MALFORMED

#endif
