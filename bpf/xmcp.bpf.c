// SPDX-License-Identifier: GPL-2.0
/*
 * xmcp datapath: the XDP SYN classifier and the tc ingress program that
 * reads its verdict from the XDP metadata.
 *
 * Every packet gets exactly one enum xmcp_class. Only SYN segments have
 * their options walked: they are the only ones xmcp acts on, and it keeps
 * the cost of a data segment close to that of an empty program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "parse.h"
#include "xmcp_maps.h"
#include "xmcp_tcpopt.h"
#include "xmcp_token.h"

#define AF_INET 2
#define AF_INET6 10
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xmcp_xdp_stats);
} XMCP_MAP_XDP_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xmcp_tc_stats);
} XMCP_MAP_TC_STATS SEC(".maps");

/* xmcp run: what the steering does on each device (XMCP_STEER_*), by ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XMCP_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} XMCP_MAP_STEER_IFS SEC(".maps");

/* xmcp run: the subscriber prefixes (IPv4 as IPv4-mapped IPv6). */

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xmcp_prefix_key);
	__type(value, __u32);
} XMCP_MAP_SUBSCRIBERS SEC(".maps");

/* Not used by the programs: userspace's record of where xmcp is attached. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XMCP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct xmcp_iface);
} XMCP_MAP_IFACES SEC(".maps");

/* Turn scan offsets from index `from` on into frame offsets (base + off). */
static __always_inline void record_converts(struct xmcp_meta *m, const struct xmcp_scan *s,
					    __u8 from, __u32 base)
{
	int i;

#pragma unroll
	for (i = 0; i < XMCP_MPC_MAX; i++)
		if (i >= from && i < s->n_convert)
			m->convert_off[i] = base + s->convert_off[i];
	m->n_convert = s->n_convert;
}

/* Class of a SYN (no ACK) from what its options and payload say. */
static __always_inline __u8 classify_syn(struct xmcp_meta *m, struct xmcp_scan *s,
					 struct xmcp_optbuf *buf, __u8 *payload, void *end,
					 __u32 payload_off, __u32 payload_len)
{
	__u8 n_opt = s->n_convert;

	if (s->flags & XMCP_SCAN_JOIN)
		/* the option's frame offset, for the subflow limit (it reads the token) */
		m->convert_off[0] = m->l4_off + sizeof(struct tcphdr) + s->join_off;
	if (s->flags & XMCP_SCAN_AUTH)
		return XMCP_CLASS_SYN_TCP_AUTH;
	if (s->flags & XMCP_SCAN_JOIN)
		return XMCP_CLASS_SYN_MP_JOIN;
	/* The draft: MP_CONVERT without MP_CAPABLE is ignored. */
	if (!(s->flags & XMCP_SCAN_MPC))
		return XMCP_CLASS_SYN;

	if (payload_len > XMCP_OPTBUF_SIZE)
		payload_len = XMCP_OPTBUF_SIZE; /* the framing is at most 45 bytes */
	if (payload_len && !copy_from_packet(payload, end, payload_len, buf)) {
		xmcp_scan_syn_payload(buf, payload_len, s);
		record_converts(m, s, n_opt, payload_off);
	}
	if (s->convert_err) {
		m->convert_err = s->convert_err;
		return XMCP_CLASS_SYN_MP_CONVERT_INVALID;
	}
	return s->n_convert ? XMCP_CLASS_SYN_MP_CONVERT : XMCP_CLASS_SYN_MP_CAPABLE;
}

/*
 * Options and payload of a SYN or SYN+ACK. Kept apart from classify_tcp so
 * that data segments never pay for the buffer. The buffer is deliberately
 * not zeroed (the scanners read only the bytes that were loaded): zeroing
 * it cost more than the whole parse of a data segment.
 */
static __always_inline __u8 classify_syn_segment(struct xmcp_meta *m, struct tcphdr *th,
						 void *end, __u32 l3_end, __u8 flags, __u8 *mptcp)
{
	struct xmcp_optbuf buf;
	struct xmcp_scan s = {};
	__u32 l4_off = m->l4_off, hlen = th->doff * 4;

	if (scan_tcp_header(th, end, &buf, &s)) {
		m->reason = XMCP_MF_TCP_TRUNC;
		return XMCP_CLASS_MALFORMED;
	}
	record_converts(m, &s, 0, l4_off + sizeof(struct tcphdr));
	if (s.flags & XMCP_SCAN_BAD) {
		m->reason = XMCP_MF_TCP_OPT;
		return XMCP_CLASS_MALFORMED;
	}
	if (flags & TCP_FLAG_ACK_BIT) {
		/* SYN+ACK: MP_CONVERT here means nothing, MP_CAPABLE teaches us the server. */
		return (s.flags & XMCP_SCAN_MPC) ? XMCP_CLASS_SYNACK_MP_CAPABLE : XMCP_CLASS_TCP;
	}
	/* what Linux will honour, whatever the class says (an MD5/AO SYN keeps its MPTCP) */
	*mptcp = s.flags & (XMCP_SCAN_MPC | XMCP_SCAN_JOIN);
	return classify_syn(m, &s, &buf, (__u8 *)th + hlen, end, l4_off + hlen,
			    l3_end - (l4_off + hlen));
}

/* TCP header at c->pos; l3_end bounds the segment. */
static __always_inline __u8 classify_tcp(struct cursor *c, __u32 l3_end,
					 struct xmcp_meta *m, __u8 *mptcp)
{
	struct tcphdr *th = c->pos;
	__u32 hlen, l4_off = cursor_off(c);
	__u8 flags;

	if ((void *)(th + 1) > c->end || l4_off + sizeof(*th) > l3_end) {
		m->reason = XMCP_MF_TCP_TRUNC;
		return XMCP_CLASS_MALFORMED;
	}
	m->l4_off = l4_off;
	hlen = th->doff * 4;
	if (hlen < sizeof(*th)) {
		m->reason = XMCP_MF_TCP_DOFF;
		return XMCP_CLASS_MALFORMED;
	}
	if (l4_off + hlen > l3_end) {
		m->reason = XMCP_MF_TCP_TRUNC;
		return XMCP_CLASS_MALFORMED;
	}
	flags = ((__u8 *)th)[13];
	if (!(flags & TCP_FLAG_SYN_BIT))
		return XMCP_CLASS_TCP;
	return classify_syn_segment(m, th, c->end, l3_end, flags, mptcp);
}

/*
 * The class of the frame in ctx, into m. *mptcp: the MPTCP options of a SYN
 * (XMCP_SCAN_MPC, XMCP_SCAN_JOIN), also when the class is another
 * (syn_tcp_auth): admission judges what the stack will honour.
 */
static __always_inline __u8 classify(struct xdp_md *ctx, struct xmcp_meta *m, __u8 *mptcp)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.start = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
		.len = ctx->data_end - ctx->data,
	};
	__u32 l3_off = 0, l3_end = 0;
	__u8 l4proto;
	int err;

	err = parse_to_l4(&c, &l3_off, &l3_end, &l4proto);
	m->l3_off = l3_off;
	if (err) {
		m->reason = err;
		return XMCP_CLASS_MALFORMED;
	}
	if (l4proto != IPPROTO_TCP)
		return XMCP_CLASS_NOT_TCP;
	return classify_tcp(&c, l3_end, m, mptcp);
}

static __always_inline void count_xdp(const struct xmcp_meta *m, __u64 len)
{
	struct xmcp_xdp_stats *st;
	__u32 key = 0;

	st = bpf_map_lookup_elem(&XMCP_MAP_XDP_STATS, &key);
	if (!st || m->cls >= XMCP_CLASS_MAX)
		return;
	((__u64 *)&st->packets)[m->cls]++;
	((__u64 *)&st->bytes)[m->cls] += len;
	if (m->reason > XMCP_MF_NONE && m->reason < XMCP_MF_MAX)
		((__u64 *)&st->malformed)[m->reason - 1]++;
}

/* Hand the verdict to tc in front of the packet; false if the driver can't. */
static __always_inline int write_meta(struct xdp_md *ctx, const struct xmcp_meta *m)
{
	int have = (long)ctx->data - (long)ctx->data_meta;
	struct xmcp_meta *dst;

	/*
	 * Size the metadata area to ours whatever is there already: a fresh
	 * frame has none, but BPF_PROG_TEST_RUN's repeat loop (the benchmark)
	 * hands us the same buffer with our previous metadata still in front.
	 */
	if (bpf_xdp_adjust_meta(ctx, have - (int)sizeof(*m)))
		return 0;
	dst = (void *)(long)ctx->data_meta;
	if ((void *)(dst + 1) > (void *)(long)ctx->data)
		return 0;
	__builtin_memcpy(dst, m, sizeof(*m));
	return 1;
}

/* Is this address in a subscriber prefix? */
static __always_inline int subscriber_addr(const struct xmcp_addr *a)
{
	struct xmcp_prefix_key k = { .prefixlen = 128 };

	__builtin_memcpy(k.addr, a->a, 16);
	return bpf_map_lookup_elem(&XMCP_MAP_SUBSCRIBERS, &k) != NULL;
}

/*
 * Set through the skeleton's rodata by `xmcp run` in the MCP role, and on
 * a HAG with "origin_check": anywhere else the verifier drops the origin
 * check, and MPTCP SYNs pay nothing for it (measured: +5 to +7 ns per
 * MPTCP SYN when it is compiled in).
 */
const volatile __u8 cfg_origin_check = 0;

/* What the XDP program does with a frame; each drop has its counter. */
enum { PASS, DROP_MCP_INVALID, DROP_NOT_SUBSCRIBER, DROP_SYN_RATE, DROP_JOIN_LIMIT, DROP_MALFORMED,
       DROP_BAD_SOURCE };

static __always_inline __u32 drop_counter(int verdict)
{
	switch (verdict) {
	case DROP_MCP_INVALID:
		return offsetof(struct xmcp_xdp_stats, mcp_invalid);
	case DROP_NOT_SUBSCRIBER:
		return offsetof(struct xmcp_xdp_stats, origin_not_subscriber);
	case DROP_SYN_RATE:
		return offsetof(struct xmcp_xdp_stats, syn_rate_limited);
	case DROP_JOIN_LIMIT:
		return offsetof(struct xmcp_xdp_stats, join_over_limit);
	case DROP_MALFORMED:
		return offsetof(struct xmcp_xdp_stats, malformed_dropped);
	}
	return offsetof(struct xmcp_xdp_stats, bad_source);
}

/* What the steering does on the frame's device (XMCP_STEER_*), 0 where xmcp does not steer. */
static __always_inline __u32 device_mode(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex, *mode = bpf_map_lookup_elem(&XMCP_MAP_STEER_IFS, &ifindex);

	return mode ? *mode : 0;
}

/*
 * Frames nobody on an access device may send: one xmcp cannot parse (a SYN
 * whose options run past its header still carries an MP_CAPABLE or MP_JOIN
 * Linux honours, which would pass every check below unseen; so do more
 * IPv6 extension headers than are followed), and IPv6 from an IPv4-mapped
 * source (RFC 4291 2.5.5.2: the stack drops it later, but it would draw
 * from the token bucket of the IPv4 address it names first).
 */
static __always_inline int hygiene(struct xdp_md *ctx, const struct xmcp_meta *m)
{
	struct xmcp_addr src, dst;

	if (m->cls == XMCP_CLASS_MALFORMED)
		return (device_mode(ctx) & XMCP_STEER_ACCESS) ? DROP_MALFORMED : PASS;
	if (m->cls != XMCP_CLASS_NOT_TCP &&
	    ip_addrs((void *)(long)ctx->data, (void *)(long)ctx->data_end, m->l3_off, &src, &dst) == 6 &&
	    xmcp_addr_is4(&src))
		return (device_mode(ctx) & XMCP_STEER_ACCESS) ? DROP_BAD_SOURCE : PASS;
	return PASS;
}

/* An MPTCP SYN by what the stack will make of it: MP_CAPABLE or MP_JOIN, in any class. */
static __always_inline int is_mptcp_syn(const struct xmcp_meta *m, __u8 mptcp)
{
	return m->cls == XMCP_CLASS_SYN_MP_CONVERT_INVALID || m->cls == XMCP_CLASS_SYN_MP_CONVERT ||
	       m->cls == XMCP_CLASS_SYN_MP_CAPABLE || m->cls == XMCP_CLASS_SYN_MP_JOIN ||
	       (m->cls == XMCP_CLASS_SYN_TCP_AUTH && mptcp);
}

/*
 * Origin authentication (draft-deng 6.4, boucadair rules), on the devices
 * whose steering serves subscribers (the MCP's and the HAG's access): any
 * MPTCP SYN (MP_CONVERT, MP_CAPABLE, MP_JOIN, with TCP-MD5/AO or without)
 * from outside the subscriber prefixes is dropped here, before any socket
 * state exists; on the MCP's, an invalid MP_CONVERT too.
 */
static __always_inline int origin_check(struct xdp_md *ctx, const struct xmcp_meta *m, __u8 mptcp)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct xmcp_addr src, dst;
	__u32 mode;

	if (!cfg_origin_check || !is_mptcp_syn(m, mptcp))
		return PASS;
	mode = device_mode(ctx);
	if (!(mode & XMCP_STEER_SUBSCRIBERS))
		return PASS;
	if (m->cls == XMCP_CLASS_SYN_MP_CONVERT_INVALID)
		return (mode & XMCP_STEER_CONVERT) ? DROP_MCP_INVALID : PASS;
	if (ip_addrs(data, end, m->l3_off, &src, &dst) < 0)
		return PASS;
	return subscriber_addr(&src) ? PASS : DROP_NOT_SUBSCRIBER;
}

/* ---- admission control (subscriber classes): SYN rate and subflow limits ---- */

/*
 * Set through the rodata by `xmcp run` on a HAG or MCP whose policy has
 * subscriber classes; elsewhere the verifier drops this code (the
 * classifier's benchmark stays as it was).
 */
const volatile __u8 cfg_admission = 0;


struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XMCP_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct xmcp_class_cfg);
} XMCP_MAP_CLASSES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XMCP_SYN_BUCKETS);
	__type(key, struct xmcp_addr);
	__type(value, struct xmcp_syn_bucket);
} XMCP_MAP_SYN_BUCKETS SEC(".maps");

/*
 * Join budgets by token (struct xmcp_join_budget). XMCP_MAP_JOINS_NEW gets
 * one from each MP_CAPABLE SYN+ACK of ours (path program, egress), for the
 * moments before the daemon accepts the connection: the peer's first join
 * can come that early. LRU, since a connection reset before it was accepted
 * leaves its entry behind. The daemon moves the entry to XMCP_MAP_JOINS at
 * accept and deletes it when the pair ends, so that established connections
 * never lose their budget to an eviction.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XMCP_MAX_JOIN_ENTRIES);
	__type(key, __u32);
	__type(value, struct xmcp_join_budget);
} XMCP_MAP_JOINS_NEW SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XMCP_MAX_JOIN_ENTRIES);
	__type(key, __u32);
	__type(value, struct xmcp_join_budget);
} XMCP_MAP_JOINS SEC(".maps");

/* Not used by the programs: the daemon's count of sessions per subscriber address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XMCP_SYN_BUCKETS);
	__type(key, struct xmcp_addr);
	__type(value, __u32);
} XMCP_MAP_SESSIONS SEC(".maps");

/* Not used by the programs: the daemon's own counters, for `xmcp stats`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xmcp_daemon_stats);
} XMCP_MAP_DAEMON_STATS SEC(".maps");

#define NSEC_PER_SEC 1000000000ULL

/*
 * Take one SYN's token from the address's bucket; 0 when it is empty.
 * Concurrent SYNs of one address on two CPUs may both see the same level:
 * the limit is approximate by a SYN or so, which is all a flood guard needs.
 */
static __always_inline int take_syn_token(const struct xmcp_addr *k, const struct xmcp_class_cfg *c)
{
	__u64 now = bpf_ktime_get_ns(), cap = (__u64)(c->syn_burst ?: 1) * NSEC_PER_SEC, t;
	struct xmcp_syn_bucket *b = bpf_map_lookup_elem(&XMCP_MAP_SYN_BUCKETS, k);

	if (!b) {
		struct xmcp_syn_bucket fresh = { .tokens = cap - NSEC_PER_SEC, .last = now };

		bpf_map_update_elem(&XMCP_MAP_SYN_BUCKETS, k, &fresh, BPF_ANY);
		return 1;
	}
	/* tokens grow by the rate every nanosecond, up to the burst */
	if (now - b->last >= cap / c->syn_rate)
		t = cap;
	else
		t = b->tokens + (now - b->last) * c->syn_rate;
	if (t > cap)
		t = cap;
	b->last = now;
	if (t < NSEC_PER_SEC) {
		b->tokens = t;
		return 0;
	}
	b->tokens = t - NSEC_PER_SEC;
	return 1;
}

/*
 * An MP_JOIN SYN names its connection by the token (bytes 4..7 of the
 * 12-byte option; its random nonce follows). Connections the daemon limited
 * have a budget: joins past it are dropped, a retransmission of the last
 * join let through is not a new one. A SYN whose MP_JOIN is not the 12
 * bytes a SYN's must be (RFC 8684 3.2) names no token the limit could
 * count: dropped. 1 to let it through.
 */
static __always_inline int join_allowed(struct xdp_md *ctx, const struct xmcp_meta *m)
{
	__u8 *opt = frame_ptr((void *)(long)ctx->data, (void *)(long)ctx->data_end, m->convert_off[0], 12);
	struct xmcp_join_budget *jb;
	__u32 token, nonce;

	if (!opt || opt[1] != 12)
		return 0;
	__builtin_memcpy(&token, opt + 4, 4);
	__builtin_memcpy(&nonce, opt + 8, 4);
	token = bpf_ntohl(token);
	/* the daemon's entry once it accepted the connection, else the SYN+ACK's */
	jb = bpf_map_lookup_elem(&XMCP_MAP_JOINS, &token);
	if (!jb)
		jb = bpf_map_lookup_elem(&XMCP_MAP_JOINS_NEW, &token);
	if (!jb)
		return 1;
	if (nonce && jb->last_nonce == nonce)
		return 1;
	if (jb->joins >= jb->max_joins)
		return 0;
	__sync_fetch_and_add(&jb->joins, 1);
	jb->last_nonce = nonce;
	return 1;
}

/*
 * Admission by subscriber class (draft-deng 6.3, 6.4), on the devices whose
 * steering serves subscribers: every SYN from a subscriber address takes a
 * token of its class's rate (MD5/AO SYNs included: a limit is no change to
 * the segment), the bucket kept per IPv4 address or IPv6 /64 (one
 * subscriber rotating addresses in its /64 is one subscriber), and an
 * MP_JOIN SYN must fit its connection's subflow budget.
 */
static __always_inline int admission(struct xdp_md *ctx, const struct xmcp_meta *m, __u8 mptcp)
{
	struct xmcp_prefix_key pk = { .prefixlen = 128 };
	struct xmcp_class_cfg *c;
	struct xmcp_addr src, dst;
	__u32 *cls;

	if (!cfg_admission)
		return PASS;
	if (m->cls != XMCP_CLASS_SYN && m->cls != XMCP_CLASS_SYN_TCP_AUTH && !is_mptcp_syn(m, mptcp))
		return PASS;
	if (!(device_mode(ctx) & XMCP_STEER_SUBSCRIBERS))
		return PASS;
	if (ip_addrs((void *)(long)ctx->data, (void *)(long)ctx->data_end, m->l3_off, &src, &dst) < 0)
		return PASS;
	__builtin_memcpy(pk.addr, src.a, 16);
	cls = bpf_map_lookup_elem(&XMCP_MAP_SUBSCRIBERS, &pk);
	c = cls ? bpf_map_lookup_elem(&XMCP_MAP_CLASSES, cls) : NULL;
	/* the rate first: a SYN it drops spends no join */
	if (c && c->syn_rate) {
		xmcp_addr_subscriber(&src);
		if (!take_syn_token(&src, c))
			return DROP_SYN_RATE;
	}
	if ((m->cls == XMCP_CLASS_SYN_MP_JOIN || (mptcp & XMCP_SCAN_JOIN)) && !join_allowed(ctx, m))
		return DROP_JOIN_LIMIT;
	return PASS;
}

/* Add one to a counter of the XDP stats (the field's offset, from offsetof). */
static __always_inline void count_xdp_event(__u32 off)
{
	__u32 key = 0;
	__u8 *st = bpf_map_lookup_elem(&XMCP_MAP_XDP_STATS, &key);

	if (st && off <= sizeof(struct xmcp_xdp_stats) - sizeof(__u64))
		(*(__u64 *)(st + off))++;
}

SEC("xdp")
int XMCP_PROG_XDP(struct xdp_md *ctx)
{
	struct xmcp_meta m = { .magic = XMCP_META_MAGIC };
	__u64 len = ctx->data_end - ctx->data;
	__u8 mptcp = 0;
	int verdict;

	m.cls = classify(ctx, &m, &mptcp);
	count_xdp(&m, len);
	verdict = hygiene(ctx, &m);
	if (verdict == PASS)
		verdict = origin_check(ctx, &m, mptcp);
	if (verdict == PASS)
		verdict = admission(ctx, &m, mptcp);
	if (verdict != PASS) {
		count_xdp_event(drop_counter(verdict));
		return XDP_DROP;
	}
	if (m.cls != XMCP_CLASS_SYN_MP_CONVERT && m.cls != XMCP_CLASS_SYN_MP_CONVERT_INVALID) {
		/* Options ignored by the draft leave no trace for tc to act on. */
		m.n_convert = 0;
		m.convert_off[0] = m.convert_off[1] = 0;
	}
	if (!write_meta(ctx, &m))
		count_xdp_event(offsetof(struct xmcp_xdp_stats, meta_unavailable));
	return XDP_PASS;
}

SEC("tc")
int XMCP_PROG_TC(struct __sk_buff *skb)
{
	struct xmcp_meta *m = (void *)(long)skb->data_meta;
	struct xmcp_tc_stats *st;
	__u32 key = 0;

	st = bpf_map_lookup_elem(&XMCP_MAP_TC_STATS, &key);
	if (!st)
		return TC_ACT_OK;
	if ((void *)(m + 1) > (void *)(long)skb->data || m->magic != XMCP_META_MAGIC ||
	    m->cls >= XMCP_CLASS_MAX)
		st->no_meta++;
	else
		((__u64 *)&st->meta)[m->cls]++;
	return TC_ACT_OK;
}

/* ---- steering (xmcp run): hand SYNs to the daemon, keep its flows local ---- */

/* Set through the skeleton's rodata by `xmcp run` before load. */
const volatile __u32 cfg_mark = 0;
const volatile __be32 cfg_listen4 = 0;	   /* the listeners' IPv4 address (loopback) */
const volatile __be16 cfg_listen_port = 0; /* and port, network order */
/* HAG: terminate only SYNs marked with an empty MP_CONVERT (else every MP_CAPABLE SYN). */
const volatile __u8 cfg_marker = 0;



#define XMCP_IPV6_LOOPBACK_LAST 1

/* The segment's 4-tuple from the offsets XDP found; 0 = IPv4, 1 = IPv6, <0 = none. */
static __always_inline int read_tuple(struct __sk_buff *skb, const struct xmcp_meta *m,
				      struct bpf_sock_tuple *t)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct tcphdr *th = frame_ptr(data, end, m->l4_off, sizeof(*th));
	struct iphdr *iph = frame_ptr(data, end, m->l3_off, sizeof(*iph));
	struct ipv6hdr *ip6;

	if (!th || !iph)
		return -1;
	if (iph->version == 4) {
		t->ipv4.saddr = iph->saddr;
		t->ipv4.daddr = iph->daddr;
		t->ipv4.sport = th->source;
		t->ipv4.dport = th->dest;
		return 0;
	}
	ip6 = frame_ptr(data, end, m->l3_off, sizeof(*ip6));
	if (!ip6)
		return -1;
	__builtin_memcpy(t->ipv6.saddr, &ip6->saddr, 16);
	__builtin_memcpy(t->ipv6.daddr, &ip6->daddr, 16);
	t->ipv6.sport = th->source;
	t->ipv6.dport = th->dest;
	return 1;
}

/* One address of a tuple (src: its source), in canonical form. */
static __always_inline void tuple_addr(const struct bpf_sock_tuple *t, int v6, int src, struct xmcp_addr *a)
{
	if (v6)
		xmcp_addr_from6(a, src ? t->ipv6.saddr : t->ipv6.daddr);
	else
		xmcp_addr_from4(a, src ? &t->ipv4.saddr : &t->ipv4.daddr);
}

static __always_inline __u32 tuple_size(int v6)
{
	return v6 ? sizeof(((struct bpf_sock_tuple *)0)->ipv6) : sizeof(((struct bpf_sock_tuple *)0)->ipv4);
}

/* Segment of a flow one of our sockets owns (not a listener): deliver it locally. */
static __always_inline int owned_by_local_socket(struct __sk_buff *skb, struct bpf_sock_tuple *t,
						 int v6)
{
	struct bpf_sock *sk = bpf_skc_lookup_tcp(skb, t, tuple_size(v6), BPF_F_CURRENT_NETNS, 0);
	int owned;

	if (!sk)
		return 0;
	/* A listener matched only by its port would swallow forwarded traffic. */
	owned = sk->state != BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	return owned;
}

/*
 * Does the TCP segment th carry an MPTCP option? Every segment of an MPTCP
 * subflow does (a DSS at least) until the connection falls back to TCP.
 * This is how the tc programs tell subflow traffic, from the packet alone:
 * asking the kernel for the socket's MPTCP context (bpf_skc_to_mptcp_sock)
 * is not safe on every socket a segment may name. On Debian's 6.1 it took
 * the per-CPU control socket of a reset for a TCP one and panicked.
 */
static __always_inline int segment_is_mptcp(struct tcphdr *th, void *end)
{
	struct xmcp_optbuf buf;
	struct xmcp_scan s = {};

	return !scan_tcp_header(th, end, &buf, &s) && (s.flags & XMCP_SCAN_MPTCP);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, XMCP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct xmcp_path_stats);
} XMCP_MAP_PATH_STATS SEC(".maps");

/* One MPTCP subflow segment of ours through an access device: in (rx) or out. */
static __always_inline void count_path(__u32 ifindex, __u32 len, int out)
{
	struct xmcp_path_stats *ps = bpf_map_lookup_elem(&XMCP_MAP_PATH_STATS, &ifindex);

	if (!ps) {
		struct xmcp_path_stats zero = {};

		bpf_map_update_elem(&XMCP_MAP_PATH_STATS, &ifindex, &zero, BPF_NOEXIST);
		ps = bpf_map_lookup_elem(&XMCP_MAP_PATH_STATS, &ifindex);
		if (!ps)
			return;
	}
	if (out) {
		ps->tx_packets++;
		ps->tx_bytes += len;
	} else {
		ps->rx_packets++;
		ps->rx_bytes += len;
	}
}

/* The marker: exactly one MP_CONVERT, of length 4 (no address). */
static __always_inline int is_empty_marker(struct __sk_buff *skb, const struct xmcp_meta *m)
{
	__u8 *opt = frame_ptr((void *)(long)skb->data, (void *)(long)skb->data_end, m->convert_off[0], 2);

	return m->n_convert == 1 && opt && opt[1] == XMCP_MPC_LEN_EMPTY;
}

/* Is this an MPTCP SYN the HAG terminates? */
static __always_inline int hag_terminates(struct __sk_buff *skb, const struct xmcp_meta *m)
{
	if (cfg_marker)
		return m->cls == XMCP_CLASS_SYN_MP_CONVERT && is_empty_marker(skb, m);
	return m->cls == XMCP_CLASS_SYN_MP_CAPABLE;
}


static __always_inline int is_subscriber(const struct bpf_sock_tuple *t, int v6)
{
	struct xmcp_addr a;

	tuple_addr(t, v6, 1, &a);
	return subscriber_addr(&a);
}


/*
 * The MCP takes MP_CONVERT SYNs, and plain MP_CAPABLE ones too: a SYN whose
 * data was dropped on the way arrives without its MP_CONVERT, which the
 * client then sends at the head of the stream (the daemon reads it there).
 */
static __always_inline int mcp_takes(const struct xmcp_meta *m)
{
	return m->cls == XMCP_CLASS_SYN_MP_CONVERT || m->cls == XMCP_CLASS_SYN_MP_CAPABLE;
}

/* A plain SYN whose data starts with an MPTCP option (kind 30): an MP_CONVERT without MP_CAPABLE. */
static __always_inline int data_starts_with_mptcp(struct __sk_buff *skb, const struct xmcp_meta *m)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct tcphdr *th = frame_ptr(data, end, m->l4_off, sizeof(*th));
	__u8 *kind;

	if (!th)
		return 0;
	kind = (__u8 *)th + ((th->doff * 4) & 0x3c);
	return (void *)(kind + 1) <= end && *kind == XMCP_TCPOPT_MPTCP;
}

/*
 * A SYN whose source or destination no relayed connection may have
 * (include/xmcp_addr.h: the check the daemon makes too), or that comes over
 * IPv6 with an IPv4-mapped address, which has no business on the wire
 * (RFC 4291 2.5.5.2) and would reach IPv4 through an IPv6 socket.
 */
static __always_inline int bad_addresses(const struct bpf_sock_tuple *t, int v6)
{
	struct xmcp_addr src, dst;

	tuple_addr(t, v6, 1, &src);
	tuple_addr(t, v6, 0, &dst);
	if (v6 && (xmcp_addr_is4(&src) || xmcp_addr_is4(&dst)))
		return 1;
	return xmcp_addr_verdict(&src) != XMCP_ADDR_OK || xmcp_addr_verdict(&dst) != XMCP_ADDR_OK;
}

/*
 * Is the SYN addressed to this gateway itself (the kernel's route is local,
 * or broadcast, multicast)? Then it is for a service here, which gets it as
 * it would without xmcp: never relayed into itself. A device without
 * forwarding gives no answer (BPF_FIB_LKUP_RET_FWD_DISABLED): the daemon's
 * own check (user/dest.c) refuses such a destination then.
 */
static __always_inline int dest_is_local(struct __sk_buff *skb, const struct bpf_sock_tuple *t, int v6)
{
	struct bpf_fib_lookup p = { .ifindex = skb->ingress_ifindex, .l4_protocol = IPPROTO_TCP };

	if (v6) {
		p.family = AF_INET6;
		__builtin_memcpy(p.ipv6_src, t->ipv6.saddr, 16);
		__builtin_memcpy(p.ipv6_dst, t->ipv6.daddr, 16);
		p.sport = t->ipv6.sport;
		p.dport = t->ipv6.dport;
	} else {
		p.family = AF_INET;
		p.ipv4_src = t->ipv4.saddr;
		p.ipv4_dst = t->ipv4.daddr;
		p.sport = t->ipv4.sport;
		p.dport = t->ipv4.dport;
	}
	return bpf_fib_lookup(skb, &p, sizeof(p), 0) == BPF_FIB_LKUP_RET_NOT_FWDED;
}

/* Hand a SYN to the daemon's listener on the configured loopback address and port. */
static __always_inline int assign_listener(struct __sk_buff *skb, struct bpf_sock_tuple *t, int v6)
{
	struct bpf_sock *sk;
	int err;

	if (v6) {
		__builtin_memset(t->ipv6.daddr, 0, 16);
		t->ipv6.daddr[3] = bpf_htonl(XMCP_IPV6_LOOPBACK_LAST);
		t->ipv6.dport = cfg_listen_port;
	} else {
		t->ipv4.daddr = cfg_listen4;
		t->ipv4.dport = cfg_listen_port;
	}
	sk = bpf_sk_lookup_tcp(skb, t, tuple_size(v6), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return -1;
	/* the daemon's listener, not one a local user bound to the same port */
	if (sk->state != BPF_TCP_LISTEN || sk->priority != XMCP_SOCK_PRIORITY) {
		bpf_sk_release(sk);
		return -1;
	}
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	return err;
}

/* ---- the HAG's modes by destination (take_over, transparent, hybrid) ---- */

/* Set by `xmcp run` on a HAG whose policy has "modes"; elsewhere the code goes. */
const volatile __u8 cfg_modes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct xmcp_modes);
} XMCP_MAP_MODES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} XMCP_MAP_MODES_ON SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XMCP_LEARNED_MAX);
	__type(key, struct xmcp_server_key);
	__type(value, __u64);
} XMCP_MAP_LEARNED SEC(".maps");

static __always_inline struct xmcp_modes *live_modes(void)
{
	__u32 key = 0, *on = bpf_map_lookup_elem(&XMCP_MAP_MODES_ON, &key);

	if (!on)
		return NULL;
	key = *on & 1;
	return bpf_map_lookup_elem(&XMCP_MAP_MODES, &key);
}

/* The mode of the SYN's destination: the first rule that matches, else the default. */
static __always_inline int mode_of(const struct xmcp_modes *ms, const __u32 a[4], __u16 port)
{
	__u32 i;

	for (i = 0; i < XMCP_MAX_MODE_RULES; i++) {
		const struct xmcp_mode_rule *r = &ms->rule[i];

		if (i >= ms->n_rules)
			break;
		if ((a[0] & r->mask[0]) == r->addr[0] && (a[1] & r->mask[1]) == r->addr[1] &&
		    (a[2] & r->mask[2]) == r->addr[2] && (a[3] & r->mask[3]) == r->addr[3] &&
		    (!r->port || r->port == port))
			return r->mode;
	}
	return ms->default_mode;
}

static __always_inline void server_key(struct xmcp_server_key *k, const __u32 a[4], __u16 port)
{
	__builtin_memcpy(k->addr, a, 16);
	k->port = port;
	k->pad = 0;
}

/* Does the HAG let this SYN (one it would terminate) through by its destination's mode? */
static __always_inline int passed_by_mode(const struct bpf_sock_tuple *t, int v6, struct xmcp_tc_stats *st)
{
	struct xmcp_modes *ms = live_modes();
	struct xmcp_server_key k;
	struct xmcp_addr da;
	__u64 *seen;
	__u32 a[4];
	__u16 port;
	int mode;

	if (!ms)
		return 0;
	tuple_addr(t, v6, 0, &da);
	__builtin_memcpy(a, da.a, 16);
	port = bpf_ntohs(v6 ? t->ipv6.dport : t->ipv4.dport);
	mode = mode_of(ms, a, port);
	if (mode == XMCP_MODE_TRANSPARENT) {
		st->passed_transparent++;
		return 1;
	}
	if (mode != XMCP_MODE_HYBRID)
		return 0;
	server_key(&k, a, port);
	seen = bpf_map_lookup_elem(&XMCP_MAP_LEARNED, &k);
	if (!seen || bpf_ktime_get_ns() - *seen > ms->lifetime_ns)
		return 0;
	st->passed_learned++;
	return 1;
}

/*
 * Does this SYN+ACK answer a SYN of ours? A socket of ours in SYN-SENT on
 * its 4-tuple, and an ACK in that socket's sequence space (the check the
 * stack makes next): anyone can send a SYN+ACK with MP_CAPABLE toward a
 * subscriber, only the server we called can send this one. Learning from
 * anything else would let a spoofer mark any server MPTCP-capable.
 */
static __always_inline int answers_our_syn(struct __sk_buff *skb, const struct xmcp_meta *m,
					   struct bpf_sock_tuple *t, int v6)
{
	struct tcphdr *th = frame_ptr((void *)(long)skb->data, (void *)(long)skb->data_end, m->l4_off,
				      sizeof(*th));
	struct bpf_sock *sk, *full;
	struct bpf_tcp_sock *tp;
	int ok = 0;
	__u32 ack;

	if (!th)
		return 0;
	sk = bpf_skc_lookup_tcp(skb, t, tuple_size(v6), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	full = sk->state == BPF_TCP_SYN_SENT ? bpf_sk_fullsock(sk) : NULL;
	tp = full ? bpf_tcp_sock(full) : NULL;
	if (tp) {
		/* the SYN's own sequence number acknowledged, or what went with it (snd_nxt
		 * may not count the SYN yet where the program runs) */
		ack = bpf_ntohl(th->ack_seq);
		ok = ack == tp->snd_una + 1 || ((__s32)(ack - tp->snd_una) > 0 && (__s32)(ack - tp->snd_nxt) <= 0);
	}
	bpf_sk_release(sk);
	return ok;
}

/* A server answered a SYN with MP_CAPABLE: it speaks MPTCP (learned, or refreshed). */
static __always_inline void learn_server(const struct bpf_sock_tuple *t, int v6, struct xmcp_tc_stats *st)
{
	struct xmcp_server_key k;
	__u64 now = bpf_ktime_get_ns();
	struct xmcp_addr sa;
	__u32 a[4];

	tuple_addr(t, v6, 1, &sa);
	__builtin_memcpy(a, sa.a, 16);
	server_key(&k, a, bpf_ntohs(v6 ? t->ipv6.sport : t->ipv4.sport));
	bpf_map_update_elem(&XMCP_MAP_LEARNED, &k, &now, BPF_ANY);
	st->learned++;
}

SEC("tc")
int XMCP_PROG_STEER(struct __sk_buff *skb)
{
	struct xmcp_meta *m = (void *)(long)skb->data_meta;
	struct bpf_sock_tuple t = {};
	struct xmcp_tc_stats *st;
	__u32 key = 0, ifindex = skb->ingress_ifindex, *mode;
	int v6, want;

	st = bpf_map_lookup_elem(&XMCP_MAP_TC_STATS, &key);
	if (!st)
		return TC_ACT_OK;
	if ((void *)(m + 1) > (void *)(long)skb->data || m->magic != XMCP_META_MAGIC ||
	    m->cls >= XMCP_CLASS_MAX) {
		st->no_meta++;
		return TC_ACT_OK;
	}
	((__u64 *)&st->meta)[m->cls]++;
	if (m->cls == XMCP_CLASS_NOT_TCP || m->cls == XMCP_CLASS_MALFORMED || !m->l4_off)
		return TC_ACT_OK;
	v6 = read_tuple(skb, m, &t);
	if (v6 < 0)
		return TC_ACT_OK;

	mode = bpf_map_lookup_elem(&XMCP_MAP_STEER_IFS, &ifindex);
	if (mode && (*mode & XMCP_STEER_CONVERT) && m->cls == XMCP_CLASS_SYN &&
	    data_starts_with_mptcp(skb, m))
		st->convert_no_mpc++;
	want = mode && (((*mode & XMCP_STEER_PLAIN_SYN) && m->cls == XMCP_CLASS_SYN) ||
			((*mode & XMCP_STEER_MPTCP_SYN) && hag_terminates(skb, m)) ||
			((*mode & XMCP_STEER_CONVERT) && mcp_takes(m)));
	if (want && (*mode & XMCP_STEER_SUBSCRIBERS) && !is_subscriber(&t, v6)) {
		st->not_subscriber++;
		want = 0;
	}
	if (want && bad_addresses(&t, v6)) {
		st->bad_addr++;
		return TC_ACT_SHOT;
	}
	/* (an MCP's SYNs are addressed to itself: their server is named in MP_CONVERT) */
	if (want && !(*mode & XMCP_STEER_CONVERT) && dest_is_local(skb, &t, v6)) {
		st->local_dest++;
		want = 0;
	}
	if (want && cfg_modes && (*mode & XMCP_STEER_MPTCP_SYN) && passed_by_mode(&t, v6, st))
		want = 0;
	if (want) {
		if (assign_listener(skb, &t, v6)) {
			st->no_listener++;
			return TC_ACT_OK;
		}
		skb->mark = cfg_mark;
		st->steered++;
		return TC_ACT_OK;
	}
	/* from a server's side (not an access device): learn who speaks MPTCP, from its answer to us */
	if (cfg_modes && m->cls == XMCP_CLASS_SYNACK_MP_CAPABLE && mode && !(*mode & XMCP_STEER_SUBSCRIBERS)) {
		if (answers_our_syn(skb, m, &t, v6))
			learn_server(&t, v6, st);
		else
			st->synack_not_ours++;
	}
	/* SYNs other than ours open flows nobody here owns: only later segments can be ours. */
	if (m->cls != XMCP_CLASS_TCP && m->cls != XMCP_CLASS_SYNACK_MP_CAPABLE)
		return TC_ACT_OK;
	if (!owned_by_local_socket(skb, &t, v6))
		return TC_ACT_OK;
	skb->mark = cfg_mark;
	st->flow_marked++;
	if (mode && (*mode & XMCP_STEER_ACCESS)) {
		void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
		struct tcphdr *th = frame_ptr(data, end, m->l4_off, sizeof(*th));

		if (th && segment_is_mptcp(th, end))
			count_path(ifindex, skb->len, 0);
	}
	return TC_ACT_OK;
}

/* ---- per path: MPTCP subflows counted and shaped, join budgets set ---- */

/*
 * An MP_CAPABLE SYN+ACK of ours to a subscriber carries our key, and so the
 * token the peer's MP_JOIN SYNs will name: if the subscriber's class limits
 * subflows, the connection's budget goes in XMCP_MAP_JOINS_NEW now, ahead
 * of any join. dst: the subscriber; opts: the segment's options, scanned.
 */
static __always_inline void budget_joins(const struct xmcp_addr *dst, const struct xmcp_optbuf *opts,
					 const struct xmcp_scan *s)
{
	struct xmcp_prefix_key pk = { .prefixlen = 128 };
	struct xmcp_join_budget b = {};
	struct xmcp_class_cfg *c;
	__u32 *cls, token;
	__u32 k = s->mpc_off;

	if (s->mpc_len < 12)
		return; /* no key: not a SYN+ACK of MPTCP v1 */
	__builtin_memcpy(pk.addr, dst->a, 16);
	cls = bpf_map_lookup_elem(&XMCP_MAP_SUBSCRIBERS, &pk);
	c = cls ? bpf_map_lookup_elem(&XMCP_MAP_CLASSES, cls) : NULL;
	if (!c || !c->max_subflows)
		return;
	token = xmcp_mptcp_token(xmcp_buf_be32(opts, k + 4), xmcp_buf_be32(opts, k + 8));
	b.max_joins = c->max_subflows - 1;
	/* a retransmitted SYN+ACK keeps the joins counted so far */
	bpf_map_update_elem(&XMCP_MAP_JOINS_NEW, &token, &b, BPF_NOEXIST);
}

/*
 * On the egress of each access device (tc clsact, before the root qdisc),
 * for segments of our own sockets (forwarded ones have none): one that
 * carries an MPTCP option is a subflow's, counted for the path and, on a
 * path with a rate share, given the classid of xmcp's htb class in
 * skb->priority, which htb honours before any filter. Everything else
 * keeps its priority and passes htb unshaped (no default class).
 */
SEC("tc")
int XMCP_PROG_PATH(struct __sk_buff *skb)
{
	struct cursor c = {
		.pos = (void *)(long)skb->data,
		.start = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
		.len = skb->len,
	};
	__u32 ifindex = skb->ifindex, l3_off = 0, l3_end = 0, *mode;
	struct xmcp_addr src, dst;
	struct xmcp_optbuf opts;
	struct xmcp_scan s = {};
	struct tcphdr *th;
	__u8 l4proto;

	if (!skb->sk || parse_to_l4(&c, &l3_off, &l3_end, &l4proto) || l4proto != IPPROTO_TCP)
		return TC_ACT_OK;
	th = c.pos;
	if ((void *)(th + 1) > c.end || th->doff < 5 || scan_tcp_header(th, c.end, &opts, &s) ||
	    !(s.flags & XMCP_SCAN_MPTCP))
		return TC_ACT_OK;
	count_path(ifindex, skb->len, 1);
	if (cfg_admission && th->syn && th->ack && (s.flags & XMCP_SCAN_MPC) &&
	    ip_addrs(c.start, c.end, l3_off, &src, &dst) > 0)
		budget_joins(&dst, &opts, &s);
	mode = bpf_map_lookup_elem(&XMCP_MAP_STEER_IFS, &ifindex);
	if (mode && (*mode & XMCP_STEER_SHAPED))
		skb->priority = (XMCP_HTB_HANDLE << 16) | XMCP_HTB_CLASS;
	return TC_ACT_OK;
}
