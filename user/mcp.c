// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"
#include "mcp.h"
#include "mp_convert.h"
#include "util.h"

#define MCP_TAG 0x6d637021 /* "mcp!": marks our epoll data */

/* A client whose MP_CONVERT head has not arrived yet. */
struct pending {
	unsigned int tag;
	int fd;
	time_t since;
	void *owner; /* for relay_add, or relay_end_owner */
	struct pending *prev, *next;
};

struct mcp {
	const struct policy *pol;
	int epfd;
	unsigned int idle;
	struct relay *relay;
	struct pending *pending;
	struct dest_check *dest; /* where a server leg may go (user/dest.h) */
	struct mcp_stats st;
};

static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct mcp *mcp_new(const struct policy *p, int epfd, struct relay *relay, struct dest_check *dest)
{
	struct mcp *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->epfd = epfd;
	m->relay = relay;
	m->dest = dest;
	mcp_set_policy(m, p);
	return m;
}

void mcp_set_policy(struct mcp *m, const struct policy *p)
{
	m->pol = p;
	m->idle = p->idle_timeout;
}

bool mcp_owns(const void *ptr)
{
	return ptr && ((const struct pending *)ptr)->tag == MCP_TAG;
}

const struct mcp_stats *mcp_stats(const struct mcp *m)
{
	return &m->st;
}

int mcp_add(struct mcp *m, int fd, void *owner)
{
	struct pending *c = calloc(1, sizeof(*c));
	struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP };

	if (!c) {
		relay_end_owner(m->relay, owner);
		close(fd);
		return -1;
	}
	*c = (struct pending){ .tag = MCP_TAG, .fd = fd, .since = now(), .next = m->pending,
			       .owner = owner };
	e.data.ptr = c;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &e)) {
		relay_end_owner(m->relay, owner);
		close(fd);
		free(c);
		return -1;
	}
	if (m->pending)
		m->pending->prev = c;
	m->pending = c;
	return 0;
}

/* Stop watching c; its fd goes to the relay (keep) or is reset (the draft: "silently"). */
static void forget(struct mcp *m, struct pending *c, bool keep)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (!keep) {
		relay_end_owner(m->relay, c->owner);
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		m->pending = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->tag = 0;
	free(c);
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

/* 1: handed to the relay or refused (forgotten either way); 0: wait for more bytes. */
static int try_head(struct mcp *m, struct pending *c)
{
	__u8 buf[XMCP_OPTBUF_SIZE];
	struct sockaddr_storage ss;
	socklen_t len;
	struct mpc_frame f;
	const struct mpc_option *src;
	const char *why;
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	int off, sfd, cfd;
	void *owner;

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		m->st.no_head++;
		goto refuse;
	}
	off = mpc_frame_decode(buf, n, &f);
	if (off < 0 && mpc_frame_may_grow(off, n))
		return 0;
	if (off == 0) {
		m->st.no_convert++;
		xmcp_dbg("mcp: a connection without MP_CONVERT at its head: reset");
		goto refuse;
	}
	if (off < 0 || destination(&f, c->fd, &ss, &len)) {
		m->st.bad_convert++;
		xmcp_dbg("mcp: MP_CONVERT head %s: reset",
			 off < 0 ? mpc_strerror(off) : "without a destination");
		goto refuse;
	}
	why = dest_refused(m->dest, m->pol, &ss);
	if (why) {
		m->st.forbidden++;
		xmcp_dbg("mcp: destination refused (%s): reset", why);
		goto refuse;
	}
	len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	src = usable_source(m, c->fd, &f);
	/* a socket has one family: a source must be of the destination's */
	if (src && (src->family == 4) != (ss.ss_family == AF_INET)) {
		m->st.source_refused++;
		xmcp_dbg("mcp: source and destination options of different families: own address used");
		src = NULL;
	}
	sfd = recv(c->fd, buf, off, 0) == off ? open_server(&ss, len, src) : -1;
	if (sfd < 0) {
		m->st.connect_error++;
		goto refuse;
	}
	if (xmcp_verbose) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(ss.ss_family, xmcp_sa_addr(&ss), a, sizeof(a));
		xmcp_dbg("mcp: converting to %s port %d", a, xmcp_sa_port(&ss));
	}
	m->st.converted++;
	cfd = c->fd;
	owner = c->owner;
	forget(m, c, true); /* out of our epoll registration before the relay's */
	relay_add(m->relay, cfd, sfd, 0, owner);
	return 1;
refuse:
	forget(m, c, false);
	return 1;
}

void mcp_event(struct mcp *m, void *ptr, unsigned int events)
{
	try_head(m, ptr);
}

void mcp_expire(struct mcp *m)
{
	struct pending *c = m->pending, *next;
	time_t t = now();

	for (; c; c = next) {
		next = c->next;
		if (t - c->since > (time_t)m->idle) {
			m->st.no_head++;
			forget(m, c, false);
		}
	}
}

void mcp_free(struct mcp *m)
{
	if (!m)
		return;
	while (m->pending)
		forget(m, m->pending, false);
	free(m);
}
