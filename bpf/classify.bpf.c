// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP program (XMCP_PROG_XDP): every frame gets exactly one
 * enum xmcp_class, counted, and handed to tc in the frame's metadata
 * (struct xmcp_meta); then the drops that must happen before any socket
 * state exists, on the devices where `xmcp run` serves subscribers:
 * frames nobody may send there (hygiene), MPTCP SYNs from outside the
 * subscriber prefixes (origin check), and admission by subscriber class
 * (SYN rate, subflow budget). `xmcp classify` loads this program alone,
 * `xmcp attach` with the tc reader of steer.bpf.c (user/kernel/datapath.h).
 *
 * Only SYN segments have their options walked: they are the only ones xmcp
 * acts on, and it keeps the cost of a data segment close to that of an
 * empty program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/maps.h"
#include "lib/parse.h"
#include "xmcp_maps.h"
#include "xmcp_tcpopt.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xmcp_xdp_stats);
} XMCP_MAP_XDP_STATS SEC(".maps");

/*
 * A frame as the classifier sees it, from XDP or from tc: the bytes it may
 * read directly (data..end), the frame's whole length (past end for a tc
 * packet with paged data) and the device it came in on.
 */
struct frame {
	void *data, *end;
	__u32 len, ifindex;
};

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
 * The class of frame f, into m. *mptcp: the MPTCP options of a SYN
 * (XMCP_SCAN_MPC, XMCP_SCAN_JOIN), also when the class is another
 * (syn_tcp_auth): admission judges what the stack will honour.
 */
static __always_inline __u8 classify(const struct frame *f, struct xmcp_meta *m, __u8 *mptcp)
{
	struct cursor c = {
		.pos = f->data,
		.start = f->data,
		.end = f->end,
		.len = f->len,
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

/* ---- drops before any socket state: hygiene and the origin check ---- */

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
static __always_inline __u32 device_mode(const struct frame *f)
{
	__u32 ifindex = f->ifindex, *mode = bpf_map_lookup_elem(&XMCP_MAP_STEER_IFS, &ifindex);

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
static __always_inline int hygiene(const struct frame *f, const struct xmcp_meta *m)
{
	struct xmcp_addr src, dst;

	if (m->cls == XMCP_CLASS_MALFORMED)
		return (device_mode(f) & XMCP_STEER_ACCESS) ? DROP_MALFORMED : PASS;
	if (m->cls != XMCP_CLASS_NOT_TCP && ip_addrs(f->data, f->end, m->l3_off, &src, &dst) == 6 &&
	    xmcp_addr_is4(&src))
		return (device_mode(f) & XMCP_STEER_ACCESS) ? DROP_BAD_SOURCE : PASS;
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
static __always_inline int origin_check(const struct frame *f, const struct xmcp_meta *m, __u8 mptcp)
{
	struct xmcp_addr src, dst;
	__u32 mode;

	if (!cfg_origin_check || !is_mptcp_syn(m, mptcp))
		return PASS;
	mode = device_mode(f);
	if (!(mode & XMCP_STEER_SUBSCRIBERS))
		return PASS;
	if (m->cls == XMCP_CLASS_SYN_MP_CONVERT_INVALID)
		return (mode & XMCP_STEER_CONVERT) ? DROP_MCP_INVALID : PASS;
	if (ip_addrs(f->data, f->end, m->l3_off, &src, &dst) < 0)
		return PASS;
	return subscriber_addr(&src) ? PASS : DROP_NOT_SUBSCRIBER;
}

/* ---- admission control (subscriber classes): SYN rate and subflow limits ---- */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XMCP_SYN_BUCKETS);
	__type(key, struct xmcp_addr);
	__type(value, struct xmcp_syn_bucket);
} XMCP_MAP_SYN_BUCKETS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XMCP_MAX_JOIN_ENTRIES);
	__type(key, __u32);
	__type(value, struct xmcp_join_budget);
} XMCP_MAP_JOINS SEC(".maps");

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
static __always_inline int join_allowed(const struct frame *f, const struct xmcp_meta *m)
{
	__u8 *opt = frame_ptr(f->data, f->end, m->convert_off[0], 12);
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
static __always_inline int admission(const struct frame *f, const struct xmcp_meta *m, __u8 mptcp)
{
	struct xmcp_class_cfg *c;
	struct xmcp_addr src, dst;

	if (!cfg_admission)
		return PASS;
	if (m->cls != XMCP_CLASS_SYN && m->cls != XMCP_CLASS_SYN_TCP_AUTH && !is_mptcp_syn(m, mptcp))
		return PASS;
	if (!(device_mode(f) & XMCP_STEER_SUBSCRIBERS))
		return PASS;
	if (ip_addrs(f->data, f->end, m->l3_off, &src, &dst) < 0)
		return PASS;
	c = subscriber_class(&src);
	/* the rate first: a SYN it drops spends no join */
	if (c && c->syn_rate) {
		xmcp_addr_subscriber(&src);
		if (!take_syn_token(&src, c))
			return DROP_SYN_RATE;
	}
	if ((m->cls == XMCP_CLASS_SYN_MP_JOIN || (mptcp & XMCP_SCAN_JOIN)) && !join_allowed(f, m))
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

/*
 * Everything the classifier decides about one frame: its class into m, the
 * counters, and the verdict (PASS or a drop, counted). Options that the
 * draft ignores leave no trace in m for tc to act on.
 */
static __always_inline int judge_class(const struct frame *f, struct xmcp_meta *m, __u8 mptcp)
{
	int verdict;

	count_xdp(m, f->len);
	verdict = hygiene(f, m);
	if (verdict == PASS)
		verdict = origin_check(f, m, mptcp);
	if (verdict == PASS)
		verdict = admission(f, m, mptcp);
	if (verdict != PASS) {
		count_xdp_event(drop_counter(verdict));
		return verdict;
	}
	if (m->cls != XMCP_CLASS_SYN_MP_CONVERT && m->cls != XMCP_CLASS_SYN_MP_CONVERT_INVALID) {
		m->n_convert = 0;
		m->convert_off[0] = m->convert_off[1] = 0;
	}
	return PASS;
}

static __always_inline int judge(const struct frame *f, struct xmcp_meta *m)
{
	__u8 mptcp = 0;

	m->cls = classify(f, m, &mptcp);
	return judge_class(f, m, mptcp);
}

SEC("xdp")
int XMCP_PROG_XDP(struct xdp_md *ctx)
{
	struct xmcp_meta m = { .magic = XMCP_META_MAGIC };
	struct frame f = {
		.data = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
		.len = ctx->data_end - ctx->data,
		.ifindex = ctx->ingress_ifindex,
	};

	if (judge(&f, &m) != PASS)
		return XDP_DROP;
	if (!write_meta(ctx, &m))
		count_xdp_event(offsetof(struct xmcp_xdp_stats, meta_unavailable));
	return XDP_PASS;
}

/*
 * The classifier at tc ingress, for devices where XDP costs more than it
 * saves ("xdp_mode" auto on veth, virtio_net, tun: docs/kernels.md). The
 * same judgement as XMCP_PROG_XDP; the class goes to the next program in
 * skb->cb (tc keeps it across a tail call, not from one filter to the
 * next), and that program is the one in XMCP_MAP_TC_NEXT: the steering of
 * xmcp run, which holds the array open while it runs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} XMCP_MAP_TC_NEXT SEC(".maps");

/*
 * Set by `xmcp attach`, which has no steering: the tc classifier counts
 * what it would hand on (the reader's counters) instead of a tail call,
 * whose program array the kernel empties once no process holds it open
 * (an attach made from `ip netns exec` leaves no pin behind).
 */
const volatile __u8 cfg_tc_reader = 0;

/*
 * How much of a frame that is not all in the linear part tc pulls there
 * first: any header chain xmcp follows, a SYN's options and the start of
 * its data (an MP_CONVERT framing is at most 45 bytes).
 */
#define XMCP_TC_PULL 512

static __always_inline void frame_of(struct __sk_buff *skb, struct frame *f)
{
	f->data = (void *)(long)skb->data;
	f->end = (void *)(long)skb->data_end;
	f->len = skb->len;
	f->ifindex = skb->ingress_ifindex;
}

SEC("tc")
int XMCP_PROG_TC_CLASSIFY(struct __sk_buff *skb)
{
	struct xmcp_meta m = { .magic = XMCP_META_MAGIC };
	__u32 *w = (__u32 *)&m;
	__u8 mptcp = 0;
	struct frame f;

	/*
	 * A GRO aggregate has its headers in the linear part (GRO puts them
	 * there) and is never pulled: that would copy its data. Any other
	 * frame with bytes in pages (a SYN's data, a driver that left headers
	 * there) has its first XMCP_TC_PULL bytes pulled; what a failed pull
	 * leaves out reads as truncated.
	 */
	if (!skb->gso_size && skb->data_end - skb->data < skb->len)
		bpf_skb_pull_data(skb, skb->len < XMCP_TC_PULL ? skb->len : XMCP_TC_PULL);
	frame_of(skb, &f);
	m.cls = classify(&f, &m, &mptcp);
	if (judge_class(&f, &m, mptcp) != PASS)
		return TC_ACT_SHOT;
	_Static_assert(sizeof(m) == 4 * sizeof(__u32), "struct xmcp_meta fills skb->cb[0..3]");
	skb->cb[0] = w[0];
	skb->cb[1] = w[1];
	skb->cb[2] = w[2];
	skb->cb[3] = w[3];
	if (cfg_tc_reader) {
		__u32 key = 0;
		struct xmcp_tc_stats *st = bpf_map_lookup_elem(&XMCP_MAP_TC_STATS, &key);

		if (st && m.cls < XMCP_CLASS_MAX)
			count_class(st, m.cls);
		return TC_ACT_OK;
	}
	bpf_tail_call(skb, &XMCP_MAP_TC_NEXT, 0);
	return TC_ACT_OK;
}
