// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/dest.h"
#include "roles/head.h"
#include "roles/mcp_convert.h"
#include "mp_convert.h"
#include "lib/util.h"

struct mcp {
	const struct policy *pol;
	struct relay *relay;
	struct heads *heads;	 /* clients whose MP_CONVERT head has not arrived yet */
	struct dest_check *dest; /* where a server leg may go (user/daemon/dest.h) */
	struct mcp_stats st;
};

static void head_done(void *arg, int fd, enum head_result r, const struct mpc_frame *f, int err,
		      struct session *sess);

struct mcp *mcp_new(const struct policy *p, int epfd, struct relay *relay, struct dest_check *dest)
{
	struct mcp *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->relay = relay;
	m->dest = dest;
	m->heads = heads_new(epfd, p->head_timeout, head_done, m);
	if (!m->heads) {
		free(m);
		return NULL;
	}
	mcp_set_policy(m, p);
	return m;
}

void mcp_set_policy(struct mcp *m, const struct policy *p)
{
	m->pol = p;
	heads_set_timeout(m->heads, p->head_timeout);
}

const struct mcp_stats *mcp_stats(const struct mcp *m)
{
	return &m->st;
}

unsigned int mcp_waiting(const struct mcp *m)
{
	return heads_waiting(m->heads);
}

int mcp_add(struct mcp *m, int fd, struct session *sess)
{
	return heads_add(m->heads, fd, sess);
}

/* An option's address with the given port, as a sockaddr; its length. */
static socklen_t option_sockaddr(const struct mpc_option *o, __u16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (o->family == 4) {
		struct sockaddr_in *sin = (void *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, o->addr, 4);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (void *)ss;

	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, o->addr, 16);
	sin6->sin6_port = htons(port);
	return sizeof(*sin6);
}

/* The destination option of the head: an address, as a sockaddr; the SYN's port if it has none. */
static int destination(const struct mpc_frame *f, int client_fd, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	unsigned int i;

	if (getsockname(client_fd, (struct sockaddr *)&local, &llen))
		return -1;
	for (i = 0; i < f->n; i++) {
		const struct mpc_option *o = &f->opt[i];

		if (o->dir != MPC_DIR_DST || !o->family)
			continue;
		*len = option_sockaddr(o, o->has_port ? o->port : xmcp_sa_port(&local), ss);
		return 0;
	}
	return -1;
}

/*
 * The source option, if the policy lets this client use it: the client's
 * own address and the source both lie in one of the transparent_source
 * prefixes (BCP 38: a subscriber speaks only for its own prefix).
 */
static bool source_allowed(const struct mcp *m, const struct sockaddr_storage *client,
			   const struct mpc_option *src)
{
	int fam = src->family == 4 ? AF_INET : AF_INET6;
	unsigned int i;

	for (i = 0; i < m->pol->n_transparent; i++) {
		const struct pol_prefix *p = &m->pol->transparent[i];

		if (pol_prefix_contains(p, client->ss_family, xmcp_sa_addr(client)) &&
		    pol_prefix_contains(p, fam, src->addr))
			return true;
	}
	return false;
}

/* Bind fd to the source option's address (and port) without it being ours. */
static int bind_source(int fd, const struct mpc_option *src)
{
	struct sockaddr_storage ss;
	socklen_t len = option_sockaddr(src, src->has_port ? src->port : 0, &ss);
	int one = 1;

	if (src->family == 4)
		setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	else
		setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
	return bind(fd, (struct sockaddr *)&ss, len);
}

/*
 * TCP to the server: from the MCP's own address (address sharing, draft
 * section 5), or from src when the policy allows it (src NULL: own).
 */
static int open_server(const struct sockaddr_storage *ss, socklen_t len, const struct mpc_option *src)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0)
		return -1;
	if (xmcp_v6only(fd) || (src && bind_source(fd, src))) {
		xmcp_dbg("mcp: cannot bind the source option's address: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, len) && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The head's source option if there is one the policy honours for this client, else NULL. */
static const struct mpc_option *usable_source(struct mcp *m, int client_fd, const struct mpc_frame *f)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	unsigned int i;

	for (i = 0; i < f->n; i++) {
		const struct mpc_option *o = &f->opt[i];

		if (o->dir != MPC_DIR_SRC || !o->family)
			continue;
		if (!getpeername(client_fd, (struct sockaddr *)&peer, &plen) && source_allowed(m, &peer, o))
			return o;
		m->st.source_refused++;
		xmcp_dbg("mcp: source option not allowed for this client: the MCP's own address is used");
		return NULL;
	}
	return NULL;
}

/* The head is in f, off the stream: open the server it names and relay; 0, or -1 to reset. */
static int convert(struct mcp *m, int fd, const struct mpc_frame *f, struct session *sess)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const struct mpc_option *src;
	const char *why;
	int sfd;

	if (destination(f, fd, &ss, &len)) {
		m->st.bad_convert++;
		xmcp_dbg("mcp: MP_CONVERT head without a destination: reset");
		return -1;
	}
	why = dest_refused(m->dest, m->pol, &ss);
	if (why) {
		m->st.forbidden++;
		xmcp_dbg("mcp: destination refused (%s): reset", why);
		return -1;
	}
	len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	src = usable_source(m, fd, f);
	/* a socket has one family: a source must be of the destination's */
	if (src && (src->family == 4) != (ss.ss_family == AF_INET)) {
		m->st.source_refused++;
		xmcp_dbg("mcp: source and destination options of different families: own address used");
		src = NULL;
	}
	sfd = open_server(&ss, len, src);
	if (sfd < 0) {
		m->st.connect_error++;
		return -1;
	}
	if (xmcp_verbose) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(ss.ss_family, xmcp_sa_addr(&ss), a, sizeof(a));
		xmcp_dbg("mcp: converting to %s port %d", a, xmcp_sa_port(&ss));
	}
	m->st.converted++;
	relay_add(m->relay, fd, sfd, sess);
	return 0;
}

/* The head module's verdict on a client (user/roles/head.h); the draft: refused ones are reset "silently". */
static void head_done(void *arg, int fd, enum head_result r, const struct mpc_frame *f, int err,
		      struct session *sess)
{
	struct mcp *m = arg;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	switch (r) {
	case HEAD_OK:
		if (!convert(m, fd, f, sess))
			return;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		break;
	case HEAD_NONE:
		m->st.no_convert++;
		xmcp_dbg("mcp: a connection without MP_CONVERT at its head: reset");
		break;
	case HEAD_BAD:
		m->st.bad_convert++;
		xmcp_dbg("mcp: MP_CONVERT head %s: reset", mpc_strerror(err));
		break;
	case HEAD_LATE:
		m->st.no_head++;
		xmcp_dbg("mcp: the connection closed or went silent before its head: reset");
		break;
	}
	relay_end_session(m->relay, sess);
}

void mcp_expire(struct mcp *m)
{
	heads_expire(m->heads);
}

void mcp_reap(struct mcp *m)
{
	heads_reap(m->heads);
}

void mcp_free(struct mcp *m)
{
	if (!m)
		return;
	heads_free(m->heads);
	free(m);
}
