// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mptcp.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "mp_convert.h"
#include "relay.h"
#include "util.h"
#include "xmcp_maps.h"

#define SPLICE_CHUNK (1 << 16)
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

struct pair {
	int fd[2];
	int pipe_r[2], pipe_w[2]; /* pipe[d] carries bytes read from fd[d]; -1 when empty */
	size_t queued[2];	  /* bytes in pipe[d] (or buf[d] from off[d]) */
	unsigned char *buf[2];	  /* copy[d]: one chunk per direction */
	size_t off[2];
	bool eof[2];		  /* fd[d] has nothing more to say */
	bool shut[2];		  /* the other leg was told (shutdown SHUT_WR) */
	bool connected;
	bool dead;	   /* closed; freed by relay_reap() once the event batch is done */
	bool copy[2];	   /* direction d uses read()/write() through buf[d], not splice() */
	bool in_kernel[2]; /* bytes from fd[d] go to fd[!d] through the sockhash */
	bool draining;	   /* an in-kernel direction ended: pass the FIN on once delivered */
	__u64 cookie[2];   /* SO_COOKIE, the keys of the splice maps */
	__u64 seen;	   /* bytes received on both legs at the last idle check */
	__u64 written0[2]; /* bytes written into fd[d] before it went into the sockhash */
	__u64 user_read[2]; /* bytes userspace read from fd[d] (and so wrote to fd[!d]) */
	bool splice_wanted; /* TCP<->TCP: into the sockhash once userspace holds no byte */
	bool handed_over[2]; /* direction d left the kernel and its backlog has been sent */
	unsigned int armed[2]; /* the events each leg is registered for */
	time_t last;
	time_t started;
	__u64 moved[2]; /* bytes userspace moved from fd[d] to fd[!d] */
	void *owner; /* handed to on_end when the pair ends */
	struct relay *r;
	struct leg_ref ref[2];
	struct pair *prev, *next;
};

struct relay {
	struct pair *dead; /* closed pairs that events of this batch may still name */
	int epfd;
	unsigned int idle;
	enum relay_mode mode;
	int splice_fd, peers_fd; /* the sockhash and its peer map, or -1 */
	unsigned int draining;	 /* pairs waiting to pass a FIN on */
	struct pair *pairs;
	int spare_r[SPARE_PIPES], spare_w[SPARE_PIPES];
	unsigned int spares;
	struct relay_stats st;
	void (*on_end)(void *arg, void *owner);
	void *on_end_arg;
};

void relay_on_end(struct relay *r, void (*on_end)(void *arg, void *owner), void *arg)
{
	r->on_end = on_end;
	r->on_end_arg = arg;
}

void relay_end_owner(struct relay *r, void *owner)
{
	if (owner && r->on_end)
		r->on_end(r->on_end_arg, owner);
}

unsigned long long relay_active(const struct relay *r)
{
	return r->st.pairs_opened - r->st.pairs_closed - r->st.pairs_aborted;
}

static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct relay *relay_new(int epfd, unsigned int idle_timeout, enum relay_mode mode)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (r) {
		r->epfd = epfd;
		r->idle = idle_timeout;
		r->mode = mode;
		r->splice_fd = r->peers_fd = -1;
	}
	return r;
}

void relay_set_idle(struct relay *r, unsigned int idle_timeout)
{
	r->idle = idle_timeout;
}

void relay_use_sockmap(struct relay *r, int sockhash_fd, int peers_fd)
{
	r->splice_fd = sockhash_fd;
	r->peers_fd = peers_fd;
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

static int tcp_info_of(int fd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len);
}

/* Bytes the leg has received from its own peer; eof: its FIN is in, and counted by TCP_INFO. */
static __u64 received(int fd, bool eof)
{
	struct tcp_info ti;

	return tcp_info_of(fd, &ti) ? 0 : ti.tcpi_bytes_received - eof;
}

/* Bytes written into the leg so far (acknowledged, plus still queued), SYN included. */
static __u64 written(int fd)
{
	struct tcp_info ti;
	int outq = 0;

	if (tcp_info_of(fd, &ti) || ioctl(fd, SIOCOUTQ, &outq))
		return 0;
	return ti.tcpi_bytes_acked + outq;
}

/* Bytes the verdict has sent on from fd[d] to fd[!d]. */
static __u64 kernel_bytes(const struct relay *r, const struct pair *p, int d)
{
	struct xmcp_splice_peer v;

	return bpf_map_lookup_elem(r->peers_fd, &p->cookie[d], &v) ? 0 : v.redirected;
}

/*
 * A direction that left the kernel (its peer's backlog was full) writes on
 * only once that backlog is in the peer's send queue: else userspace's
 * bytes would overtake it.
 */
static bool backlog_sent(const struct relay *r, const struct pair *p, int d)
{
	return written(p->fd[!d]) - p->written0[!d] >= kernel_bytes(r, p, d);
}

/*
 * An in-kernel direction ended: has every byte fd[d] received been written
 * into fd[!d]? Until then some may still wait in the peer's psock backlog,
 * and a FIN passed on now would cut them off.
 */
static bool kernel_delivered(const struct pair *p, int d)
{
	return written(p->fd[!d]) - p->written0[!d] >= received(p->fd[d], p->eof[d]) - p->user_read[d];
}

/*
 * Wake-up on an in-kernel leg: either its end (read() gives 0) or bytes the
 * verdict passed to the socket itself (XMCP_SPLICE_PASSED: the peer was not
 * in the sockhash yet, or its backlog was full). The flag is sticky, so
 * userspace takes the direction over from here; flush() writes only once
 * what was redirected before has reached the peer (backlog_sent), which
 * keeps the order. -1 on a hard error.
 */
/* Did the verdict stop fd[d]'s direction at the backlog bound (XMCP_SPLICE_OVERFLOW)? */
static bool overflowed(const struct relay *r, const struct pair *p, int d)
{
	struct xmcp_splice_peer v;

	return !bpf_map_lookup_elem(r->peers_fd, &p->cookie[d], &v) && (v.flags & XMCP_SPLICE_OVERFLOW);
}

static int kernel_read(struct relay *r, struct pair *p, int d)
{
	ssize_t n;

	if (use_copy(p, d))
		return -1;
	if (overflowed(r, p, d)) {
		xmcp_dbg("leg %d: its peer's backlog passed the bound; resetting the pair", d);
		r->st.overflow++;
		return -1;
	}
	n = read(p->fd[d], p->buf[d], SPLICE_CHUNK);
	p->off[d] = 0;
	if (n > 0) {
		xmcp_dbg("leg %d: the verdict passed bytes back (peer not in yet, or its backlog full); "
			 "relaying this direction in userspace", d);
		r->st.unspliced++;
		p->in_kernel[d] = false;
		p->queued[d] = n;
		p->user_read[d] += n;
	} else if (n == 0) {
		p->eof[d] = true;
	} else if (errno != EAGAIN) {
		return -1;
	}
	return 0;
}

static bool is_tcp(int fd)
{
	return xmcp_sock_protocol(fd) == IPPROTO_TCP;
}

/* An MPTCP socket that fell back to plain TCP (MPTCP_INFO then fails with EOPNOTSUPP). */
static bool fell_back(int fd)
{
	struct mptcp_info mi;
	socklen_t len = sizeof(mi);

	return xmcp_sock_protocol(fd) == IPPROTO_MPTCP &&
	       getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &mi, &len) && errno == EOPNOTSUPP;
}

/*
 * A TCP<->TCP pair whose server leg just connected, with no byte relayed
 * yet: hand both directions to the sk_skb verdict. Peer entries go in
 * first, then the sockets; a socket whose bytes arrive before its peer is in
 * keeps them (XMCP_SPLICE_PASSED) and userspace relays that direction.
 * Returns 0 when at least one direction is in the kernel.
 */
static int splice_in_kernel(struct relay *r, struct pair *p)
{
	socklen_t len = sizeof(__u64);
	struct xmcp_splice_peer v;
	int d, one = 1;

	for (d = 0; d < 2; d++)
		if (getsockopt(p->fd[d], SOL_SOCKET, SO_COOKIE, &p->cookie[d], &len))
			return -1;
	for (d = 0; d < 2; d++) {
		v = (struct xmcp_splice_peer){ .peer = p->cookie[!d] };
		if (bpf_map_update_elem(r->peers_fd, &p->cookie[d], &v, BPF_ANY))
			return -1;
		p->written0[d] = written(p->fd[d]);
	}
	/* From here a socket may be in the sockhash: userspace only read()s it (relay_add set copy). */
	for (d = 0; d < 2; d++) {
		__u64 fd = p->fd[d];

		if (bpf_map_update_elem(r->splice_fd, &p->cookie[d], &fd, BPF_NOEXIST))
			return -1;
	}
	for (d = 0; d < 2; d++) {
		p->in_kernel[d] = !bpf_map_lookup_elem(r->peers_fd, &p->cookie[d], &v) &&
				  !(v.flags & XMCP_SPLICE_PASSED);
		/* Bytes queued before the socket went in wait for a wake-up: give one. */
		if (p->in_kernel[d])
			setsockopt(p->fd[d], SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
		else {
			xmcp_dbg("leg %d: bytes came before its peer was spliced; relaying them in userspace", d);
			r->st.unspliced++;
		}
	}
	r->st.spliced++;
	return 0;
}

/* The events each leg waits for, from the pair's state. */
static unsigned int wanted(const struct pair *p, int d)
{
	unsigned int ev = 0;

	if (d == SERVER && !p->connected)
		return EPOLLOUT;
	if (!p->eof[d] && !p->queued[d])
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

		if (ev != p->armed[d] && !ev_mod(r->epfd, p->fd[d], ev, &p->ref[d].h))
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

/* abort: reset both legs (SO_LINGER 0: RST, MP_FASTCLOSE on MPTCP). */
static void close_pair(struct relay *r, struct pair *p, bool abort)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int d;

	for (d = 0; d < 2; d++) {
		if (p->connected && fell_back(p->fd[d])) {
			r->st.fallback++;
			xmcp_dbg("pair closed: its %s leg had fallen back to TCP", d ? "server" : "client");
		}
		if (p->cookie[d]) {
			r->st.bytes[d] += kernel_bytes(r, p, d);
			bpf_map_delete_elem(r->peers_fd, &p->cookie[d]);
		}
	}
	if (p->draining)
		r->draining--;
	for (d = 0; d < 2; d++) {
		/* no EPOLL_CTL_DEL: close() takes the fd out of epoll, as nothing dups it */
		if (abort)
			setsockopt(p->fd[d], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(p->fd[d]);
		pipe_put(r, p, d);
		free(p->buf[d]);
	}
	unlink_pair(r, p);
	relay_end_owner(r, p->owner);
	p->owner = NULL;
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

int relay_add(struct relay *r, int client_fd, int server_fd, void *owner)
{
	struct pair *p = calloc(1, sizeof(*p));
	int d;

	if (!p)
		goto fail;
	p->owner = owner;
	p->r = r;
	p->fd[CLIENT] = client_fd;
	p->fd[SERVER] = server_fd;
	p->pipe_r[0] = p->pipe_r[1] = p->pipe_w[0] = p->pipe_w[1] = -1;
	for (d = 0; d < 2; d++) {
		p->ref[d] = (struct leg_ref){ .h.fn = leg_event, .side = d, .pair = p };
		if (r->mode == RELAY_COPY && use_copy(p, d))
			goto fail_bufs;
	}
	/* Once in a sockhash, a socket is read() by userspace, never spliced from. */
	if (r->splice_fd >= 0 && is_tcp(client_fd) && is_tcp(server_fd)) {
		if (use_copy(p, CLIENT) || use_copy(p, SERVER))
			goto fail_bufs;
		p->splice_wanted = true;
	}
	p->last = p->started = now();
	p->next = r->pairs;
	if (r->pairs)
		r->pairs->prev = p;
	r->pairs = p;
	for (d = 0; d < 2; d++) {
		p->armed[d] = wanted(p, d);
		if (ev_add(r->epfd, p->fd[d], p->armed[d], &p->ref[d].h)) {
			close_pair(r, p, true);
			return -1;
		}
	}
	r->st.pairs_opened++;
	return 0;
fail_bufs:
	for (d = 0; d < 2; d++)
		free(p->buf[d]);
	free(p);
fail:
	relay_end_owner(r, owner);
	close(client_fd);
	close(server_fd);
	return -1;
}

static void set_draining(struct relay *r, struct pair *p)
{
	if (!p->draining)
		r->draining++;
	p->draining = true;
}

/* Move what sits in pipe[d] to the other leg. -1 on a hard error. */
static int flush(struct relay *r, struct pair *p, int d)
{
	if (p->queued[d] && p->cookie[d] && !p->in_kernel[d] && !p->handed_over[d]) {
		if (!backlog_sent(r, p, d)) {
			set_draining(r, p);
			return 0;
		}
		p->handed_over[d] = true;
	}
	while (p->queued[d]) {
		ssize_t n;

		if (p->copy[d])
			n = write(p->fd[!d], p->buf[d] + p->off[d], p->queued[d]);
		else
			n = splice(p->pipe_r[d], NULL, p->fd[!d], NULL, p->queued[d],
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		p->queued[d] -= n;
		p->off[d] += n;
		r->st.bytes[d] += n;
		p->moved[d] += n;
	}
	pipe_put(r, p, d);
	/* All of it delivered and nothing more will come: pass the FIN on. */
	if (p->eof[d] && !p->shut[d]) {
		if (p->in_kernel[d] && !kernel_delivered(p, d)) {
			set_draining(r, p);
			return 0;
		}
		shutdown(p->fd[!d], SHUT_WR);
		p->shut[d] = true;
	}
	return 0;
}

/* Read what leg d has into its pipe. -1 on a hard error (reset, ...). */
static int fill(struct relay *r, struct pair *p, int d)
{
	ssize_t n;

	/* kernel_read() did this wake-up's read, whatever it found */
	if (p->in_kernel[d])
		return kernel_read(r, p, d);
	if (p->copy[d])
		n = read(p->fd[d], p->buf[d], SPLICE_CHUNK);
	else if (pipe_get(r, p, d))
		return -1;
	else
		n = splice(p->fd[d], NULL, p->pipe_w[d], NULL, SPLICE_CHUNK,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	p->off[d] = 0;
	if (n > 0) {
		p->queued[d] += n;
		p->user_read[d] += n;
	} else if (n == 0)
		p->eof[d] = true;
	else if (errno != EAGAIN)
		return -1;
	return 0;
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

/* A TCP<->TCP pair goes into the sockhash once connected, with nothing held in userspace. */
static void maybe_splice(struct relay *r, struct pair *p)
{
	if (!p->splice_wanted || !p->connected || p->queued[0] || p->queued[1] || p->eof[0] ||
	    p->eof[1])
		return;
	p->splice_wanted = false;
	if (splice_in_kernel(r, p))
		xmcp_dbg("pair not spliced in the kernel: %s", strerror(errno));
}

static void leg_event(struct ev_handler *h, unsigned int events)
{
	struct leg_ref *ref = container_of(h, struct leg_ref, h);
	struct pair *p = ref->pair;
	struct relay *r = p->r;
	int d = ref->side;

	if (p->dead)
		return;
	p->last = now();
	if ((events & EPOLLERR) && p->connected) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(p->fd[d], SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			xmcp_dbg("leg %d failed: %s", d, strerror(err));
			close_pair(r, p, true);
			return;
		}
	}
	if (d == SERVER && !p->connected) {
		if (finish_connect(p)) {
			r->st.connect_failed++;
			close_pair(r, p, true);
			return;
		}
	} else if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !p->eof[d] &&
		   !p->queued[d]) {
		if (fill(r, p, d)) {
			close_pair(r, p, true);
			return;
		}
	}
	if (p->connected && (flush(r, p, CLIENT) || flush(r, p, SERVER))) {
		close_pair(r, p, true);
		return;
	}
	if (p->shut[CLIENT] && p->shut[SERVER]) {
		close_pair(r, p, false);
		return;
	}
	maybe_splice(r, p);
	rearm(r, p);
}

/* In-kernel pairs make no events while bytes flow: their counters tell. */
static void note_kernel_traffic(struct pair *p, time_t t)
{
	__u64 seen;

	if (!p->in_kernel[0] && !p->in_kernel[1])
		return;
	seen = received(p->fd[0], false) + received(p->fd[1], false);
	if (seen != p->seen)
		p->last = t;
	p->seen = seen;
}

bool relay_draining(const struct relay *r)
{
	return r->draining > 0;
}

void relay_drain(struct relay *r)
{
	struct pair *p = r->pairs, *next;

	for (; p && r->draining; p = next) {
		next = p->next;
		if (!p->draining)
			continue;
		p->draining = false;
		r->draining--;
		if (flush(r, p, CLIENT) || flush(r, p, SERVER))
			close_pair(r, p, true);
		else if (p->shut[CLIENT] && p->shut[SERVER])
			close_pair(r, p, false);
	}
}

void relay_expire(struct relay *r)
{
	time_t t = now();
	struct pair *p = r->pairs, *next;

	for (; p; p = next) {
		next = p->next;
		note_kernel_traffic(p, t);
		if (t - p->last > (time_t)r->idle) {
			r->st.idle_expired++;
			close_pair(r, p, true);
		}
	}
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	while (r->pairs)
		close_pair(r, r->pairs, true);
	relay_reap(r);
	while (r->spares--) {
		close(r->spare_r[r->spares]);
		close(r->spare_w[r->spares]);
	}
	free(r);
}

void relay_foreach(struct relay *r, void (*fn)(void *arg, const struct relay_pair_info *pi), void *arg)
{
	const struct pair *p;
	time_t t = now();
	int d;

	for (p = r->pairs; p; p = p->next) {
		struct relay_pair_info pi = { .client_fd = p->fd[CLIENT], .server_fd = p->fd[SERVER],
					      .age = t - p->started, .connected = p->connected };

		for (d = 0; d < 2; d++) {
			pi.bytes[d] = p->moved[d] + (p->cookie[d] ? kernel_bytes(r, p, d) : 0);
			pi.in_kernel |= p->in_kernel[d];
		}
		fn(arg, &pi);
	}
}
