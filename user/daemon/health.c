// SPDX-License-Identifier: GPL-2.0
/* Path health: probes, states and the ranking of the paths (daemon/health.h). */
#include <errno.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/health.h"
#include "lib/evloop.h"
#include "lib/util.h"

#define WINDOW 20	/* probes the loss is counted over */
#define MIN_SAMPLES 10	/* fewer than this since the path came up: no loss figure yet */

struct path;

/* One SYN of a round. */
struct probe {
	struct ev_handler h;
	struct path *path;
	int fd;
};

/* A path's probing (main thread only). */
struct path {
	struct health *hl;
	unsigned int i;
	struct probe probe[POL_MAX_PROBES];
	unsigned int out;	 /* probes of the round not resolved yet */
	bool in_round, answered; /* a round is out; one of its probes answered */
	__u64 started;		 /* ns, the round's SYNs */
	unsigned int lost_run, ok_run;
	__u32 window; /* bit k: the probe k rounds ago was lost */
	unsigned int samples;
	unsigned int rtt_us; /* smoothed over answered probes */
	/* paths naming HAGs: the HAG's via address(es) at health.hag_port, instead of health.probes */
	unsigned int n_hag_targets;
	struct pol_mcp hag_target[2];
};

struct health {
	const struct policy *pol;
	int epfd, timerfd;
	struct ev_handler on_timer;
	struct path path[POL_MAX_PATHS];
	void (*on_change)(void *arg);
	void *arg;
	bool changed; /* a path's state changed since the ranking was last published */
	bool rose;    /* ... and one of them came back from down */
};

/* What the workers and the summary read (any thread). */
static struct {
	_Atomic int state;
	_Atomic long long since; /* time(): when the state last changed */
	_Atomic unsigned int rtt_us, loss;
	_Atomic unsigned long long probes, probes_lost, legs_answered, legs_unanswered;
	_Atomic unsigned int pending_ok, pending_lost; /* leg results not folded in yet */
} shared[POL_MAX_PATHS];
/* The order new connections try the paths: path k-th in bits 4k..4k+3, their number in bits 32.. */
static _Atomic __u64 ranking;

static const char *const state_names[] = { [PATH_UP] = "up", [PATH_DEMOTED] = "demoted", [PATH_DOWN] = "down" };

__u32 health_mark(const struct policy *p, unsigned int i)
{
	return p->fwmark + 1 + i;
}

int health_path_of(const struct policy *p, __u32 mark)
{
	return mark > p->fwmark && mark <= p->fwmark + p->n_paths ? (int)(mark - p->fwmark - 1) : -1;
}

unsigned int health_order(unsigned int order[POL_MAX_PATHS])
{
	__u64 r = atomic_load(&ranking);
	unsigned int n = r >> 32, k;

	for (k = 0; k < n && k < POL_MAX_PATHS; k++)
		order[k] = (r >> (4 * k)) & 0xf;
	return n;
}

void health_leg_result(unsigned int i, bool answered)
{
	if (i >= POL_MAX_PATHS)
		return;
	atomic_fetch_add(answered ? &shared[i].legs_answered : &shared[i].legs_unanswered, 1);
	atomic_fetch_add(answered ? &shared[i].pending_ok : &shared[i].pending_lost, 1);
}

/*
 * The HAG new connections go to: the first in the policy's order with a
 * path not down. Only it has the subscribers' prefixes while it lives (the
 * others are standbys announcing them at a worse preference): a slow path
 * to it beats a good one to a standby, whose servers' replies would go to it.
 * Another HAG than the one in use counts only by a path whose last probe
 * (or SYN) was answered: lines dying together take a far HAG's paths down
 * a round before a near one's (an answer still in flight on the longer
 * round trip is lost), and the near one, already unanswered, is no better.
 */
static unsigned int next_hag(const struct health *hl, unsigned int active)
{
	const struct policy *p = hl->pol;
	unsigned int i, best = 0;
	bool found = false;

	for (i = 0; i < p->n_paths; i++) {
		if (atomic_load(&shared[i].state) == PATH_DOWN ||
		    (p->paths[i].hag_rank != active && hl->path[i].lost_run))
			continue;
		if (!found || p->paths[i].hag_rank < best)
			best = p->paths[i].hag_rank;
		found = true;
	}
	/*
	 * With every path down (the HCPE's own lines out: a modem resyncing),
	 * nothing says which HAG is gone: stay with the one in use, whose
	 * connections MPTCP may still carry over once a line is back.
	 */
	return found ? best : active;
}

static unsigned int hag_in_use; /* main thread only, as every caller */

/*
 * Up primaries in the policy's order, up backups, then demoted ones alike,
 * down ones last; only the active HAG's paths (a connection raced to
 * another HAG could not work: the replies go to the active one). Without
 * HAGs named, every path is the one HAG's.
 */
static __u64 rank(const struct health *hl)
{
	const struct policy *p = hl->pol;
	static const struct {
		int state, backup;
	} tiers[] = { { PATH_UP, 0 }, { PATH_UP, 1 }, { PATH_DEMOTED, 0 }, { PATH_DEMOTED, 1 },
		      { PATH_DOWN, 0 }, { PATH_DOWN, 1 } };
	unsigned int t, i, n = 0, active = hag_in_use = next_hag(hl, hag_in_use);
	__u64 r = 0;

	for (t = 0; t < sizeof(tiers) / sizeof(tiers[0]); t++)
		for (i = 0; i < p->n_paths; i++)
			if (p->paths[i].hag_rank == active && atomic_load(&shared[i].state) == tiers[t].state &&
			    p->paths[i].backup == tiers[t].backup)
				r |= (__u64)i << (4 * n++);
	return r | (__u64)n << 32;
}

static void set_state(struct path *ph, int state, const char *why)
{
	struct health *hl = ph->hl;
	int old = atomic_exchange(&shared[ph->i].state, state);

	if (old == state)
		return;
	atomic_store(&shared[ph->i].since, (long long)time(NULL));
	fprintf(stderr, "xmcp: path %s: %s -> %s (%s)\n", hl->pol->paths[ph->i].name, state_names[old],
		state_names[state], why);
	hl->changed = true;
	hl->rose |= old == PATH_DOWN;
}

/*
 * The paths' new states ranked and published, once every path's results
 * of the moment are in: ranked one path at a time, the lines dying
 * together would look for an instant like the primary HAG alone going
 * (its paths first in the policy) and move everything to the standby.
 * Answers come one by one, though: the lines coming back together (all
 * down, then up in the same round) would let a standby's first answer
 * take the HCPE from its HAG, resetting its pairs there, for the
 * milliseconds until the HAG's own answer. A change of HAG that a path
 * coming back would make waits for the tick (at_tick), when the round's
 * answers are in; one that a path going down makes does not wait. (A
 * change of HAG may also come with no change of state: another HAG's
 * path answering again, next_hag.)
 */
static void publish(struct health *hl, bool at_tick)
{
	__u64 was = atomic_load(&ranking), now;
	bool other_hag = next_hag(hl, hag_in_use) != hag_in_use;

	if (!hl->changed && !other_hag)
		return;
	if (!at_tick && hl->rose && other_hag)
		return;
	hl->changed = hl->rose = false;
	now = rank(hl);
	atomic_store(&ranking, now);
	if ((now & 0xf) != (was & 0xf) && hl->on_change)
		hl->on_change(hl->arg);
}

/* The share of the window's probes lost, in percent (0 until there are MIN_SAMPLES). */
static unsigned int loss_percent(const struct path *ph)
{
	__u32 mask = ph->samples >= 32 ? ~0u : (1u << ph->samples) - 1;

	return ph->samples < MIN_SAMPLES ? 0 : __builtin_popcount(ph->window & mask) * 100 / ph->samples;
}

/* Demoted above a limit, promoted back below half the loss limit and 4/5 of the RTT one. */
static void judge_quality(struct path *ph)
{
	const struct pol_health *c = &ph->hl->pol->health;
	unsigned int loss = loss_percent(ph), rtt = ph->rtt_us;
	bool bad = (c->max_loss && loss > c->max_loss) || (c->max_rtt_ms && rtt > c->max_rtt_ms * 1000);
	bool good = (!c->max_loss || loss <= c->max_loss / 2) && (!c->max_rtt_ms || rtt <= c->max_rtt_ms * 800);
	int state = atomic_load(&shared[ph->i].state);
	char why[64];

	atomic_store(&shared[ph->i].loss, loss);
	snprintf(why, sizeof(why), "loss %u%%, RTT %u ms", loss, rtt / 1000);
	if (state == PATH_UP && bad)
		set_state(ph, PATH_DEMOTED, why);
	else if (state == PATH_DEMOTED && good)
		set_state(ph, PATH_UP, why);
}

/* One probe's (or leg's) outcome; rtt_us 0: none measured. */
static void record(struct path *ph, bool answered, unsigned int rtt_us)
{
	const struct pol_health *c = &ph->hl->pol->health;
	int state = atomic_load(&shared[ph->i].state);
	char why[64];

	ph->window = ph->window << 1 | !answered;
	ph->samples += ph->samples < WINDOW;
	ph->ok_run = answered ? ph->ok_run + 1 : 0;
	ph->lost_run = answered ? 0 : ph->lost_run + 1;
	if (answered && rtt_us) {
		ph->rtt_us = ph->rtt_us ? (7 * ph->rtt_us + rtt_us) / 8 : rtt_us;
		atomic_store(&shared[ph->i].rtt_us, ph->rtt_us);
	}
	if (state != PATH_DOWN && ph->lost_run >= c->down_after) {
		snprintf(why, sizeof(why), "%u probes or SYNs unanswered in a row", ph->lost_run);
		set_state(ph, PATH_DOWN, why);
		return;
	}
	if (state == PATH_DOWN) {
		if (ph->ok_run < c->up_after)
			return;
		/* the outage is not the line's loss: count afresh */
		ph->window = 0;
		ph->samples = 0;
		snprintf(why, sizeof(why), "%u answered in a row", ph->ok_run);
		set_state(ph, PATH_UP, why);
	}
	judge_quality(ph);
}

/* Close the path's probes still out (a connected one with a RST: nothing left at the target). */
static void close_probes(struct path *ph)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	unsigned int k;

	for (k = 0; k < POL_MAX_PROBES; k++) {
		struct probe *pr = &ph->probe[k];

		if (pr->fd < 0)
			continue;
		setsockopt(pr->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(pr->fd);
		pr->fd = -1;
	}
}

/* The round is over: its probes closed, its outcome recorded. */
static void end_round(struct path *ph)
{
	close_probes(ph);
	ph->in_round = false;
	ph->out = 0;
	atomic_fetch_add(&shared[ph->i].probes, 1);
	if (!ph->answered)
		atomic_fetch_add(&shared[ph->i].probes_lost, 1);
	record(ph, ph->answered, ph->answered ? (xmcp_now_ns() - ph->started) / 1000 : 0);
}

static void probe_result(struct probe *pr)
{
	struct path *ph = pr->path;
	int err;

	if (pr->fd < 0)
		return; /* its round ended earlier in this batch */
	/* (an event of the previous round's socket, closed in this batch: not an answer) */
	err = -xmcp_connect_result(pr->fd);
	if (err == EINPROGRESS)
		return;
	/*
	 * A SYN+ACK or a RST: the line carried our SYN and its answer. From a
	 * HAG's probe port only a SYN+ACK: a RST is its box without its xmcp.
	 */
	if (!err || (err == ECONNREFUSED && !ph->n_hag_targets)) {
		ph->answered = true;
		end_round(ph);
		return;
	}
	epoll_ctl(ph->hl->epfd, EPOLL_CTL_DEL, pr->fd, NULL);
	close(pr->fd);
	pr->fd = -1;
	if (--ph->out == 0)
		end_round(ph);
}

static void probe_event(struct ev_handler *h, unsigned int events)
{
	struct probe *pr = container_of(h, struct probe, h);

	(void)events;
	probe_result(pr);
	publish(pr->path->hl, false);
}

/* A SYN to target t out of path ph only: its mark (routing table) and its device. */
static int send_probe(struct path *ph, const struct pol_mcp *t, struct probe *pr)
{
	const struct pol_path *pp = &ph->hl->pol->paths[ph->i];
	__u32 mark = health_mark(ph->hl->pol, ph->i);
	int fd = socket(t->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, pp->ifname, strlen(pp->ifname)) ||
	    (connect(fd, (const struct sockaddr *)&t->sa, t->len) && errno != EINPROGRESS) ||
	    ev_add(ph->hl->epfd, fd, EPOLLOUT, &pr->h)) {
		close(fd);
		return -1;
	}
	pr->fd = fd;
	return 0;
}

/* A round of SYNs, at now (the tick's time: the next tick finds it exactly an interval old). */
static void start_round(struct path *ph, __u64 now)
{
	const struct pol_health *c = &ph->hl->pol->health;
	unsigned int k;

	const struct pol_mcp *targets = ph->n_hag_targets ? ph->hag_target : c->probes;
	unsigned int n = ph->n_hag_targets ? ph->n_hag_targets : c->n_probes;

	ph->answered = false;
	ph->started = now;
	ph->out = 0;
	for (k = 0; k < n; k++)
		if (!send_probe(ph, &targets[k], &ph->probe[k]))
			ph->out++;
	ph->in_round = true;
	if (!ph->out) /* no route for any target out of this line (e.g. ENETUNREACH): lost */
		end_round(ph);
}

/*
 * Leg results the workers reported since the last tick: one loss and one
 * answer at most per tick, so that a burst of connections weighs as one
 * probe, not as the whole window.
 */
static void fold_legs(struct path *ph)
{
	unsigned int ok = atomic_exchange(&shared[ph->i].pending_ok, 0);
	unsigned int lost = atomic_exchange(&shared[ph->i].pending_lost, 0);

	if (lost)
		record(ph, false, 0);
	if (ok)
		record(ph, true, 0);
}

/* Every interval: rounds past their timeout end as lost, the next round starts. */
static void on_tick(struct ev_handler *h, unsigned int events)
{
	struct health *hl = container_of(h, struct health, on_timer);
	__u64 now = xmcp_now_ns(), timeout = hl->pol->health.timeout_ms * 1000000ull, ticks;
	unsigned int i;

	if (read(hl->timerfd, &ticks, sizeof(ticks)) <= 0)
		return;
	for (i = 0; i < hl->pol->n_paths; i++) {
		struct path *ph = &hl->path[i];

		fold_legs(ph);
		if (ph->in_round && now - ph->started >= timeout)
			end_round(ph);
		if (!ph->in_round)
			start_round(ph, now);
	}
	publish(hl, true);
}

/* A path to a named HAG probes it: each of its via addresses at health.hag_port. */
static void hag_targets(const struct policy *p, struct path *ph)
{
	const struct pol_path *pp = &p->paths[ph->i];
	unsigned int k;

	for (k = 0; p->n_hags && k < pp->n_via && k < 2; k++) {
		struct pol_mcp *t = &ph->hag_target[k];

		memset(t, 0, sizeof(*t));
		if (pp->via[k].family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&t->sa;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(p->health.hag_port);
			memcpy(&sin->sin_addr, pp->via[k].addr, 4);
			t->len = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->sa;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(p->health.hag_port);
			memcpy(&sin6->sin6_addr, pp->via[k].addr, 16);
			t->len = sizeof(*sin6);
		}
		ph->n_hag_targets++;
	}
}

struct health *health_open(const struct policy *p, int epfd, void (*on_change)(void *arg), void *arg)
{
	unsigned int ms = p->health.interval_ms, i, k;
	struct itimerspec its = { .it_interval = { ms / 1000, (ms % 1000) * 1000000L } };
	struct health *hl;

	if (!p->health.on)
		return NULL;
	hl = calloc(1, sizeof(*hl));
	if (!hl)
		return NULL;
	*hl = (struct health){ .pol = p, .epfd = epfd, .on_timer.fn = on_tick, .on_change = on_change, .arg = arg };
	for (i = 0; i < p->n_paths; i++) {
		hl->path[i] = (struct path){ .hl = hl, .i = i };
		hag_targets(p, &hl->path[i]);
		for (k = 0; k < POL_MAX_PROBES; k++)
			hl->path[i].probe[k] = (struct probe){ .h.fn = probe_event, .path = &hl->path[i], .fd = -1 };
		atomic_store(&shared[i].state, PATH_UP); /* until a probe says otherwise */
		atomic_store(&shared[i].since, (long long)time(NULL));
	}
	atomic_store(&ranking, rank(hl));
	its.it_value = its.it_interval;
	hl->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (hl->timerfd < 0 || timerfd_settime(hl->timerfd, 0, &its, NULL) ||
	    ev_add(epfd, hl->timerfd, EPOLLIN, &hl->on_timer)) {
		xmcp_err("path health: cannot start its timer: %s", strerror(errno));
		health_close(hl);
		return NULL;
	}
	return hl;
}

void health_set_policy(struct health *hl, const struct policy *p)
{
	if (hl)
		hl->pol = p;
}

void health_close(struct health *hl)
{
	unsigned int i;

	if (!hl)
		return;
	for (i = 0; i < hl->pol->n_paths; i++)
		close_probes(&hl->path[i]);
	if (hl->timerfd >= 0)
		close(hl->timerfd);
	atomic_store(&ranking, 0);
	free(hl);
}

json_object *health_json(unsigned int i)
{
	json_object *o;

	if (!atomic_load(&ranking) || i >= POL_MAX_PATHS)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "state", json_object_new_string(state_names[atomic_load(&shared[i].state)]));
	json_object_object_add(o, "since", json_object_new_int64(atomic_load(&shared[i].since)));
	json_object_object_add(o, "rtt_ms", json_object_new_double(atomic_load(&shared[i].rtt_us) / 1000.0));
	json_object_object_add(o, "loss_percent", json_object_new_int(atomic_load(&shared[i].loss)));
	json_object_object_add(o, "probes", json_object_new_int64(atomic_load(&shared[i].probes)));
	json_object_object_add(o, "probes_lost", json_object_new_int64(atomic_load(&shared[i].probes_lost)));
	json_object_object_add(o, "legs_answered", json_object_new_int64(atomic_load(&shared[i].legs_answered)));
	json_object_object_add(o, "legs_unanswered", json_object_new_int64(atomic_load(&shared[i].legs_unanswered)));
	return o;
}
