/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening a pair's server leg: from the client's own address (the HCPE and
 * the HAG: no address is translated), and SYNs that carry MP_CONVERT
 * framing as TCP Fast Open data (the marker; the off-path HCPE's head).
 */
#ifndef XMCP_SERVER_LEG_H
#define XMCP_SERVER_LEG_H

#include <stdbool.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "mp_convert.h"

/* How a server leg goes out, besides its addresses. */
struct leg_opts {
	int proto;	/* IPPROTO_TCP or IPPROTO_MPTCP */
	bool marked;	/* the marker in its SYN */
	__u32 mark;	/* SO_MARK (a path's routing, user/daemon/health.h); 0: none */
	bool any_port;	/* a port of the kernel's, not the client's (a second try racing the first) */
};

/*
 * The connected (or connecting) server leg, from client to server, as o
 * says; or a negative errno.
 */
int server_leg_open(const struct sockaddr_storage *client, const struct sockaddr_storage *server,
		    const struct leg_opts *o);

/*
 * Start a non-blocking MPTCP connect on fd to dst whose SYN carries the
 * MP_CONVERT framing of opts (TCP Fast Open, no cookie). 0, or -1 (fd left
 * open: the caller closes it).
 */
int mpc_syn_connect(int fd, const struct mpc_option *opts, unsigned int n,
		    const struct sockaddr_storage *dst, socklen_t len);

#endif
