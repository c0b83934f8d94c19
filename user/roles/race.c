// SPDX-License-Identifier: GPL-2.0
/* Server legs racing across paths (roles/race.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/health.h"
#include "lib/evloop.h"
#include "lib/util.h"
#include "relay/relay.h"
#include "relay/server_leg.h"
#include "roles/race.h"

struct attempt;

/* One leg of a race: a connecting MPTCP socket out of one path. */
struct leg {
	struct ev_handler h;
	struct attempt *a;
	int fd;
	unsigned int path;
};

/* One LAN connection whose server leg is being raced. */
struct attempt {
	struct race *r;
	int cfd;
	struct sockaddr_storage client, server;
	struct session *sess;
	unsigned int order[POL_MAX_PATHS], n_paths, next; /* the paths by rank; the next to try */
	struct leg leg[POL_MAX_PATHS];
	unsigned int live;	     /* legs still connecting */
	bool rerun;		     /* raced again on another HAG: no leg keeps the client's port */
	__u64 next_at, give_up_at;   /* ns: the next path joins the race; the client is reset */
	bool done;
	struct attempt *prev, *next_a; /* the race's list (next: the next path to try) */
};

struct race {
	const struct policy *pol;
	int epfd;
	struct relay *relay;
	struct attempt *attempts, *dead;
	struct race_stats st;
};

struct race *race_new(const struct policy *p, int epfd, struct relay *relay)
{
	struct race *r = calloc(1, sizeof(*r));

	if (r)
		*r = (struct race){ .pol = p, .epfd = epfd, .relay = relay };
	return r;
}

void race_set_policy(struct race *r, const struct policy *p)
{
	r->pol = p;
}

bool race_busy(const struct race *r)
{
	return r->attempts != NULL;
}

const struct race_stats *race_stats(const struct race *r)
{
	return &r->st;
}

static void leg_close(struct leg *l)
{
	if (l->fd < 0)
		return;
	daemon_reset(l->fd); /* (closing removes it from epoll) */
	l->fd = -1;
	l->a->live--;
}

/* The attempt is over: out of the list, freed after the batch (a later event may name its legs). */
static void finish(struct attempt *a)
{
	struct race *r = a->r;
	unsigned int k;

	for (k = 0; k < POL_MAX_PATHS; k++)
		leg_close(&a->leg[k]);
	a->done = true;
	if (a->prev)
		a->prev->next_a = a->next_a;
	else
		r->attempts = a->next_a;
	if (a->next_a)
		a->next_a->prev = a->prev;
	a->next_a = r->dead;
	r->dead = a;
}

/* Nothing answered: the client is reset, as a direct connection would have been. */
static void give_up(struct attempt *a)
{
	a->r->st.failed++;
	relay_end_session(a->r->relay, a->sess);
	daemon_reset(a->cfd);
	finish(a);
}

static void leg_event(struct ev_handler *h, unsigned int events);

/* The next path's leg joins the race; false when no path is left to try. */
static bool open_next(struct attempt *a)
{
	struct race *r = a->r;

	while (a->next < a->n_paths) {
		unsigned int path = a->order[a->next], k = a->next++;
		struct leg_opts o = { .proto = IPPROTO_MPTCP, .marked = r->pol->marker,
				      .mark = health_mark(r->pol, path), .any_port = k > 0 || a->rerun };
		struct leg *l = &a->leg[k];
		int fd = server_leg_open(&a->client, &a->server, &o);

		/*
		 * (a second leg from the client's port would be the same
		 * connection to the HAG: its SYN+ACK would follow the first)
		 */
		a->next_at = xmcp_now_ns() + r->pol->health.failover_ms * 1000000ull;
		if (k > 0)
			r->st.raced += k == 1;
		if (fd < 0)
			continue;
		*l = (struct leg){ .h.fn = leg_event, .a = a, .fd = fd, .path = path };
		if (ev_add(r->epfd, fd, EPOLLOUT, &l->h)) {
			close(fd);
			l->fd = -1;
			continue;
		}
		a->live++;
		return true;
	}
	return false;
}

/*
 * With several HAGs: the HCPE went over to another HAG while this leg's
 * SYN was out. The pairs on the one it left were reset; a leg that
 * connects there now would be one more, whose replies go elsewhere.
 */
static bool hag_left(const struct policy *p, unsigned int path)
{
	unsigned int order[POL_MAX_PATHS];

	return p->n_hags && health_order(order) && p->paths[order[0]].hag_rank != p->paths[path].hag_rank;
}

/*
 * The HCPE went over to another HAG while this connection raced (its legs
 * on the HAG it left): race again from the new ranking, each leg from a
 * port of the kernel's (the first one's 4-tuple may be known at the
 * server already), within the same connect_timeout.
 */
static void rerun(struct attempt *a)
{
	unsigned int k;

	for (k = 0; k < POL_MAX_PATHS; k++)
		leg_close(&a->leg[k]);
	a->rerun = true;
	a->next = 0;
	a->n_paths = health_order(a->order);
	a->r->st.rerun++;
	if (!open_next(a))
		give_up(a);
}

/* Leg l connected: it is the pair's; the others were slower, their paths told so. */

static void won(struct attempt *a, struct leg *l)
{
	struct race *r = a->r;
	int fd = l->fd;
	unsigned int k;

	if (hag_left(r->pol, l->path)) {
		rerun(a);
		return;
	}
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->fd = -1;
	a->live--;
	health_leg_result(l->path, true);
	/* the legs that had longer than the winner and did not connect (later ones had no fair chance) */
	for (k = 0; &a->leg[k] != l; k++)
		if (a->leg[k].fd >= 0)
			health_leg_result(a->leg[k].path, false);
	relay_add(r->relay, a->cfd, fd, a->sess);
	a->cfd = -1;
	finish(a);
}

static void leg_event(struct ev_handler *h, unsigned int events)
{
	struct leg *l = container_of(h, struct leg, h);
	struct attempt *a = l->a;
	int err;

	if (a->done || l->fd < 0)
		return;
	/*
	 * (a rerun, in this batch, closed every leg and gave this slot a new
	 * one: an event of the old leg finds it still connecting)
	 */
	err = -xmcp_connect_result(l->fd);
	if (err == EINPROGRESS)
		return;
	if (!err) {
		won(a, l);
		return;
	}
	xmcp_dbg("race: path %s: %s", a->r->pol->paths[l->path].name, strerror(err));
	/* refused: the line works and the server said no, as it would have directly */
	if (err == ECONNREFUSED) {
		health_leg_result(l->path, true);
		give_up(a);
		return;
	}
	leg_close(l);
	if (!open_next(a) && !a->live)
		give_up(a);
}

void race_start(struct race *r, int cfd, const struct sockaddr_storage *client,
		const struct sockaddr_storage *server, struct session *sess)
{
	struct attempt *a = calloc(1, sizeof(*a));
	unsigned int k;

	if (!a) {
		relay_end_session(r->relay, sess);
		daemon_reset(cfd);
		return;
	}
	*a = (struct attempt){ .r = r, .cfd = cfd, .client = *client, .server = *server, .sess = sess,
			       .next_a = r->attempts };
	for (k = 0; k < POL_MAX_PATHS; k++)
		a->leg[k] = (struct leg){ .a = a, .fd = -1 };
	a->n_paths = health_order(a->order);
	a->give_up_at = xmcp_now_ns() + r->pol->connect_timeout * 1000000000ull;
	if (r->attempts)
		r->attempts->prev = a;
	r->attempts = a;
	if (!open_next(a))
		give_up(a);
}

void race_expire(struct race *r)
{
	struct attempt *a, *next;
	__u64 t = xmcp_now_ns();

	for (a = r->attempts; a; a = next) {
		next = a->next_a;
		/*
		 * (no path's fault: nothing answered on any, the server or the
		 * address is what is down; only a race another path won tells)
		 */
		if (t >= a->give_up_at)
			give_up(a);
		else if (a->n_paths && hag_left(r->pol, a->order[0]))
			rerun(a);
		else if (t >= a->next_at && a->next < a->n_paths)
			open_next(a);
	}
}

void race_reap(struct race *r)
{
	struct attempt *a;

	while ((a = r->dead)) {
		r->dead = a->next_a;
		free(a);
	}
}

void race_free(struct race *r)
{
	if (!r)
		return;
	while (r->attempts)
		give_up(r->attempts);
	race_reap(r);
	free(r);
}
