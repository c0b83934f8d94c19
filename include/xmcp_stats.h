/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The counters `xmcp stats` reads: what the XDP classifier, the tc
 * programs and the daemon counted. Each layout is asserted, since the
 * datapath writes some of them as arrays indexed by class and userspace
 * prints every field by name.
 */
#ifndef INCLUDE_XMCP_STATS_H
#define INCLUDE_XMCP_STATS_H

#include "xmcp_class.h"

/*
 * One named u64 per class, so `bpftool map dump` prints the class names.
 * The datapath indexes the struct as an array: the layout is asserted below.
 */
#define XMCP_U64_FIELD(e, n) __u64 n;
struct xmcp_class_counts {
	XMCP_CLASSES(XMCP_U64_FIELD)
};

struct xmcp_malformed_counts {
	XMCP_MALFORMED_REASONS(XMCP_U64_FIELD)
};
#undef XMCP_U64_FIELD

/* Value of the single-slot per-CPU array XMCP_MAP_XDP_STATS. */
struct xmcp_xdp_stats {
	struct xmcp_class_counts packets;
	struct xmcp_class_counts bytes;
	struct xmcp_malformed_counts malformed;
	__u64 meta_unavailable; /* driver gave no headroom for metadata */
	__u64 mcp_invalid;	 /* MCP: SYN with an invalid MP_CONVERT, dropped */
	__u64 origin_not_subscriber; /* MCP, HAG with origin_check: MPTCP SYN from outside the
					subscriber prefixes, dropped */
	__u64 syn_rate_limited;	 /* a subscriber address sent SYNs faster than its class allows: dropped */
	__u64 join_over_limit;	 /* MP_JOIN SYN for a connection at its class's subflow limit: dropped */
	__u64 malformed_dropped; /* a frame xmcp cannot parse, on an access device: dropped */
	__u64 bad_source;	 /* IPv6 from an IPv4-mapped source, on an access device: dropped */
};

/* Value of XMCP_MAP_TC_STATS: what tc ingress read from the XDP metadata. */
struct xmcp_tc_stats {
	struct xmcp_class_counts meta;
	__u64 no_meta;		/* packet reached tc without xmcp metadata */
	__u64 steered;		/* SYNs handed to the daemon's listener */
	__u64 flow_marked;	/* segments of relayed flows marked for local delivery */
	__u64 no_listener;	/* a SYN to steer, but the daemon's listener is gone */
	__u64 not_subscriber;	/* MPTCP SYN from outside the subscriber prefixes, left alone */
	__u64 convert_no_mpc;	/* MCP: a SYN whose data starts with MP_CONVERT but that has no
				   MP_CAPABLE: ignored (left to the stack), as the draft says */
	__u64 passed_transparent; /* HAG: a SYN it would terminate, let through by a transparent rule */
	__u64 passed_learned;	/* HAG: the same, by a hybrid rule: the server is learned MPTCP-capable */
	__u64 learned;		/* HAG: SYN+ACKs with MP_CAPABLE that taught (or refreshed) a server */
	__u64 bad_addr;		/* a SYN to steer whose source or destination no relayed connection may
				   have (include/xmcp_addr.h, or IPv4-mapped over IPv6): dropped */
	__u64 local_dest;	/* a SYN to steer addressed to this gateway itself: left to the stack */
	__u64 synack_not_ours;	/* HAG: a SYN+ACK with MP_CAPABLE answering no SYN of ours: not learned */
};

XMCP_ASSERT_SIZE(struct xmcp_class_counts, 8 * XMCP_CLASS_MAX);
XMCP_ASSERT_SIZE(struct xmcp_malformed_counts, 8 * (XMCP_MF_MAX - 1));
XMCP_ASSERT_SIZE(struct xmcp_xdp_stats, 8 * (2 * XMCP_CLASS_MAX + XMCP_MF_MAX - 1 + 7));
XMCP_ASSERT_SIZE(struct xmcp_tc_stats, 8 * (XMCP_CLASS_MAX + 12));

/*
 * XMCP_MAP_PATH_STATS (per CPU, keyed by ifindex): the segments of MPTCP
 * subflows of the daemon's connections on each access device, counted by
 * the steering program (in) and the path program on egress (out).
 */
struct xmcp_path_stats {
	__u64 rx_packets, rx_bytes;
	__u64 tx_packets, tx_bytes;
	__u64 tx_by_arrival; /* HAG: segments sent out of this device, the one their flow arrived by, where
				the routing table said another (XMCP_STEER_ARRIVAL) */
};
XMCP_ASSERT_SIZE(struct xmcp_path_stats, 40);

/*
 * XMCP_MAP_DAEMON_STATS (a slot per relay worker, each written by its
 * worker every second and at each refusal; `xmcp stats` adds them up): the
 * relay's and admission's account.
 */
struct xmcp_daemon_stats {
	__u64 pairs_opened;
	__u64 pairs_closed;
	__u64 pairs_aborted;
	__u64 pairs_active;
	__u64 connect_failed;
	__u64 idle_expired;
	__u64 sessions_refused; /* a subscriber address at its class's max_sessions: reset */
	__u64 bytes_up;		/* client -> server */
	__u64 bytes_down;
	__u64 dest_refused; /* server legs never opened: the destination check refused them (user/daemon/dest.h) */
	__u64 fd_exhausted; /* times the listeners paused for want of file descriptors */
	__u64 no_head;	    /* connections reset before their MP_CONVERT head came (head_timeout, FIN, RST) */
	__u64 fd_refused;   /* connections reset for want of a file descriptor */
};
XMCP_ASSERT_SIZE(struct xmcp_daemon_stats, 104);

#endif
