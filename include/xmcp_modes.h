/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The HAG's modes by destination (draft-deng 3.4): rules, first match
 * wins, else the default. XMCP_MAP_MODES holds two rule sets; the one
 * XMCP_MAP_MODES_ON names is live, so a reload writes the other and flips
 * one word: no SYN ever sees half a rule set. The policy code uses
 * enum xmcp_mode itself, so a mode has one number everywhere.
 */
#ifndef INCLUDE_XMCP_MODES_H
#define INCLUDE_XMCP_MODES_H

#include "xmcp_types.h"

/* X(enum suffix, the policy's word) -- order is the value */
#define XMCP_MODES(X)                                                                  \
	X(TAKE_OVER, take_over)	    /* terminate MPTCP, TCP to the server */           \
	X(TRANSPARENT, transparent) /* let the MPTCP SYN through untouched */          \
	X(HYBRID, hybrid)	    /* take over, unless the server is learned MPTCP-capable */

#define XMCP_ENUM_MODE(e, n) XMCP_MODE_##e,
enum xmcp_mode {
	XMCP_MODES(XMCP_ENUM_MODE)
	XMCP_MODE_MAX
};
#undef XMCP_ENUM_MODE
/* Rules as the datapath holds them: a policy rule takes one per prefix and port it names. */
#define XMCP_MAX_MODE_RULES 64
struct xmcp_mode_rule {
	__u32 addr[4]; /* the prefix, masked, in canonical form (xmcp_addr.h) */
	__u32 mask[4];
	__u16 port;    /* host order; 0: any */
	__u8 mode;     /* enum xmcp_mode */
	__u8 pad;
};
XMCP_ASSERT_SIZE(struct xmcp_mode_rule, 36);
struct xmcp_modes {
	__u32 n_rules;
	__u32 default_mode;
	__u64 lifetime_ns; /* how long a learned server stays learned */
	struct xmcp_mode_rule rule[XMCP_MAX_MODE_RULES];
};
XMCP_ASSERT_SIZE(struct xmcp_modes, 16 + 36 * XMCP_MAX_MODE_RULES);

/* XMCP_MAP_LEARNED (LRU): servers that answered with MP_CAPABLE, and when (bpf_ktime_get_ns). */
#define XMCP_LEARNED_MAX 65536
struct xmcp_server_key {
	__u8 addr[16]; /* canonical form (xmcp_addr.h) */
	__u16 port;    /* host order */
	__u16 pad;
};
XMCP_ASSERT_SIZE(struct xmcp_server_key, 20);

#endif
