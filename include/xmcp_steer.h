/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What `xmcp run` asks of the datapath on each device: which SYNs the
 * steering program hands to the daemon's listeners, how it knows the
 * daemon's sockets, and the rate share the path program puts MPTCP
 * subflows in. The subscriber prefixes it checks are keyed by
 * struct xmcp_prefix_key (xmcp_addr.h).
 */
#ifndef INCLUDE_XMCP_STEER_H
#define INCLUDE_XMCP_STEER_H

#include "xmcp_addr.h"

/*
 * The daemon's relay workers at most: each has its listeners on a port of
 * its own, and the steering hands a new connection's SYN to the one a hash
 * of its addresses and ports picks (cfg_listen_ports in bpf/steer.bpf.c).
 */
#define XMCP_MAX_WORKERS 64

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
#define XMCP_STEER_ARRIVAL 0x20 /* HAG access: our segments leave by the device their flow last arrived on */

/*
 * XMCP_MAP_ARRIVAL (LRU): the device each of the daemon's flows on an
 * access device last arrived by, and the frame's link-layer addresses, so
 * that what the daemon sends on that flow goes back the same way (the
 * path program, on egress, redirects a segment the routing table sent out
 * of another access device). A subscriber's subflow that moves to another
 * line (the HCPE's failover and failback) is answered on the new one from
 * its next segment on.
 */
#define XMCP_MAX_ARRIVALS 262144
struct xmcp_flow_key {
	struct xmcp_addr remote, local; /* the peer's address, ours (canonical) */
	__u16 rport, lport;		/* network order */
};
struct xmcp_arrival {
	__u32 ifindex;
	__u8 l2;	/* 1: an Ethernet header, whose addresses follow */
	__u8 pad[3];
	__u8 mac[12];	/* the header to send with: the frame's source, then its destination */
};
XMCP_ASSERT_SIZE(struct xmcp_arrival, 20);

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

#endif
