// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lib/evloop.h"
#include "relay/server_leg.h"
#include "roles/upstream.h"
#include "lib/util.h"

/* One LAN connection on its way to an MCP. */
struct attempt {
	struct ev_handler h;
	struct upstream *u;
	int cfd, sfd;
	int cand;	     /* the candidate being tried */
	__u32 tried;	     /* bit i: candidate i tried already */
	__u64 deadline;	     /* ns, CLOCK_MONOTONIC */
	struct sockaddr_storage server;
	struct attempt *prev, *next;
};

struct upstream {
	int epfd;
	struct relay *relay;
	const struct policy *pol;
	struct attempt *attempts;
	struct upstream_cand_stats st[POL_MAX_MCPS];
};

/*
 * ns, CLOCK_MONOTONIC: a failed candidate is passed over until then. One
 * table for the process, whichever worker's connection found an MCP down:
 * the MCP's health is the gateway's knowledge, not a worker's.
 */
static _Atomic __u64 down_until[POL_MAX_MCPS];

struct upstream *upstream_new(const struct policy *p, int epfd, struct relay *relay)
{
	struct upstream *u = calloc(1, sizeof(*u));

	if (u) {
		u->epfd = epfd;
		u->relay = relay;
		u->pol = p;
	}
	return u;
}

void upstream_set_policy(struct upstream *u, const struct policy *p)
{
	u->pol = p;
}

bool upstream_busy(const struct upstream *u)
{
	return u->attempts != NULL;
}

const struct upstream_cand_stats *upstream_stats(const struct upstream *u, unsigned int i)
{
	return &u->st[i];
}

/* Is candidate m for connections to server (its destinations and ports, if it lists any)? */
static bool applies(const struct pol_mcp *m, const struct sockaddr_storage *server)
{
	bool prefix_ok = !m->n_prefixes, port_ok = !m->n_ports;
	unsigned int i;

	for (i = 0; i < m->n_prefixes && !prefix_ok; i++)
		prefix_ok = pol_prefix_contains(&m->prefixes[i], server->ss_family, xmcp_sa_addr(server));
	for (i = 0; i < m->n_ports && !port_ok; i++)
		port_ok = m->ports[i] == xmcp_sa_port(server);
	return prefix_ok && port_ok;
}

/*
 * The first candidate for this destination not tried yet that is up; if
 * all of those are down, the first of them anyway.
 */
static int pick(const struct upstream *u, const struct attempt *a)
{
	__u64 t = xmcp_now_ns();
	int i, fallback = -1;

	for (i = 0; i < (int)u->pol->n_mcps; i++) {
		if ((a->tried & (1u << i)) || !applies(&u->pol->mcps[i], &a->server))
			continue;
		if (down_until[i] <= t)
			return i;
		if (fallback < 0)
			fallback = i;
	}
	return fallback;
}

/* The MP_CONVERT naming the LAN client's original destination. */
static struct mpc_option destination_option(const struct sockaddr_storage *ss)
{
	struct mpc_option o = { .dir = MPC_DIR_DST, .proto = MPC_PROTO_TCP, .has_port = 1 };

	o.family = ss->ss_family == AF_INET ? 4 : 6;
	o.port = xmcp_sa_port(ss);
	memcpy(o.addr, xmcp_sa_addr(ss), o.family == 4 ? 4 : 16);
	return o;
}

/* Connect to the next candidate; false when none is left. */
static bool try_next(struct upstream *u, struct attempt *a)
{
	struct mpc_option o = destination_option(&a->server);

	while ((a->cand = pick(u, a)) >= 0) {
		const struct pol_mcp *m = &u->pol->mcps[a->cand];

		a->tried |= 1u << a->cand;
		u->st[a->cand].tried++;
		a->sfd = socket(m->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MPTCP);
		if (a->sfd >= 0 && !mpc_syn_connect(a->sfd, &o, 1, &m->sa, m->len) &&
		    !ev_add(u->epfd, a->sfd, EPOLLOUT, &a->h)) {
			a->deadline = xmcp_now_ns() + u->pol->connect_timeout_ms * 1000000ull;
			return true;
		}
		if (a->sfd >= 0)
			close(a->sfd);
		u->st[a->cand].failed++;
	}
	a->sfd = -1;
	return false;
}

static void unlink_attempt(struct upstream *u, struct attempt *a)
{
	if (a->prev)
		a->prev->next = a->next;
	else
		u->attempts = a->next;
	if (a->next)
		a->next->prev = a->prev;
	free(a);
}

/* No candidate answered: reset the LAN client. */
static void give_up(struct upstream *u, struct attempt *a)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	xmcp_dbg("upstream: no MCP answered; resetting the client");
	setsockopt(a->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(a->cfd);
	unlink_attempt(u, a);
}

static void attempt_event(struct ev_handler *h, unsigned int events);

int upstream_add(struct upstream *u, int cfd, const struct sockaddr_storage *server)
{
	struct attempt *a = calloc(1, sizeof(*a));

	if (!a) {
		close(cfd);
		return -1;
	}
	*a = (struct attempt){ .h.fn = attempt_event, .u = u, .cfd = cfd, .server = *server, .next = u->attempts };
	if (u->attempts)
		u->attempts->prev = a;
	u->attempts = a;
	if (!try_next(u, a)) {
		give_up(u, a);
		return -1;
	}
	return 0;
}

/* The candidate failed (error or timeout): pass it over for a while, try the next. */
static void failed(struct upstream *u, struct attempt *a)
{
	u->st[a->cand].failed++;
	down_until[a->cand] = xmcp_now_ns() + u->pol->retry_after * 1000000000ull;
	epoll_ctl(u->epfd, EPOLL_CTL_DEL, a->sfd, NULL);
	close(a->sfd);
	if (!try_next(u, a))
		give_up(u, a);
}

/* The connect to the candidate ended, one way or the other (its fd is the only one registered). */
static void attempt_event(struct ev_handler *h, unsigned int events)
{
	struct attempt *a = container_of(h, struct attempt, h);
	struct upstream *u = a->u;
	int err = 0, cfd = a->cfd, sfd = a->sfd;
	socklen_t len = sizeof(err);

	if (getsockopt(sfd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		xmcp_dbg("upstream: MCP %s: %s", u->pol->mcps[a->cand].text, strerror(err ?: errno));
		failed(u, a);
		return;
	}
	u->st[a->cand].connected++;
	down_until[a->cand] = 0;
	epoll_ctl(u->epfd, EPOLL_CTL_DEL, sfd, NULL);
	unlink_attempt(u, a);
	relay_add(u->relay, cfd, sfd, NULL);
}

void upstream_expire(struct upstream *u)
{
	struct attempt *a = u->attempts, *next;
	__u64 t = xmcp_now_ns();

	for (; a; a = next) {
		next = a->next;
		if (t >= a->deadline) {
			xmcp_dbg("upstream: MCP %s did not answer in time", u->pol->mcps[a->cand].text);
			failed(u, a);
		}
	}
}

void upstream_free(struct upstream *u)
{
	if (!u)
		return;
	while (u->attempts) {
		close(u->attempts->sfd);
		give_up(u, u->attempts);
	}
	free(u);
}
