// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's listeners: transparent, on the loopback addresses, where tc
 * hands them the SYNs to convert (bpf/: the steering program assigns the
 * SYN to the listener's socket). An accepted connection's local address is
 * the server the client asked for. Each is checked (not the listener
 * itself, a destination a server leg may have), admitted (its subscriber's
 * class), then its role takes it (struct role_ops.on_accept).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/admission.h"
#include "daemon/daemon.h"
#include "daemon/dest.h"
#include "relay/relay.h"
#include "relay/server_leg.h"
#include "roles/roles.h"
#include "lib/util.h"
#include "xmcp_maps.h"

/* Connections taken per listener wakeup: a flood can't hold the loop from the rest. */
#define ACCEPT_BATCH 64

void daemon_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Take SYN data without a cookie (see install_tfo_server). */
static int listen_fastopen(int fd)
{
	int qlen = 1024, one = 1;

	if (setsockopt(fd, SOL_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) ||
	    setsockopt(fd, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof(one))) {
		xmcp_err("cannot enable TCP Fast Open on the listener: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A listener of the family on loopback port `port` (0: the kernel picks).
 * -EADDRINUSE, without a word, when quiet_inuse and the port is taken.
 */
static int open_listener(const struct worker *w, int family, __u16 port, bool quiet_inuse)
{
	int proto = w->role->listen_proto;
	int fd, one = 1, prio = XMCP_SOCK_PRIORITY;
	struct sockaddr_storage ss = { 0 };
	socklen_t len;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		xmcp_err("cannot create the %s listener: %s%s", proto == IPPROTO_MPTCP ? "MPTCP" : "TCP",
			 strerror(errno),
			 proto == IPPROTO_MPTCP ? " (MPTCP disabled? sysctl net.mptcp.enabled)" : "");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio))) {
		xmcp_err("cannot mark the listener as the daemon's (SO_PRIORITY): %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (w->role->takes_syn_data && w->role->takes_syn_data(w->pol) && listen_fastopen(fd)) {
		close(fd);
		return -1;
	}
	if (family == AF_INET) {
		struct sockaddr_in *sin = (void *)&ss;

		setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (void *)&ss;

		setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		if (errno == EADDRINUSE && quiet_inuse) {
			close(fd);
			return -EADDRINUSE;
		}
		xmcp_err("cannot listen on %s port %u: %s%s", family == AF_INET ? "127.0.0.1" : "[::1]",
			 port, strerror(errno),
			 errno == EADDRNOTAVAIL ? " (is the loopback interface up?)" :
			 errno == EADDRINUSE ? " (another program holds it: `ss -ltnp` names it)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A worker's IPv4 and IPv6 listeners, on one port: `port`, or with port 0
 * one the kernel picks for IPv4 and that is free for IPv6 too (a few
 * tries). A port chosen at start is one no local user can have taken first.
 */
int worker_listen(struct worker *w, __u16 port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int try;

	for (try = 0; try < 16; try++) {
		w->listen_fd[0] = open_listener(w, AF_INET, port, false);
		if (w->listen_fd[0] < 0)
			return -1;
		if (getsockname(w->listen_fd[0], (struct sockaddr *)&ss, &len)) {
			xmcp_err("cannot read the listener's port: %s", strerror(errno));
			return -1;
		}
		w->listen_port = xmcp_sa_port(&ss);
		w->listen_fd[1] = open_listener(w, AF_INET6, w->listen_port, !port);
		if (w->listen_fd[1] >= 0)
			return 0;
		close(w->listen_fd[0]);
		w->listen_fd[0] = -1;
		if (w->listen_fd[1] != -EADDRINUSE)
			break;
		w->listen_fd[1] = -1;
	}
	return -1;
}

/* A connection made to a listener itself, not handed over by tc: relaying it would loop. */
static bool is_listener_addr(const struct worker *w, const struct sockaddr_storage *ss)
{
	__be32 lo4 = htonl(INADDR_LOOPBACK);
	unsigned int i;
	bool ours = false;

	/* any worker's: the others' ports are set before the threads start */
	for (i = 0; i < w->d->n_workers && !ours; i++)
		ours = xmcp_sa_port(ss) == w->d->workers[i].listen_port;
	if (!ours)
		return false;
	if (ss->ss_family == AF_INET)
		return !memcmp(xmcp_sa_addr(ss), &lo4, sizeof(lo4));
	return !memcmp(xmcp_sa_addr(ss), &in6addr_loopback, sizeof(in6addr_loopback));
}

static void log_pair(const struct sockaddr_storage *c, const struct sockaddr_storage *s, int proto)
{
	char cb[INET6_ADDRSTRLEN], sb[INET6_ADDRSTRLEN];

	inet_ntop(c->ss_family, xmcp_sa_addr(c), cb, sizeof(cb));
	inet_ntop(s->ss_family, xmcp_sa_addr(s), sb, sizeof(sb));
	xmcp_dbg("pair %s:%d -> %s:%d (client %s)", cb, xmcp_sa_port(c), sb, xmcp_sa_port(s),
		 proto == IPPROTO_MPTCP ? "mptcp" : proto == IPPROTO_TCP ? "tcp" : "?");
}

/* A destination no server leg may have (user/daemon/dest.h): say so under -v; true to refuse. */
static bool refuse_destination(struct worker *w, struct sockaddr_storage *server)
{
	const char *why = dest_refused(w->dest, w->pol, server);
	char a[INET6_ADDRSTRLEN];

	if (why && xmcp_verbose) {
		inet_ntop(server->ss_family, xmcp_sa_addr(server), a, sizeof(a));
		xmcp_dbg("destination %s port %d refused: %s", a, xmcp_sa_port(server), why);
	}
	return why != NULL;
}

/*
 * Out of descriptors (EMFILE/ENFILE: xmcp_accept reset the connection it
 * could not take, or a server leg could not be had): stop accepting until
 * the next tick rather than spin on a listener that stays readable, or
 * take connections that would fail the same way. Counted as fd_exhausted.
 */
void worker_pause_listeners(struct worker *w)
{
	int i;

	if (w->listen_paused)
		return;
	for (i = 0; i < 2; i++)
		ev_mod(w->epfd, w->listen_fd[i], 0, i ? &w->on_listen6 : &w->on_listen4);
	w->listen_paused = true;
	w->fd_exhausted++;
	xmcp_err("out of file descriptors: not accepting for a second (the connection that could not be "
		 "taken was reset)");
}

void worker_resume_listeners(struct worker *w)
{
	int i;

	if (!w->listen_paused)
		return;
	for (i = 0; i < 2; i++)
		ev_mod(w->epfd, w->listen_fd[i], EPOLLIN, i ? &w->on_listen6 : &w->on_listen4);
	w->listen_paused = false;
}

void worker_start_pair(struct worker *w, int cfd, const struct sockaddr_storage *client,
		       const struct sockaddr_storage *server, struct session *sess, int proto, bool marked)
{
	int sfd = server_leg_open(client, server, &(struct leg_opts){ .proto = proto, .marked = marked });

	if (sfd == -EMFILE || sfd == -ENFILE) {
		w->fd_refused++;
		worker_pause_listeners(w); /* the next ones would fail the same way: wait for descriptors */
	}
	if (sfd < 0) {
		admission_end(w->adm, sess);
		daemon_reset(cfd);
		return;
	}
	relay_add(w->relay, cfd, sfd, sess);
}

/* The checks every connection passes before its role sees it; false: it was closed or reset. */
static bool take(struct worker *w, int cfd, struct sockaddr_storage *server)
{
	socklen_t slen = sizeof(*server);

	/* tc handed us the SYN as it was: our local address is the server's. */
	if (getsockname(cfd, (struct sockaddr *)server, &slen) || is_listener_addr(w, server)) {
		close(cfd);
		return false;
	}
	/* the MCP's server is named later, by the head; it is checked then */
	if (!w->role->names_server_later && refuse_destination(w, server)) {
		daemon_reset(cfd);
		return false;
	}
	return true;
}

void worker_accept(struct worker *w, int lfd)
{
	struct sockaddr_storage client, server;
	struct session *sess = NULL;
	int cfd, prio = XMCP_SOCK_PRIORITY, n;
	socklen_t clen;

	/* paused (a server leg found no descriptor): the rest of the batch waits too */
	for (n = 0; n < ACCEPT_BATCH && !w->listen_paused; n++) {
		clen = sizeof(client);
		cfd = xmcp_accept(lfd, (struct sockaddr *)&client, &clen, SOCK_NONBLOCK | SOCK_CLOEXEC,
				  &w->fd_refused);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				worker_pause_listeners(w);
			return;
		}
		if (!take(w, cfd, &server))
			continue;
		/* the daemon's own connection: its subflows will say so (XMCP_SOCK_PRIORITY) */
		setsockopt(cfd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio));
		if (xmcp_verbose)
			log_pair(&client, &server, xmcp_sock_protocol(cfd));
		if (w->adm && admission_admit(w->adm, cfd, &client, &sess)) {
			w->sessions_refused++;
			daemon_reset(cfd);
			worker_publish_stats(w);
			continue;
		}
		w->role->on_accept(w, cfd, &client, &server, sess);
	}
}
