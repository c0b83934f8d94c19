// SPDX-License-Identifier: GPL-2.0
/*
 * The tc ingress programs, which act on the class XDP left in the frame's
 * metadata (struct xmcp_meta):
 * - XMCP_PROG_TC, for `xmcp attach`: only counts the classes it reads, the
 *   check that the metadata reaches tc;
 * - XMCP_PROG_STEER, for `xmcp run`: hands the SYNs the role terminates to
 *   the daemon's listener (bpf_sk_assign), after the subscriber, address,
 *   local-destination and (HAG) mode-by-destination checks, and marks the
 *   segments of flows the daemon's sockets own for local delivery. On a
 *   HAG's server side it learns which servers speak MPTCP.
 * Each command loads only the one it attaches (user/kernel/datapath.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/maps.h"
#include "lib/parse.h"
#include "xmcp_maps.h"
#include "xmcp_tcpopt.h"

char LICENSE[] SEC("license") = "GPL";


/*
 * The class XDP wrote in front of the frame, copied to *out; 0 when there
 * is none. Only the XDP classifier writes it: tc leaves skb->cb to whatever
 * ran before, so the programs tc runs straight away never read cb.
 */
static __always_inline int meta_from_xdp(struct __sk_buff *skb, struct xmcp_meta *out)
{
	struct xmcp_meta *m = (void *)(long)skb->data_meta;

	if ((void *)(m + 1) > (void *)(long)skb->data || m->magic != XMCP_META_MAGIC)
		return 0;
	__builtin_memcpy(out, m, sizeof(*out));
	return 1;
}

/*
 * The class the tc classifier (XMCP_PROG_TC_CLASSIFY) left in skb->cb for
 * the program it tail-calls, copied to *out; 0 when there is none.
 */
static __always_inline int meta_from_cb(struct __sk_buff *skb, struct xmcp_meta *out)
{
	/* each word loaded from the context as such (a pointer into it is refused) */
	__u32 c0 = skb->cb[0], c1 = skb->cb[1], c2 = skb->cb[2], c3 = skb->cb[3];
	__u32 *w = (__u32 *)out;

	barrier_var(c0);
	barrier_var(c1);
	barrier_var(c2);
	barrier_var(c3);
	w[0] = c0;
	w[1] = c1;
	w[2] = c2;
	w[3] = c3;
	return out->magic == XMCP_META_MAGIC;
}

/* ---- the metadata reader (xmcp attach): counts the classes tc sees ---- */

SEC("tc")
int XMCP_PROG_TC(struct __sk_buff *skb)
{
	struct xmcp_meta m;
	struct xmcp_tc_stats *st;
	__u32 key = 0;

	st = bpf_map_lookup_elem(&XMCP_MAP_TC_STATS, &key);
	if (!st)
		return TC_ACT_OK;
	if (!meta_from_xdp(skb, &m) || m.cls >= XMCP_CLASS_MAX)
		st->no_meta++;
	else
		count_class(st, m.cls);
	return TC_ACT_OK;
}

/* ---- steering (xmcp run): hand SYNs to the daemon, keep its flows local ---- */

/* Set through the skeleton's rodata by `xmcp run` before load. */
const volatile __u32 cfg_mark = 0;
const volatile __be32 cfg_listen4 = 0;	   /* the listeners' IPv4 address (loopback) */
/* the relay workers' listener ports, network order: cfg_workers of them */
const volatile __be16 cfg_listen_ports[XMCP_MAX_WORKERS] = {};
const volatile __u32 cfg_workers = 1;
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

static __always_inline int same_arrival(const struct xmcp_arrival *x, const struct xmcp_arrival *y)
{
	const __u32 *a = (const __u32 *)x, *b = (const __u32 *)y;

	/* ifindex, l2 (and padding, zero in both), the 12 bytes of addresses */
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4];
}

/*
 * HAG: the device this segment of one of our flows arrived by, and the
 * frame's addresses, for the path program to send the flow's answers back
 * the same way (xmcp_steer.h). Written only when it changed: a flow's
 * segments keep coming by one line.
 */
static __always_inline void note_arrival(struct __sk_buff *skb, const struct xmcp_meta *m,
					 const struct bpf_sock_tuple *t, int v6, __u32 ifindex)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct xmcp_arrival a = { .ifindex = ifindex }, *old;
	struct xmcp_flow_key k = {};
	__u8 *eth;

	tuple_addr(t, v6, 1, &k.remote);
	tuple_addr(t, v6, 0, &k.local);
	k.rport = v6 ? t->ipv6.sport : t->ipv4.sport;
	k.lport = v6 ? t->ipv6.dport : t->ipv4.dport;
	/* an Ethernet frame (the IP header 14 bytes in): its source is the line's next hop back */
	if (m->l3_off == 14 && (eth = frame_ptr(data, end, 0, 12))) {
		a.l2 = 1;
		__builtin_memcpy(a.mac, eth + 6, 6);
		__builtin_memcpy(a.mac + 6, eth, 6);
	}
	old = bpf_map_lookup_elem(&XMCP_MAP_ARRIVAL, &k);
	if (old && same_arrival(old, &a))
		return;
	bpf_map_update_elem(&XMCP_MAP_ARRIVAL, &k, &a, BPF_ANY);
}

/*
 * Segment of a flow one of our sockets owns (not a listener): deliver it
 * locally. With acks_ours (HAG, arrival path), also whether the segment
 * acknowledges what the socket has sent and not yet seen acknowledged
 * (snd_una..snd_nxt): what a spoofer who knows a flow's addresses and
 * ports still has to guess before its segments may move the flow's
 * answers to its line.
 */
static __always_inline int owned_by_local_socket(struct __sk_buff *skb, const struct xmcp_meta *m,
						 struct bpf_sock_tuple *t, int v6, int *acks_ours)
{
	struct bpf_sock *sk = bpf_skc_lookup_tcp(skb, t, tuple_size(v6), BPF_F_CURRENT_NETNS, 0), *full;
	struct bpf_tcp_sock *tp;
	struct tcphdr *th;
	__u32 ack;
	int owned;

	if (!sk)
		return 0;
	/* A listener matched only by its port would swallow forwarded traffic. */
	owned = sk->state != BPF_TCP_LISTEN;
	if (owned && acks_ours) {
		th = frame_ptr((void *)(long)skb->data, (void *)(long)skb->data_end, m->l4_off, sizeof(*th));
		full = th && th->ack ? bpf_sk_fullsock(sk) : NULL;
		tp = full ? bpf_tcp_sock(full) : NULL;
		if (tp) {
			ack = bpf_ntohl(th->ack_seq);
			*acks_ours = (__s32)(ack - tp->snd_una) >= 0 && (__s32)(ack - tp->snd_nxt) <= 0;
		}
	}
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

/* Is the tuple's source in a subscriber prefix? */
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
 * own check (user/daemon/dest.c) refuses such a destination then.
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

/* murmur3's finaliser: every input bit moves about half the output bits */
static __always_inline __u32 mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/*
 * The listener port of the worker that takes this connection: a hash of
 * its addresses and ports, so that every SYN of one connection (its
 * retransmissions too) goes to the same worker, and many connections
 * spread evenly (sequential source ports, or the hosts of one prefix on
 * one port, alike). The worker is the hash's high bits scaled to the
 * count (h * n >> 32): no division, and a bound the verifier can follow.
 * One listener per worker on a port of its own, not a reuseport group:
 * bpf_sk_assign refuses reuseport sockets before Linux 6.5.
 */
static __always_inline __be16 worker_port(const struct bpf_sock_tuple *t, int v6)
{
	__u32 h, n = cfg_workers, i;

	if (v6) {
		h = mix32(((__u32)t->ipv6.sport << 16) | t->ipv6.dport);
		for (i = 0; i < 4; i++)
			h = mix32(h ^ t->ipv6.saddr[i] ^ mix32(t->ipv6.daddr[i]));
	} else {
		h = mix32(((__u32)t->ipv4.sport << 16) | t->ipv4.dport);
		h = mix32(t->ipv4.saddr ^ mix32(t->ipv4.daddr ^ h));
	}
	if (n < 2 || n > XMCP_MAX_WORKERS)
		return cfg_listen_ports[0];
	i = ((__u64)h * n) >> 32;
	barrier_var(i); /* keep the mask: the compiler can prove it, a verifier may not */
	return cfg_listen_ports[i & (XMCP_MAX_WORKERS - 1)];
}

/* Hand a SYN to a worker's listener on the configured loopback address. */
static __always_inline int assign_listener(struct __sk_buff *skb, struct bpf_sock_tuple *t, int v6)
{
	__be16 port = worker_port(t, v6);
	struct bpf_sock *sk;
	int err;

	if (v6) {
		__builtin_memset(t->ipv6.daddr, 0, 16);
		t->ipv6.daddr[3] = bpf_htonl(XMCP_IPV6_LOOPBACK_LAST);
		t->ipv6.dport = port;
	} else {
		t->ipv4.daddr = cfg_listen4;
		t->ipv4.dport = port;
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

/* The steering of one frame of class m (counted already). */
static __always_inline int steer(struct __sk_buff *skb, const struct xmcp_meta *m, struct xmcp_tc_stats *st)
{
	struct bpf_sock_tuple t = {};
	__u32 ifindex = skb->ingress_ifindex, *mode;
	struct bpf_sock_tuple syn_t;
	int v6, want, arrival, acks = 0;

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
		syn_t = t; /* (the listener's lookup rewrites t to the listener's address) */
		if (assign_listener(skb, &t, v6)) {
			st->no_listener++;
			return TC_ACT_OK;
		}
		skb->mark = cfg_mark;
		st->steered++;
		/*
		 * A SYN records a new flow's line, never one a socket of ours
		 * already has (only segments that ack what we sent move those); a
		 * flow gone leaves its entry to the SYN reusing its ports
		 */
		if ((*mode & XMCP_STEER_ARRIVAL) && skb->pkt_type == PACKET_HOST &&
		    !owned_by_local_socket(skb, m, &syn_t, v6, NULL))
			note_arrival(skb, m, &syn_t, v6, ifindex);
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
	arrival = mode && (*mode & XMCP_STEER_ARRIVAL) && skb->pkt_type == PACKET_HOST;
	if (!owned_by_local_socket(skb, m, &t, v6, arrival ? &acks : NULL))
		return TC_ACT_OK;
	skb->mark = cfg_mark;
	st->flow_marked++;
	if (acks)
		note_arrival(skb, m, &t, v6, ifindex);
	if (mode && (*mode & XMCP_STEER_ACCESS)) {
		void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
		struct tcphdr *th = frame_ptr(data, end, m->l4_off, sizeof(*th));

		if (th && segment_is_mptcp(th, end))
			count_path(ifindex, skb->len, PATH_IN);
	}
	return TC_ACT_OK;
}

/* A frame's class, counted; 0 with no_meta counted when it has none. */
static __always_inline int counted(struct xmcp_tc_stats *st, int have, const struct xmcp_meta *m)
{
	if (!have || m->cls >= XMCP_CLASS_MAX) {
		st->no_meta++;
		return 0;
	}
	count_class(st, m->cls);
	return 1;
}

/* The steering of a frame whose class comes from the XDP metadata, or from skb->cb. */
static __always_inline int steer_from(struct __sk_buff *skb, int from_cb)
{
	struct xmcp_meta m;
	struct xmcp_tc_stats *st;
	__u32 key = 0;
	int have;

	st = bpf_map_lookup_elem(&XMCP_MAP_TC_STATS, &key);
	if (!st)
		return TC_ACT_OK;
	have = from_cb ? meta_from_cb(skb, &m) : meta_from_xdp(skb, &m);
	if (!counted(st, have, &m))
		return TC_ACT_OK;
	return steer(skb, &m, st);
}

/* tc ingress behind the XDP classifier: the class from the XDP metadata */
SEC("tc")
int XMCP_PROG_STEER(struct __sk_buff *skb)
{
	return steer_from(skb, 0);
}

/* tail-called by the tc classifier (XMCP_MAP_TC_NEXT): the class from skb->cb */
SEC("tc")
int XMCP_PROG_STEER_CB(struct __sk_buff *skb)
{
	return steer_from(skb, 1);
}
