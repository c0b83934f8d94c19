/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Admission control by subscriber class (draft-deng 6.3, 6.4): the limits
 * the policy gives each class, and the state XDP keeps to enforce them
 * (SYN token buckets, join budgets). Each subscriber prefix belongs to a
 * class (the value of XMCP_MAP_SUBSCRIBERS is the class id, an index into
 * XMCP_MAP_CLASSES); 0 in a limit means none. The policy code sizes its
 * class table by XMCP_MAX_CLASSES too.
 */
#ifndef INCLUDE_XMCP_ADMISSION_H
#define INCLUDE_XMCP_ADMISSION_H

#include "xmcp_types.h"

#define XMCP_MAX_CLASSES 8
struct xmcp_class_cfg {
	__u32 max_sessions; /* concurrent M-sessions per subscriber address (the daemon enforces it) */
	__u32 max_subflows; /* subflows per M-session, the first included: joins past it are dropped */
	__u32 syn_rate;	    /* SYNs per second per subscriber address (token bucket, XDP) */
	__u32 syn_burst;    /* the bucket's depth */
};
XMCP_ASSERT_SIZE(struct xmcp_class_cfg, 16);

/*
 * XMCP_MAP_SYN_BUCKETS (LRU, keyed by the source in canonical form,
 * struct xmcp_addr): one bucket per address. XMCP_MAP_SESSIONS, the
 * daemon's count of sessions per subscriber, has as many entries.
 */
#define XMCP_SYN_BUCKETS 65536
struct xmcp_syn_bucket {
	__u64 tokens; /* in nanoseconds' worth of the class's rate: a SYN costs 1e9 */
	__u64 last;   /* bpf_ktime_get_ns() of the last refill */
};
XMCP_ASSERT_SIZE(struct xmcp_syn_bucket, 16);

/*
 * XMCP_MAP_JOINS and XMCP_MAP_JOINS_NEW, keyed by the MPTCP token of a
 * connection the daemon terminates (the token an MP_JOIN SYN names): how
 * many joins its class allows. The path program writes the entry into
 * XMCP_MAP_JOINS_NEW from the connection's MP_CAPABLE SYN+ACK; the daemon
 * moves it to XMCP_MAP_JOINS when it accepts the connection and deletes it
 * when the pair ends.
 */
#define XMCP_MAX_JOIN_ENTRIES 65536
struct xmcp_join_budget {
	__u32 max_joins;  /* the class's max_subflows - 1 */
	__u32 joins;	  /* MP_JOIN SYNs let through so far */
	__u32 last_nonce; /* of the last one: its retransmissions are not new joins */
	__u32 pad;
};
XMCP_ASSERT_SIZE(struct xmcp_join_budget, 16);

#endif
