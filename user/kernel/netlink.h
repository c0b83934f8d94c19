/* SPDX-License-Identifier: GPL-2.0 */
/* Routing state the daemon installs and removes itself, over rtnetlink (libmnl). */
#ifndef XMCP_NETLINK_H
#define XMCP_NETLINK_H

#include <stdbool.h>
#include <linux/types.h>

/*
 * "ip rule add fwmark MARK lookup TABLE pref PRIO" (or del); family
 * AF_INET/AF_INET6. suppress_default adds "suppress_prefixlength 0": a
 * default route found in TABLE is passed over (its specific routes are not).
 */
int nl_fwmark_rule(bool add, int family, __u32 mark, __u32 table, __u32 prio, bool suppress_default);

/*
 * "ip route add default via VIA dev IFINDEX table TABLE" (or del); via NULL:
 * "default dev IFINDEX" (on link: a point-to-point device).
 */
int nl_path_default(bool add, int family, __u32 table, int ifindex, const void *via);

/*
 * "ip route add local default dev lo table TABLE" (or del); with dst (the
 * family's length, network order): "local DST dev lo table TABLE", one
 * address taken as the host's own without being any device's.
 */
int nl_local_route(bool add, int family, __u32 table, const void *dst);

/*
 * "ip addr add ADDR/LEN dev IFINDEX nodad noprefixroute" (or del): an
 * address of the device's own and no prefix route with it.
 */
int nl_dev_addr(bool add, int ifindex, int family, const void *addr, unsigned int len);
/*
 * "ip route del TYPE DST dev IFINDEX table local" (a host route the kernel
 * added with an address); -ESRCH when there is none.
 */
int nl_del_kernel_route(int family, unsigned char type, const void *dst, int ifindex);

/*
 * "ip route get DST from SRC mark MARK": the index of the device a packet
 * from src to dst leaves by (addresses of family's length, network order;
 * mark 0: none), or a negative errno. What a subflow's path is.
 */
int nl_route_oif(int family, const void *dst, const void *src, __u32 mark);

/*
 * Destroy (sock_diag SOCK_DESTROY, what `ss -K` does) the TCP sockets of
 * closed connections (FIN_WAIT1/2, CLOSING, LAST_ACK, TIME_WAIT) whose local
 * address and port are these (family's length, network order; port in host
 * order) and that xmcp may remove: with nothing left to send, or the
 * daemon's own (XMCP_SOCK_PRIORITY). How many went, or a negative errno.
 */
int nl_destroy_closed(int family, const void *addr, __u16 port);

#endif
