// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/mptcp.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/evloop.h"
#include "relay/relay.h"
#include "lib/util.h"

#define SPLICE_CHUNK (1 << 16)
/*
 * In splice mode a direction first moves its bytes with recv()/send()
 * through the relay's scratch buffer of this size, and takes to splice()
 * once a read fills it: a short exchange (a request, an answer) costs less
 * that way, no pipe is taken, and bulk goes by splice as before. Measured
 * with bench/conns.sh's rate test (TCP<->TCP, a byte each way): 180-190 µs
 * of the daemon's CPU per connection with splice from the first byte,
 * 168-183 with recv()/send().
 */
#define SMALL_READ (16 << 10)
/*
 * Spare pipes kept for the next burst. A pair takes a pipe for a direction
 * only while bytes sit in it: an idle pair then holds its two sockets and
 * nothing else, so the open-file limit, not pipes, bounds the pairs (three
 * times as many here), and a busy pair swaps pipes with the pool, no
 * syscall.
 */
#define SPARE_PIPES 64

enum { CLIENT, SERVER };

struct pair;

/* What epoll hands back: which pair and which leg. */
struct leg_ref {
	struct ev_handler h;
	int side;
	struct pair *pair;
};

/*
 * Direction d moves the bytes read from fd[d] into fd[!d]. A leg's state,
 * for each d:
 * - eof[d]: fd[d] has nothing more to give (read gave 0, or the error
 *   that follows its last byte);
 * - shut[d]: direction d's FIN was passed on (shutdown(fd[!d], SHUT_WR));
 * - gone[d]: fd[d] is out of epoll: a hangup or an error said its events
 *   are over; what it still holds is read by its direction's pump;
 * - failed[d]: fd[d] was reset or failed: its bytes still go on, then the
 *   pair is reset (direction !d is given up: fd[d] takes nothing more).
 */
struct pair {
	int fd[2];
	int pipe_r[2], pipe_w[2]; /* pipe[d] carries bytes read from fd[d]; -1 when empty */
	size_t queued[2];	  /* bytes in pipe[d] (or buf[d] from off[d]) */
	unsigned char *buf[2];	  /* copy[d]: one chunk per direction */
	size_t off[2];
	bool copy[2];		  /* direction d uses read()/write() through buf[d], not splice() */
	bool stash[2];		  /* buf[d] holds what a small read could not send at once */
	bool bulk[2];		  /* a small read of direction d filled the scratch: splice from now on */
	bool eof[2], shut[2], gone[2], failed[2];
	bool mptcp[2];	  /* fd[d] is an MPTCP socket: asked once, not at every use */
	bool connected;
	bool dead;     /* closed; freed by relay_reap() once the event batch is done */
	bool draining; /* a leg failed and all its bytes went out: waiting for them to be taken */
	unsigned int drain_step;  /* ms until the next look while draining */
	long long drain_next;	  /* when that is, CLOCK_MONOTONIC ms */
	struct pair *dprev, *dnext; /* the relay's draining list */
	unsigned int armed[2]; /* the events each leg is registered for */
	time_t last;
	time_t started;
	__u64 moved[2]; /* bytes moved from fd[d] to fd[!d] */
	struct session *sess;	/* handed to on_end when the pair ends */
	struct relay *r;
	struct leg_ref ref[2];
	struct pair *prev, *next;
};

struct relay {
	struct pair *dead; /* closed pairs that events of this batch may still name */
	int epfd;
	unsigned int idle;
	unsigned int connect_timeout; /* seconds a server leg may take to connect; 0: the kernel's */
	enum relay_mode mode;
	struct pair *draining; /* pairs waiting for a failed leg's bytes to be taken */
	long long drain_due;   /* the earliest drain_next among them, or earlier; 0: none */
	struct pair *pairs;
	int spare_r[SPARE_PIPES], spare_w[SPARE_PIPES];
	unsigned int spares;
	struct relay_stats st;
	char mptcp_cc[16]; /* set on every MPTCP leg; empty: the kernel's */
	unsigned char scratch[SMALL_READ]; /* small reads pass through here (splice mode) */
	bool cc_warned;
	void (*on_end)(void *arg, struct session *sess);
	void *on_end_arg;
};

void relay_on_end(struct relay *r, void (*on_end)(void *arg, struct session *sess), void *arg)
{
	r->on_end = on_end;
	r->on_end_arg = arg;
}

void relay_end_session(struct relay *r, struct session *sess)
{
	if (sess && r->on_end)
		r->on_end(r->on_end_arg, sess);
}

unsigned long long relay_active(const struct relay *r)
{
	return r->st.pairs_opened - r->st.pairs_closed - r->st.pairs_aborted;
}

#define DRAIN_FIRST_MS 5
#define DRAIN_MAX_MS 1000
/* unanswered keepalives before a draining MPTCP leg's subflow gives up */
#define DRAIN_KEEPALIVE_PROBES 10

struct relay *relay_new(int epfd, enum relay_mode mode)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (r) {
		r->epfd = epfd;
		r->mode = mode;
	}
	return r;
}

void relay_set_timeouts(struct relay *r, unsigned int idle_timeout, unsigned int connect_timeout)
{
	r->idle = idle_timeout;
	r->connect_timeout = connect_timeout;
}

void relay_set_mptcp_cc(struct relay *r, const char *name)
{
	snprintf(r->mptcp_cc, sizeof(r->mptcp_cc), "%s", name ? name : "");
	r->cc_warned = false; /* a new name fails on its own */
}

/*
 * The relay's congestion control on an MPTCP leg: set on the MPTCP socket,
 * the kernel puts it on each subflow, those that join later included.
 */
static void set_leg_cc(struct relay *r, const struct pair *p, int d)
{
	int fd = p->fd[d];

	if (!r->mptcp_cc[0] || !p->mptcp[d] ||
	    !setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, r->mptcp_cc, strlen(r->mptcp_cc)) || r->cc_warned)
		return;
	/* probed at start and reload: a module unloaded since, say; once, the pair still relays */
	xmcp_err("warning: MPTCP legs keep the kernel's congestion control: %s: %s", r->mptcp_cc, strerror(errno));
	r->cc_warned = true;
}

const struct relay_stats *relay_stats(const struct relay *r)
{
	return &r->st;
}

/* Direction d moves through buf[d] with read()/write(). */
static int use_copy(struct pair *p, int d)
{
	if (!p->buf[d])
		p->buf[d] = malloc(SPLICE_CHUNK);
	p->copy[d] = p->buf[d] != NULL;
	return p->copy[d] ? 0 : -1;
}

/* An MPTCP socket that fell back to plain TCP (MPTCP_INFO then fails with EOPNOTSUPP). */
static bool fell_back(const struct pair *p, int d)
{
	struct mptcp_info mi;
	socklen_t len = sizeof(mi);

	return p->mptcp[d] && getsockopt(p->fd[d], SOL_MPTCP, MPTCP_INFO, &mi, &len) && errno == EOPNOTSUPP;
}

/*
 * Bytes written into fd that its peer has not acknowledged yet: SIOCOUTQ
 * for TCP; for MPTCP, which has no such ioctl on 6.1, MPTCP_INFO's
 * data-level write_seq - snd_una. 0 when it can't be told.
 */
static __u64 unacked(const struct pair *p, int d)
{
	struct mptcp_info mi;
	socklen_t len = sizeof(mi);
	int fd = p->fd[d], outq = 0;

	if (p->mptcp[d] && !getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &mi, &len) &&
	    len >= offsetof(struct mptcp_info, mptcpi_snd_una) + sizeof(mi.mptcpi_snd_una))
		return mi.mptcpi_write_seq - mi.mptcpi_snd_una;
	return ioctl(fd, SIOCOUTQ, &outq) || outq < 0 ? 0 : (__u64)outq;
}

/*
 * Have an MPTCP leg's subflows ask for an ACK once a second while they are
 * idle (TCP keepalive): the pair waits for its peer's data-level ack, and
 * that can lag for good. When the last data arrives while the peer's socket
 * is busy, the subflow's ACK carries the data-level ack of before, and
 * nothing more is sent on a stream with no more data (seen on 6.18: one
 * pair of 40 waited until its idle lifetime ran out, in 4 test runs of
 * 4). A keepalive's answer carries the data-level ack of now. A kernel
 * that refuses these options on MPTCP sockets keeps its defaults.
 */
static void ask_for_acks(const struct pair *p, int d)
{
	int fd = p->fd[d], one = 1, cnt = DRAIN_KEEPALIVE_PROBES;

	if (!p->mptcp[d])
		return;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* The events each leg waits for, from the pair's state. */
static unsigned int wanted(const struct pair *p, int d)
{
	unsigned int ev = 0;

	if (p->gone[d])
		return 0;
	if (d == SERVER && !p->connected)
		return EPOLLOUT;
	/* no reading a direction whose destination failed: its bytes have nowhere to go */
	if (!p->eof[d] && !p->queued[d] && !p->failed[!d])
		ev |= EPOLLIN | EPOLLRDHUP;
	if (p->queued[!d])
		ev |= EPOLLOUT;
	return ev;
}

static void rearm(struct relay *r, struct pair *p)
{
	int d;

	/* Only when it changes: an epoll_ctl per event cost ~17% of the syscall time. */
	for (d = 0; d < 2; d++) {
		unsigned int ev = wanted(p, d);

		if (!p->gone[d] && ev != p->armed[d] && !ev_mod(r->epfd, p->fd[d], ev, &p->ref[d].h))
			p->armed[d] = ev;
	}
}

static void unlink_pair(struct relay *r, struct pair *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		r->pairs = p->next;
	if (p->next)
		p->next->prev = p->prev;
}

/* A pipe for direction d, from the spares or new. */
static int pipe_get(struct relay *r, struct pair *p, int d)
{
	int pfd[2];

	if (p->pipe_r[d] >= 0)
		return 0;
	if (r->spares) {
		r->spares--;
		p->pipe_r[d] = r->spare_r[r->spares];
		p->pipe_w[d] = r->spare_w[r->spares];
		return 0;
	}
	if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC))
		return -1;
	p->pipe_r[d] = pfd[0];
	p->pipe_w[d] = pfd[1];
	return 0;
}

/*
 * Direction d's pipe back to the spares, or closed: when there are enough,
 * or when bytes are left in it (a pair closed before they went out).
 */
static void pipe_put(struct relay *r, struct pair *p, int d)
{
	if (p->pipe_r[d] < 0)
		return;
	if (!p->queued[d] && r->spares < SPARE_PIPES) {
		r->spare_r[r->spares] = p->pipe_r[d];
		r->spare_w[r->spares] = p->pipe_w[d];
		r->spares++;
	} else {
		close(p->pipe_r[d]);
		close(p->pipe_w[d]);
	}
	p->pipe_r[d] = p->pipe_w[d] = -1;
}

/*
 * Into or out of the draining list. While in it, the pair is looked at
 * again after 5 to 9 ms, then each wait about twice the last, up to one
 * to two seconds (each look on a multiple of its wait): a peer that takes
 * the bytes soon is seen soon, one that never does (a zero window) costs
 * a look a second or so until the idle lifetime ends the pair.
 */
static void set_draining(struct relay *r, struct pair *p, bool on)
{
	if (on) {
		p->drain_step = !p->draining ? DRAIN_FIRST_MS :
			p->drain_step * 2 > DRAIN_MAX_MS ? DRAIN_MAX_MS : p->drain_step * 2;
		/* on a multiple of the step: pairs waiting alike share one wakeup */
		p->drain_next = (xmcp_now_ms() + 2 * p->drain_step - 1) / p->drain_step * p->drain_step;
		if (!r->drain_due || p->drain_next < r->drain_due)
			r->drain_due = p->drain_next;
	}
	if (p->draining == on)
		return;
	p->draining = on;
	if (on) {
		p->dprev = NULL;
		p->dnext = r->draining;
		if (r->draining)
			r->draining->dprev = p;
		r->draining = p;
		return;
	}
	if (p->dprev)
		p->dprev->dnext = p->dnext;
	else
		r->draining = p->dnext;
	if (p->dnext)
		p->dnext->dprev = p->dprev;
	p->dprev = p->dnext = NULL;
}

/* abort: reset both legs (SO_LINGER 0: RST, MP_FASTCLOSE on MPTCP). */
static void close_pair(struct relay *r, struct pair *p, bool abort)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int d;

	for (d = 0; d < 2; d++)
		if (p->connected && fell_back(p, d)) {
			r->st.fallback++;
			xmcp_dbg("pair closed: its %s leg had fallen back to TCP", d ? "server" : "client");
		}
	set_draining(r, p, false);
	for (d = 0; d < 2; d++) {
		/* no EPOLL_CTL_DEL: close() takes the fd out of epoll, as nothing dups it */
		if (abort)
			setsockopt(p->fd[d], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(p->fd[d]);
		pipe_put(r, p, d);
		free(p->buf[d]);
	}
	unlink_pair(r, p);
	relay_end_session(r, p->sess);
	p->sess = NULL;
	if (abort)
		r->st.pairs_aborted++;
	else
		r->st.pairs_closed++;
	/*
	 * Not freed yet: the same epoll_wait() batch may still hold an event
	 * for the other leg, whose data.ptr points into this pair.
	 */
	p->dead = true;
	p->next = r->dead;
	r->dead = p;
}

void relay_reap(struct relay *r)
{
	struct pair *p;

	while ((p = r->dead)) {
		r->dead = p->next;
		free(p);
	}
}

static void leg_event(struct ev_handler *h, unsigned int events);

int relay_add(struct relay *r, int client_fd, int server_fd, struct session *sess)
{
	struct pair *p = calloc(1, sizeof(*p));
	int d;

	if (!p)
		goto fail;
	p->sess = sess;
	p->r = r;
	p->fd[CLIENT] = client_fd;
	p->fd[SERVER] = server_fd;
	p->pipe_r[0] = p->pipe_r[1] = p->pipe_w[0] = p->pipe_w[1] = -1;
	for (d = 0; d < 2; d++) {
		p->ref[d] = (struct leg_ref){ .h.fn = leg_event, .side = d, .pair = p };
		if (r->mode == RELAY_COPY && use_copy(p, d))
			goto fail_bufs;
	}
	for (d = 0; d < 2; d++) {
		p->mptcp[d] = xmcp_sock_protocol(p->fd[d]) == IPPROTO_MPTCP;
		set_leg_cc(r, p, d);
	}
	p->last = p->started = xmcp_now_s();
	p->next = r->pairs;
	if (r->pairs)
		r->pairs->prev = p;
	r->pairs = p;
	/* counted before the registrations: a pair closed on the way is an aborted one of these */
	r->st.pairs_opened++;
	for (d = 0; d < 2; d++) {
		p->armed[d] = wanted(p, d);
		if (ev_add(r->epfd, p->fd[d], p->armed[d], &p->ref[d].h)) {
			close_pair(r, p, true);
			return -1;
		}
	}
	return 0;
fail_bufs:
	for (d = 0; d < 2; d++)
		free(p->buf[d]);
	free(p);
fail:
	relay_end_session(r, sess);
	close(client_fd);
	close(server_fd);
	return -1;
}

/* n bytes of direction d went out to the other leg */
static void moved(struct relay *r, struct pair *p, int d, size_t n)
{
	r->st.bytes[d] += n;
	p->moved[d] += n;
	if (p->failed[d])
		r->st.delivered_after_reset += n;
}

/* Move what sits in pipe[d] (or buf[d]) to the other leg. -1 when that leg fails. */
static int flush(struct relay *r, struct pair *p, int d)
{
	while (p->queued[d]) {
		ssize_t n;

		if (p->copy[d])
			n = send(p->fd[!d], p->buf[d] + p->off[d], p->queued[d], MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			n = splice(p->pipe_r[d], NULL, p->fd[!d], NULL, p->queued[d],
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		p->queued[d] -= n;
		p->off[d] += n;
		moved(r, p, d, n);
	}
	pipe_put(r, p, d);
	if (p->stash[d]) {
		free(p->buf[d]);
		p->buf[d] = NULL;
		p->copy[d] = p->stash[d] = false;
	}
	return 0;
}

/*
 * A small read of leg d (see SMALL_READ), sent on at once; what the other
 * leg does not take waits in a buffer of its size, and flush() sends it
 * (or meets the other leg's error). 0 or -1, as fill().
 */
static int fill_small(struct relay *r, struct pair *p, int d)
{
	ssize_t n = recv(p->fd[d], r->scratch, SMALL_READ, MSG_DONTWAIT), sent;

	if (n <= 0) {
		if (n == 0)
			p->eof[d] = true;
		return n < 0 && errno != EAGAIN ? -1 : 0;
	}
	p->bulk[d] = n == SMALL_READ;
	/* not into a socket still connecting: a send() there would take its pending error
	 * (a refusal) from finish_connect(); the bytes wait, as any that could not go */
	sent = p->connected ? send(p->fd[!d], r->scratch, n, MSG_DONTWAIT | MSG_NOSIGNAL) : -1;
	if (sent < 0)
		sent = 0;
	moved(r, p, d, sent);
	if (sent == n)
		return 0;
	/* bytes read and not sent: keeping them is the only way not to lose them */
	p->buf[d] = malloc(n - sent);
	if (!p->buf[d]) {
		/* they are lost: no FIN may follow as if the stream were whole, the pair is reset */
		p->failed[CLIENT] = p->failed[SERVER] = true;
		return -1;
	}
	memcpy(p->buf[d], r->scratch + sent, n - sent);
	p->copy[d] = p->stash[d] = true;
	p->off[d] = 0;
	p->queued[d] = n - sent;
	return 0;
}

/*
 * Read what leg d has into its pipe: 0 (bytes, EOF or nothing yet), or -1
 * on the leg's error (a reset: what came before it has been read first).
 * Out of descriptors for a pipe, the direction takes a buffer instead.
 */
static int fill(struct relay *r, struct pair *p, int d)
{
	ssize_t n;

	/* both callers read only an empty direction: a stash or a pipe holds its bytes in order */
	if (p->queued[d])
		return 0;
	if (r->mode == RELAY_SPLICE && !p->copy[d] && !p->bulk[d])
		return fill_small(r, p, d);
	if (!p->copy[d] && pipe_get(r, p, d)) {
		if (use_copy(p, d))
			return -1;
		r->st.copy_fallback++;
		xmcp_dbg("no pipe for a direction (%s): it goes on through a buffer", strerror(errno));
	}
	if (p->copy[d])
		n = recv(p->fd[d], p->buf[d], SPLICE_CHUNK, MSG_DONTWAIT);
	else
		n = splice(p->fd[d], NULL, p->pipe_w[d], NULL, SPLICE_CHUNK, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	p->off[d] = 0;
	if (n > 0)
		p->queued[d] += n;
	else if (n == 0)
		p->eof[d] = true;
	else if (errno != EAGAIN)
		return -1;
	return 0;
}

/*
 * Leg d hung up (its events are over: out of epoll), failed or was reset
 * (failed). Its bytes are pulled by pump() from now on. True when that
 * ended the pair: a client that fails before the server leg is up.
 */
static bool leg_over(struct relay *r, struct pair *p, int d, bool failed)
{
	if (!p->gone[d]) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd[d], NULL);
		p->gone[d] = true;
		p->armed[d] = 0;
	}
	if (failed && !p->failed[d]) {
		xmcp_dbg("pair: the %s leg was reset or failed; its last bytes go on, then the pair is reset",
			 d ? "server" : "client");
		p->failed[d] = true;
	}
	if (failed && !p->connected) {
		close_pair(r, p, true);
		return true;
	}
	return false;
}

/*
 * Direction d: its pipe into fd[!d], then, for a leg out of epoll, more
 * from fd[d] until it has nothing left. Passes the FIN on when all of it
 * went. Stops when fd[!d] is full (its EPOLLOUT resumes), and gives up
 * when fd[!d] has failed.
 */
static void pump(struct relay *r, struct pair *p, int d)
{
	if (p->failed[!d])
		return;
	for (;;) {
		if (flush(r, p, d)) {
			leg_over(r, p, !d, true);
			return;
		}
		if (p->queued[d] || p->eof[d] || !p->gone[d])
			break;
		/* a leg out of epoll: read on directly; its error, or a read that found
		 * nothing (neither queued nor sent on at once: fill_small), is the end
		 * of its bytes */
		__u64 was = p->moved[d];

		if (fill(r, p, d) || (!p->queued[d] && p->moved[d] == was))
			p->eof[d] = true;
	}
	if (p->eof[d] && !p->queued[d] && !p->shut[d] && !p->failed[d]) {
		shutdown(p->fd[!d], SHUT_WR);
		p->shut[d] = true;
	}
}

/*
 * After any event: bytes moved both ways, then the pair's fate. A failed
 * leg's pair is reset once every byte that leg had went out and its peer
 * took them; a pair whose FINs both went through closes.
 */
static void step(struct relay *r, struct pair *p)
{
	int d;

	if (!p->connected) {
		rearm(r, p);
		return;
	}
	for (d = 0; d < 2; d++)
		if (!p->dead)
			pump(r, p, d);
	if (p->failed[CLIENT] || p->failed[SERVER]) {
		d = p->failed[CLIENT] ? CLIENT : SERVER;
		if (p->failed[!d] || (p->eof[d] && !p->queued[d] && !unacked(p, !d))) {
			close_pair(r, p, true);
			return;
		}
		if (p->eof[d] && !p->queued[d] && !p->draining)
			ask_for_acks(p, !d);
		set_draining(r, p, p->eof[d] && !p->queued[d]);
		rearm(r, p);
		return;
	}
	if (p->shut[CLIENT] && p->shut[SERVER]) {
		close_pair(r, p, false);
		return;
	}
	rearm(r, p);
}

static int finish_connect(struct pair *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd[SERVER], SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		xmcp_dbg("connect to the server failed: %s", strerror(err ?: errno));
		return -1;
	}
	p->connected = true;
	return 0;
}

static void leg_event(struct ev_handler *h, unsigned int events)
{
	struct leg_ref *ref = container_of(h, struct leg_ref, h);
	struct pair *p = ref->pair;
	struct relay *r = p->r;
	int d = ref->side;

	if (p->dead)
		return;
	p->last = xmcp_now_s();
	if (d == SERVER && !p->connected) {
		if (finish_connect(p)) {
			r->st.connect_failed++;
			close_pair(r, p, true);
			return;
		}
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		/* final: a reset or an error (EPOLLERR), or both directions shut (EPOLLHUP) */
		if (leg_over(r, p, d, events & EPOLLERR))
			return;
	} else if ((events & (EPOLLIN | EPOLLRDHUP)) && !p->eof[d] && !p->queued[d] && !p->failed[!d] &&
		   fill(r, p, d)) {
		if (leg_over(r, p, d, true))
			return;
	}
	step(r, p);
}

int relay_drain_ms(const struct relay *r)
{
	long long t;

	if (!r->draining || !r->drain_due)
		return -1;
	t = r->drain_due - xmcp_now_ms();
	return t < 0 ? 0 : t > 2 * DRAIN_MAX_MS ? 2 * DRAIN_MAX_MS : (int)t;
}

/* Nothing before the earliest look is due: a call costs nothing until then. */
void relay_drain(struct relay *r)
{
	long long t = xmcp_now_ms();
	struct pair *p = r->draining, *next;

	if (!p || t < r->drain_due)
		return;
	r->drain_due = 0;
	for (; p; p = next) {
		next = p->dnext;
		if (p->drain_next <= t)
			step(r, p); /* closes it, or sets its next look (set_draining) */
		else if (!r->drain_due || p->drain_next < r->drain_due)
			r->drain_due = p->drain_next;
	}
}

void relay_expire(struct relay *r)
{
	time_t t = xmcp_now_s();
	struct pair *p = r->pairs, *next;

	for (; p; p = next) {
		next = p->next;
		if (!p->connected && r->connect_timeout && t - p->started >= (time_t)r->connect_timeout) {
			/*
			 * The client was accepted before the server leg connected:
			 * left to the kernel's SYN retries, it would sit on a
			 * connection that seems open for two minutes when the
			 * server, or the HAG in front of it, is unreachable.
			 */
			xmcp_dbg("server leg not connected after %u s: resetting the client", r->connect_timeout);
			r->st.connect_failed++;
			close_pair(r, p, true);
		} else if (t - p->last > (time_t)r->idle) {
			r->st.idle_expired++;
			close_pair(r, p, true);
		}
	}
}

void relay_abort_all(struct relay *r)
{
	while (r->pairs)
		close_pair(r, r->pairs, true);
	relay_reap(r);
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	relay_abort_all(r);
	while (r->spares--) {
		close(r->spare_r[r->spares]);
		close(r->spare_w[r->spares]);
	}
	free(r);
}

static struct relay_pair_info pair_info(const struct pair *p, time_t now)
{
	struct relay_pair_info pi = { .client_fd = p->fd[CLIENT], .server_fd = p->fd[SERVER],
				      .age = now - p->started, .connected = p->connected };
	int d;

	for (d = 0; d < 2; d++)
		pi.bytes[d] = p->moved[d];
	return pi;
}

unsigned int relay_abort_if(struct relay *r, bool (*pred)(void *arg, const struct relay_pair_info *pi), void *arg)
{
	struct pair *p, *next;
	time_t t = xmcp_now_s();
	unsigned int n = 0;

	for (p = r->pairs; p; p = next) {
		struct relay_pair_info pi = pair_info(p, t);

		next = p->next; /* close_pair moves p to the dead list */
		if (pred(arg, &pi)) {
			close_pair(r, p, true);
			n++;
		}
	}
	return n;
}

void relay_foreach(struct relay *r, void (*fn)(void *arg, const struct relay_pair_info *pi), void *arg)
{
	const struct pair *p;
	time_t t = xmcp_now_s();

	for (p = r->pairs; p; p = p->next) {
		struct relay_pair_info pi = pair_info(p, t);

		fn(arg, &pi);
	}
}
