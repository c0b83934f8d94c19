/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Everything that crosses the kernel/user boundary: map names, the pin
 * directory, counter layouts, the XDP->tc metadata and the interface
 * registry. Map names are given once here; the BPF side declares maps with
 * these macros and userspace derives the pin file names from the same ones.
 */
#ifndef XMCP_MAPS_H
#define XMCP_MAPS_H

#include "xmcp_class.h"

#define XMCP_STR_(x) #x
#define XMCP_STR(x) XMCP_STR_(x)

#define XMCP_PIN_DIR_DEFAULT "/sys/fs/bpf/xmcp"

#define XMCP_MAP_XDP_STATS xmcp_xdp_stats
#define XMCP_MAP_TC_STATS xmcp_tc_stats
#define XMCP_MAP_IFACES xmcp_ifaces
#define XMCP_MAP_STEER_IFS xmcp_steer_ifs
#define XMCP_MAP_SUBSCRIBERS xmcp_subscr
#define XMCP_PROG_XDP xmcp_xdp
#define XMCP_PROG_TC xmcp_tc_ingress
#define XMCP_PROG_STEER xmcp_tc_steer
#define XMCP_MAP_CLASSES xmcp_classes
#define XMCP_MAP_SYN_BUCKETS xmcp_syn_bkt
#define XMCP_MAP_JOINS xmcp_joins
#define XMCP_MAP_JOINS_NEW xmcp_joins_new
#define XMCP_MAP_SESSIONS xmcp_sessions
#define XMCP_MAP_DAEMON_STATS xmcp_daemon
#define XMCP_MAP_MODES xmcp_modes
#define XMCP_MAP_MODES_ON xmcp_modes_on
#define XMCP_MAP_LEARNED xmcp_learned
#define XMCP_PROG_PATH xmcp_tc_path
#define XMCP_MAP_PATH_STATS xmcp_path_stats
/* A path's rate share: the htb root qdisc xmcp puts on its device, and the class of MPTCP subflows. */
#define XMCP_HTB_HANDLE 0x786d
#define XMCP_HTB_CLASS 2

/*
 * The daemon's sockets carry this SO_PRIORITY, which only a process with
 * CAP_NET_ADMIN can set (an unprivileged one gets 0..6):
 * - its listeners: the steering program hands SYNs only to a listener that
 *   has it, never to whatever else a local user bound to the listen port
 *   (say, while no daemon runs and a killed one's programs are attached);
 * - each connection it accepts (set at accept: children do not inherit
 *   it), and so every subflow of it, joins included (MPTCP syncs it): the
 *   closed ones of a previous run that hold an endpoint's port are known
 *   as the daemon's (sock_diag reports it as the class id), anyone else's
 *   are left alone.
 * Its low bits are 0, so every qdisc's priority map treats it as the
 * default 0, and its major number is no qdisc's.
 */
#define XMCP_SOCK_PRIORITY 0x10

/* tc filter identity, so detach removes exactly our filter. */
#define XMCP_TC_HANDLE 0x786d /* "xm" */
#define XMCP_TC_PRIORITY 1

#define XMCP_MAX_IFACES 64

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
 * What the steering program does on a device (XMCP_MAP_STEER_IFS, keyed by
 * ifindex). Every steered device also marks the segments of flows that
 * belong to one of the daemon's sockets, so that they are delivered locally.
 */
#define XMCP_STEER_PLAIN_SYN 0x1 /* HCPE LAN: plain TCP SYNs to the TCP listener */
#define XMCP_STEER_MPTCP_SYN 0x2 /* HAG access: subscribers' MP_CAPABLE SYNs to the MPTCP listener */
#define XMCP_STEER_CONVERT 0x4	 /* MCP access: subscribers' MP_CONVERT and MP_CAPABLE SYNs to the MPTCP listener;
				    invalid ones, and non-subscribers' MPTCP SYNs, dropped by XDP */
#define XMCP_STEER_SUBSCRIBERS (XMCP_STEER_MPTCP_SYN | XMCP_STEER_CONVERT) /* modes that check the source */
#define XMCP_STEER_ACCESS 0x8  /* an access device (a path): its MPTCP subflow bytes are counted */
#define XMCP_STEER_SHAPED 0x10 /* a path with a rate share: egress MPTCP segments go in xmcp's htb class */

/* Subscriber prefixes (LPM trie); IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d/96+n). */
struct xmcp_prefix_key {
	__u32 prefixlen;
	__u8 addr[16];
};
XMCP_ASSERT_SIZE(struct xmcp_prefix_key, 20);

/*
 * Admission control (draft-deng 6.3, 6.4). Each subscriber prefix belongs to
 * a class (the value of XMCP_MAP_SUBSCRIBERS is the class id, an index into
 * XMCP_MAP_CLASSES); 0 in a limit means none.
 */
#define XMCP_MAX_CLASSES 8
struct xmcp_class_cfg {
	__u32 max_sessions; /* concurrent M-sessions per subscriber address (the daemon enforces it) */
	__u32 max_subflows; /* subflows per M-session, the first included: joins past it are dropped */
	__u32 syn_rate;	    /* SYNs per second per subscriber address (token bucket, XDP) */
	__u32 syn_burst;    /* the bucket's depth */
};
XMCP_ASSERT_SIZE(struct xmcp_class_cfg, 16);

/* XMCP_MAP_SYN_BUCKETS (LRU, keyed by the source as IPv4-mapped IPv6): one bucket per address. */
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

/*
 * XMCP_MAP_DAEMON_STATS (one slot, written by the daemon every second and at
 * each refusal): the relay's and admission's account, for `xmcp stats`.
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
	__u64 dest_refused; /* server legs never opened: the destination check refused them (user/dest.h) */
	__u64 fd_exhausted; /* times the listeners paused for want of file descriptors */
	__u64 no_head;	    /* connections reset before their MP_CONVERT head came (head_timeout, FIN, RST) */
	__u64 fd_refused;   /* connections reset for want of a file descriptor */
};
XMCP_ASSERT_SIZE(struct xmcp_daemon_stats, 104);

/*
 * The HAG's modes by destination (draft-deng 3.4): rules, first match
 * wins, else the default. XMCP_MAP_MODES holds two rule sets; the one
 * XMCP_MAP_MODES_ON names is live, so a reload writes the other and flips
 * one word: no SYN ever sees half a rule set.
 */
enum xmcp_mode {
	XMCP_MODE_TAKE_OVER,   /* terminate MPTCP, TCP to the server */
	XMCP_MODE_TRANSPARENT, /* let the MPTCP SYN through untouched */
	XMCP_MODE_HYBRID,      /* take over, unless the server is learned MPTCP-capable */
};
#define XMCP_MAX_MODE_RULES 64
struct xmcp_mode_rule {
	__u32 addr[4]; /* the prefix, masked; IPv4 as IPv4-mapped IPv6 */
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

/*
 * XMCP_MAP_PATH_STATS (per CPU, keyed by ifindex): the segments of MPTCP
 * subflows of the daemon's connections on each access device, counted by
 * the steering program (in) and the path program on egress (out).
 */
struct xmcp_path_stats {
	__u64 rx_packets, rx_bytes;
	__u64 tx_packets, tx_bytes;
};
XMCP_ASSERT_SIZE(struct xmcp_path_stats, 32);

/* XMCP_MAP_LEARNED (LRU): servers that answered with MP_CAPABLE, and when (bpf_ktime_get_ns). */
#define XMCP_LEARNED_MAX 65536
struct xmcp_server_key {
	__u8 addr[16]; /* IPv4 as IPv4-mapped IPv6 */
	__u16 port;    /* host order */
	__u16 pad;
};
XMCP_ASSERT_SIZE(struct xmcp_server_key, 20);

/*
 * Written by XDP in front of the packet (bpf_xdp_adjust_meta) and read by
 * tc from skb->data_meta, and by `xmcp classify` from BPF_PROG_TEST_RUN's
 * output. Offsets count from the first byte of the Ethernet frame.
 */
#define XMCP_META_MAGIC 0x786d6370 /* "xmcp" */
struct xmcp_meta {
	__u32 magic;
	__u8 cls;	    /* enum xmcp_class */
	__u8 reason;	    /* enum xmcp_malformed_reason, or XMCP_MF_NONE */
	__u8 n_convert;	    /* MP_CONVERT options recorded in convert_off */
	__u8 convert_err;   /* enum xmcp_mpc_err for syn_mp_convert_invalid */
	__u16 l3_off;	    /* IP header */
	__u16 l4_off;	    /* TCP header, 0 when not TCP */
	__u16 convert_off[2];
};
XMCP_ASSERT_SIZE(struct xmcp_meta, 16);
_Static_assert(__builtin_offsetof(struct xmcp_meta, cls) == 4, "xmcp_meta.cls moved");
_Static_assert(__builtin_offsetof(struct xmcp_meta, convert_off) == 12, "xmcp_meta.convert_off moved");

/* Registry of interfaces xmcp is attached to, keyed by ifindex. */
#define XMCP_IFACE_OWN_CLSACT 0x1 /* we created the clsact qdisc: remove it too */
struct xmcp_iface {
	__u64 netns_ino; /* ifindex is only unique within this namespace */
	__u32 xdp_prog_id;
	__u32 tc_prog_id;
	__u32 xdp_mode; /* enum xdp_attach_mode */
	__u32 flags;
	char name[16];
};
XMCP_ASSERT_SIZE(struct xmcp_iface, 40);

#endif
