// SPDX-License-Identifier: GPL-2.0
/*
 * The server leg of a pair: from the client's own address (and port when
 * it can be had), to the address the client asked for, so the server sees
 * the client and no address is translated; and the SYN that carries
 * MP_CONVERT framing as its data (relay/server_leg.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "mp_convert.h"
#include "relay/server_leg.h"

int mpc_syn_connect(int fd, const struct mpc_option *opts, unsigned int n,
		    const struct sockaddr_storage *dst, socklen_t len)
{
	__u8 frame[XMCP_OPTBUF_SIZE];
	int flen = mpc_frame_encode(opts, n, NULL, 0, frame, sizeof(frame)), one = 1;

	/* non-blocking: the framing goes into the SYN, sendto() returns its length */
	if (flen < 0 || setsockopt(fd, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof(one)) ||
	    sendto(fd, frame, flen, MSG_FASTOPEN, (const struct sockaddr *)dst, len) != flen) {
		xmcp_dbg("cannot send the MP_CONVERT SYN: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int fill_addr(const struct sockaddr_storage *ss, struct sockaddr_storage *out, bool keep_port)
{
	*out = *ss;
	if (!keep_port) {
		if (ss->ss_family == AF_INET)
			((struct sockaddr_in *)out)->sin_port = 0;
		else
			((struct sockaddr_in6 *)out)->sin6_port = 0;
	}
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/*
 * Connect with an empty MP_CONVERT and EOL as TCP Fast Open data in the SYN
 * (no cookie), the draft's marker telling the HAG to terminate this one.
 */
static int send_marked_syn(int fd, const struct sockaddr_storage *dst, socklen_t len)
{
	static const struct mpc_option marker = { .dir = MPC_DIR_DST, .proto = MPC_PROTO_TCP };

	return mpc_syn_connect(fd, &marker, 1, dst, len) ? -1 : fd;
}

/*
 * A socket bound to the client's address, as its own (IP_TRANSPARENT).
 * keep_port: the client's port too, over a TIME_WAIT of an earlier leg on
 * it (SO_REUSEADDR: the client reused the port, the 4-tuple check at
 * connect decides as it did for the client); else a port chosen at connect
 * time (IP_BIND_ADDRESS_NO_PORT: unique per destination, not per address,
 * so a busy subscriber address does not run out of ports).
 */
static int client_bound_socket(int proto, const struct sockaddr_storage *client, bool keep_port, __u32 mark)
{
	int fam = client->ss_family, one = 1;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	struct sockaddr_storage src;
	socklen_t len;

	if (fd < 0)
		return -1;
	if (fam == AF_INET)
		setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	else
		setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
	/*
	 * A TCP leg to an IPv6 server never reaches IPv4 (the destination is
	 * canonical already: a mapped one is an AF_INET leg). An MPTCP leg
	 * stays dual-stack: its subflows may join over IPv4 paths.
	 */
	if (proto == IPPROTO_TCP && fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	if (keep_port)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	else
		setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	len = fill_addr(client, &src, keep_port);
	if (bind(fd, (struct sockaddr *)&src, len)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Failures that another source port may not meet. */
static bool port_taken(int err)
{
	return err == EADDRINUSE || err == EADDRNOTAVAIL;
}

int server_leg_open(const struct sockaddr_storage *client, const struct sockaddr_storage *server,
		    const struct leg_opts *o)
{
	struct sockaddr_storage dst;
	socklen_t len = fill_addr(server, &dst, true);
	int keep, fd, err;

	for (keep = !o->any_port; keep >= 0; keep--) {
		fd = client_bound_socket(o->proto, client, keep, o->mark);
		if (fd >= 0) {
			if (o->marked)
				err = send_marked_syn(fd, &dst, len) < 0 ? errno : 0;
			else
				err = connect(fd, (struct sockaddr *)&dst, len) && errno != EINPROGRESS ? errno : 0;
			if (!err)
				return fd;
			close(fd);
		} else
			err = errno;
		if (!keep || !port_taken(err))
			break;
	}
	xmcp_dbg("cannot open the server leg from the client's address: %s", strerror(err));
	return -err;
}
