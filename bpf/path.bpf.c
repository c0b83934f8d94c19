// SPDX-License-Identifier: GPL-2.0
/*
 * The tc egress program of `xmcp run`'s access devices (XMCP_PROG_PATH):
 * per path, the MPTCP subflow segments of the daemon's own sockets are
 * counted and, on a path with a rate share, put in xmcp's htb class; and
 * each MP_CAPABLE SYN+ACK of ours to a subscriber whose class limits
 * subflows sets the connection's join budget, which XDP then enforces.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/maps.h"
#include "lib/parse.h"
#include "xmcp_maps.h"
#include "xmcp_tcpopt.h"
#include "xmcp_token.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * An MP_CAPABLE SYN+ACK of ours to a subscriber carries our key, and so the
 * token the peer's MP_JOIN SYNs will name: if the subscriber's class limits
 * subflows, the connection's budget goes in XMCP_MAP_JOINS_NEW now, ahead
 * of any join. dst: the subscriber; opts: the segment's options, scanned.
 */
static __always_inline void budget_joins(const struct xmcp_addr *dst, const struct xmcp_optbuf *opts,
					 const struct xmcp_scan *s)
{
	struct xmcp_join_budget b = {};
	struct xmcp_class_cfg *c;
	__u32 k = s->mpc_off, token;

	if (s->mpc_len < 12)
		return; /* no key: not a SYN+ACK of MPTCP v1 */
	c = subscriber_class(dst);
	if (!c || !c->max_subflows)
		return;
	token = xmcp_mptcp_token(xmcp_buf_be32(opts, k + 4), xmcp_buf_be32(opts, k + 8));
	b.max_joins = c->max_subflows - 1;
	/* a retransmitted SYN+ACK keeps the joins counted so far */
	bpf_map_update_elem(&XMCP_MAP_JOINS_NEW, &token, &b, BPF_NOEXIST);
}

/*
 * HAG: a segment of ours that the routing table sends out of this device,
 * on a flow that last arrived by another access device, goes back by that
 * one instead, to the link-layer address it came from (xmcp_steer.h).
 * TC_ACT_REDIRECT, or -1: it stays.
 */
static __always_inline int back_by_arrival(struct __sk_buff *skb, const struct cursor *c, __u32 l3_off,
					   const struct tcphdr *th, __u32 ifindex)
{
	struct xmcp_flow_key k = {};
	struct xmcp_arrival *a;

	if (ip_addrs(c->start, c->end, l3_off, &k.local, &k.remote) <= 0)
		return -1;
	k.lport = th->source;
	k.rport = th->dest;
	a = bpf_map_lookup_elem(&XMCP_MAP_ARRIVAL, &k);
	/* (a frame without the Ethernet header the other device needs, or with one it lacks, stays) */
	if (!a || a->ifindex == ifindex || a->l2 != (l3_off == 14))
		return -1;
	if (a->l2 && bpf_skb_store_bytes(skb, 0, a->mac, sizeof(a->mac), 0))
		return TC_ACT_OK; /* (the packet's pointers are void now: nothing more of it is read) */
	count_path(a->ifindex, skb->len, PATH_BY_ARRIVAL);
	bpf_redirect(a->ifindex, 0); /* (TC_ACT_REDIRECT with flags 0; said as a constant for the verifier) */
	return TC_ACT_REDIRECT;
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

	if (parse_to_l4(&c, &l3_off, &l3_end, &l4proto) || l4proto != IPPROTO_TCP)
		return TC_ACT_OK;
	th = c.pos;
	/* forwarded segments have no socket; a SYN+ACK under SYN cookies has none either */
	if ((void *)(th + 1) > c.end || (!skb->sk && !(th->syn && th->ack)))
		return TC_ACT_OK;
	mode = bpf_map_lookup_elem(&XMCP_MAP_STEER_IFS, &ifindex);
	if (mode && (*mode & XMCP_STEER_ARRIVAL)) {
		int back = back_by_arrival(skb, &c, l3_off, th, ifindex);

		if (back >= 0)
			return back;
	}
	if (!skb->sk || th->doff < 5 || scan_tcp_header(th, c.end, &opts, &s) || !(s.flags & XMCP_SCAN_MPTCP))
		return TC_ACT_OK;
	count_path(ifindex, skb->len, PATH_OUT);
	if (cfg_admission && th->syn && th->ack && (s.flags & XMCP_SCAN_MPC) &&
	    ip_addrs(c.start, c.end, l3_off, &src, &dst) > 0)
		budget_joins(&dst, &opts, &s);
	if (mode && (*mode & XMCP_STEER_SHAPED))
		skb->priority = (XMCP_HTB_HANDLE << 16) | XMCP_HTB_CLASS;
	return TC_ACT_OK;
}
