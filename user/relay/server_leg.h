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

#include "mp_convert.h"

/*
 * The connected (or connecting) server leg, from client to server, of
 * proto IPPROTO_TCP or IPPROTO_MPTCP, with the marker in its SYN when
 * `marked`; or a negative errno.
 */
int server_leg_open(const struct sockaddr_storage *client, const struct sockaddr_storage *server, int proto,
		    bool marked);

/*
 * Start a non-blocking MPTCP connect on fd to dst whose SYN carries the
 * MP_CONVERT framing of opts (TCP Fast Open, no cookie). 0, or -1 (fd left
 * open: the caller closes it).
 */
int mpc_syn_connect(int fd, const struct mpc_option *opts, unsigned int n,
		    const struct sockaddr_storage *dst, socklen_t len);

#endif
