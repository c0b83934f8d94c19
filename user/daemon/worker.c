// SPDX-License-Identifier: GPL-2.0
/*
 * Relay workers (struct worker, user/daemon/daemon.h): one thread each,
 * with its own epoll loop, listeners, relay, destination check and role
 * modules. The steering program picks a new connection's worker by a hash
 * of its addresses and ports (bpf/steer.bpf.c), so a pair is handled by
 * one thread from its SYN to its end and the data path takes no lock.
 *
 * The main thread talks to a worker only through worker_call(): it leaves
 * a function in the worker's mailbox, wakes it through an eventfd and
 * waits; the worker runs the function between two of its events. That is
 * how a reload reaches every worker (its policy pointer moves there), how
 * `xmcp flows` and `xmcp stats` read the relays, and how the daemon stops.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon/admission.h"
#include "daemon/daemon.h"
#include "daemon/dest.h"
#include "relay/relay.h"
#include "roles/roles.h"
#include "lib/util.h"

#define MAX_EVENTS 64

unsigned int workers_wanted(const struct policy *p)
{
	cpu_set_t set;
	int n;

	if (p->workers)
		return p->workers;
	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > XMCP_MAX_WORKERS ? XMCP_MAX_WORKERS : n;
}

static void on_listen4(struct ev_handler *h, unsigned int events)
{
	struct worker *w = container_of(h, struct worker, on_listen4);

	worker_accept(w, w->listen_fd[0]);
	worker_publish_stats(w); /* new pairs show at once, not at the next tick */
}

static void on_listen6(struct ev_handler *h, unsigned int events)
{
	struct worker *w = container_of(h, struct worker, on_listen6);

	worker_accept(w, w->listen_fd[1]);
	worker_publish_stats(w);
}

/* Every second: lifetimes and deadlines, the listeners after a pause, the counters. */
static void on_timer(struct ev_handler *h, unsigned int events)
{
	struct worker *w = container_of(h, struct worker, on_timer);
	__u64 ticks;

	if (read(w->timerfd, &ticks, sizeof(ticks)) <= 0)
		return;
	relay_expire(w->relay);
	if (w->role->tick)
		w->role->tick(w);
	worker_resume_listeners(w);
	worker_publish_stats(w);
	xmcp_accept_reserve(); /* again, if a worker's accept lost it (user/lib/util.c) */
}

/* The main thread left a call in the mailbox (worker_call). */
static void on_wake(struct ev_handler *h, unsigned int events)
{
	struct worker *w = container_of(h, struct worker, on_wake);
	eventfd_t v;

	if (eventfd_read(w->wakefd, &v))
		return;
	pthread_mutex_lock(&w->lock);
	if (w->call) {
		w->call(w, w->call_arg);
		w->call = NULL;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
}

void worker_call(struct worker *w, void (*fn)(struct worker *w, void *arg), void *arg)
{
	bool ran = false;

	if (w->running) {
		pthread_mutex_lock(&w->lock);
		if (!w->dead) {
			w->call = fn;
			w->call_arg = arg;
			eventfd_write(w->wakefd, 1);
			while (w->call && !w->dead)
				pthread_cond_wait(&w->cond, &w->lock);
			ran = !w->call;
			w->call = NULL;
		}
		pthread_mutex_unlock(&w->lock);
		if (ran)
			return;
		/* the thread has ended (worker_loop): its state is the caller's now */
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	fn(w, arg); /* no thread (yet, or any more) */
}

void workers_call(struct daemon *d, void (*fn)(struct worker *w, void *arg), void *arg)
{
	unsigned int i;

	for (i = 0; i < d->n_workers; i++)
		worker_call(&d->workers[i], fn, arg);
}

/*
 * How long the loop may sleep: a pair whose leg failed waits for its last
 * bytes to be taken (relay_drain), the role may have deadlines of its own;
 * else until an event.
 */
static int wait_ms(const struct worker *w)
{
	int drain = relay_drain_ms(w->relay), role = w->role->wait_ms ? w->role->wait_ms(w) : -1;

	if (role >= 0 && (drain < 0 || drain > role))
		return role;
	return drain;
}

/*
 * A worker whose loop can't go on: its connections would be stranded, so
 * the daemon stops (SIGTERM to itself: the main thread tears down as on
 * any other; a service manager restarts it). Marked dead first, so that a
 * worker_call waiting for it returns and runs its function itself.
 */
static void worker_died(struct worker *w, int err)
{
	xmcp_err("relay worker %u: epoll_wait: %s; stopping", w->id, strerror(err));
	pthread_mutex_lock(&w->lock);
	w->dead = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	kill(getpid(), SIGTERM);
}

static void *worker_loop(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[MAX_EVENTS];
	int n, i;

	while (!w->stop) {
		n = epoll_wait(w->epfd, ev, MAX_EVENTS, wait_ms(w));
		if (n < 0 && errno != EINTR) {
			worker_died(w, errno);
			return NULL;
		}
		for (i = 0; i < n; i++) {
			struct ev_handler *h = ev[i].data.ptr;

			h->fn(h, ev[i].events);
		}
		relay_drain(w->relay);
		/*
		 * What ended in this batch is freed only now (user/lib/evloop.h).
		 * The role's modules and the relay keep lists of their own: the
		 * order between them does not matter.
		 */
		if (w->role->after_batch)
			w->role->after_batch(w);
		relay_reap(w->relay);
	}
	return NULL;
}

/*
 * The workers and their listeners, before the datapath is loaded (it is
 * told their ports). With a fixed listen_port, worker i listens on
 * listen_port + i; else on ports the kernel picks.
 */
int workers_listen(struct daemon *d, unsigned int n)
{
	unsigned int i, base = d->pol->listen_port;

	if (base && base + n - 1 > 65535) {
		xmcp_err("%s: listen_port %u leaves no room for %u workers (worker i listens on listen_port + i)",
			 d->config, base, n);
		return -1;
	}
	d->workers = calloc(n, sizeof(*d->workers));
	if (!d->workers) {
		xmcp_err("out of memory for %u relay workers", n);
		return -1;
	}
	d->n_workers = n;
	/* all of them first: a teardown after a failure below closes what each has */
	for (i = 0; i < n; i++) {
		struct worker *w = &d->workers[i];

		*w = (struct worker){ .id = i, .d = d, .pol = d->pol, .role = d->role,
				      .listen_fd = { -1, -1 }, .epfd = -1, .timerfd = -1, .wakefd = -1 };
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
	}
	for (i = 0; i < n; i++)
		if (worker_listen(&d->workers[i], base ? base + i : 0))
			return -1;
	return 0;
}

static void end_session(void *adm, struct session *sess)
{
	admission_end(adm, sess);
}

/* One worker's loop descriptors and modules: relay, destination check, then the role's. */
static int worker_setup(struct worker *w)
{
	struct itimerspec tick = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct daemon *d = w->d;

	w->on_listen4.fn = on_listen4;
	w->on_listen6.fn = on_listen6;
	w->on_timer.fn = on_timer;
	w->on_wake.fn = on_wake;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->timerfd < 0 || w->wakefd < 0 || timerfd_settime(w->timerfd, 0, &tick, NULL) ||
	    ev_add(w->epfd, w->listen_fd[0], EPOLLIN, &w->on_listen4) ||
	    ev_add(w->epfd, w->listen_fd[1], EPOLLIN, &w->on_listen6) ||
	    ev_add(w->epfd, w->timerfd, EPOLLIN, &w->on_timer) ||
	    ev_add(w->epfd, w->wakefd, EPOLLIN, &w->on_wake)) {
		xmcp_err("worker %u: cannot set up its event loop: %s", w->id, strerror(errno));
		return -1;
	}
	w->relay = relay_new(w->epfd, w->pol->relay_copy ? RELAY_COPY : RELAY_SPLICE);
	if (!w->relay || !(w->dest = dest_check_new()))
		return -1;
	relay_set_timeouts(w->relay, w->pol->idle_timeout, w->pol->connect_timeout);
	relay_set_mptcp_cc(w->relay, d->cc_ok ? w->pol->mptcp_cc : NULL);
	w->adm = d->adm;
	if (w->adm)
		relay_on_end(w->relay, end_session, w->adm);
	return w->role->setup(w);
}

int workers_setup(struct daemon *d)
{
	unsigned int i;

	for (i = 0; i < d->n_workers; i++)
		if (worker_setup(&d->workers[i]))
			return -1;
	return 0;
}

int workers_start(struct daemon *d)
{
	unsigned int i;
	int err;

	for (i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];

		err = pthread_create(&w->thread, NULL, worker_loop, w);
		if (err) {
			xmcp_err("cannot start relay worker %u: %s", i, strerror(err));
			return -1;
		}
		w->running = true;
	}
	return 0;
}

static void stop_one(struct worker *w, void *arg)
{
	w->stop = true;
}

bool workers_any_dead(struct daemon *d)
{
	bool dead = false;
	unsigned int i;

	for (i = 0; i < d->n_workers; i++) {
		pthread_mutex_lock(&d->workers[i].lock);
		dead |= d->workers[i].dead;
		pthread_mutex_unlock(&d->workers[i].lock);
	}
	return dead;
}

void workers_stop(struct daemon *d)
{
	unsigned int i;

	for (i = 0; d->workers && i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];

		if (!w->running)
			continue;
		worker_call(w, stop_one, NULL);
		pthread_join(w->thread, NULL);
		w->running = false;
	}
}

/* After workers_stop: the role's modules first (their connections are the relay's to be), then the relay. */
void workers_free(struct daemon *d)
{
	unsigned int i, k;

	for (i = 0; d->workers && i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];

		if (w->role && w->role->free)
			w->role->free(w);
		free(w->rs);
		if (w->relay)
			relay_free(w->relay);
		dest_check_free(w->dest);
		for (k = 0; k < 2; k++)
			if (w->listen_fd[k] >= 0)
				close(w->listen_fd[k]);
		if (w->timerfd >= 0)
			close(w->timerfd);
		if (w->wakefd >= 0)
			close(w->wakefd);
		if (w->epfd >= 0)
			close(w->epfd);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
	}
	free(d->workers);
	d->workers = NULL;
	d->n_workers = 0;
}
