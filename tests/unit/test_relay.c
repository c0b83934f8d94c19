// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the relay's state machine (user/relay/relay.c), driven by an
 * event loop like the daemon's (user/daemon/core.c: epoll_wait, each handler,
 * relay_drain, relay_reap). The legs are AF_UNIX stream socketpairs where
 * the relay takes any stream socket, and loopback TCP connections of this
 * process where TCP itself is the point (a reset, a connect refused or
 * still under way); no namespace, no privilege.
 *
 * Checked: bytes both ways arrive intact (a checksum of every byte), in
 * splice and copy modes; a half-close is passed on and the other direction
 * goes on; a reset leg's last bytes are delivered, then the other leg is
 * reset; a leg closed under a writing peer ends the pair; a refused
 * connect, and a client reset while the server leg connects; the
 * connect and idle timeouts of relay_set_timeouts; back-pressure from a
 * reader that stops; the session handed back once per pair.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/evloop.h"
#include "relay/relay.h"
#include "tap.h"
#include "lib/util.h"

static int epfd;

/* How long a step may take before it counts as hung: a guard, not a measure (all of it takes ~1 s). */
#define GUARD_MS 10000

/*
 * Each pair's session is a counter of its on_end calls: the relay only
 * carries the pointer back (struct session is the admission's, opaque here).
 */
#define COUNTER(p) ((struct session *)(p))
static void on_end(void *arg, struct session *sess)
{
	(void)arg;
	(*(int *)sess)++;
}

static struct relay *new_relay(enum relay_mode mode)
{
	struct relay *r = relay_new(epfd, mode);

	relay_set_timeouts(r, 60, 10);
	relay_on_end(r, on_end, NULL);
	return r;
}

/* One turn of the daemon's loop: events (waiting up to ms), then drain, then reap. */
static void spin(struct relay *r, int ms)
{
	struct epoll_event ev[16];
	int drain = relay_drain_ms(r), n, i;

	if (drain >= 0 && drain < ms)
		ms = drain;
	n = epoll_wait(epfd, ev, 16, ms);
	for (i = 0; i < n; i++) {
		struct ev_handler *h = ev[i].data.ptr;

		h->fn(h, ev[i].events);
	}
	relay_drain(r);
	relay_reap(r);
}

static void unix_pair(int *app, int *leg)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	*app = sv[0];
	*leg = sv[1];
}

static int tcp_listener(int backlog, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (l < 0 || bind(l, (struct sockaddr *)sin, sizeof(*sin)) || listen(l, backlog) ||
	    getsockname(l, (struct sockaddr *)sin, &len))
		abort();
	return l;
}

/* A non-blocking connect to sin: 0 (connected or under way) or -errno. */
static int tcp_connect(const struct sockaddr_in *sin, int *fd)
{
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		abort();
	return connect(*fd, (const struct sockaddr *)sin, sizeof(*sin)) && errno != EINPROGRESS ? -errno : 0;
}

/*
 * A loopback TCP connection: *conn the end that connected, *acc the end
 * that was accepted (the daemon's client leg is an accepted one, its
 * server leg one it connected).
 */
static void tcp_pair(int *conn, int *acc)
{
	struct sockaddr_in sin;
	int l = tcp_listener(1, &sin);

	if (tcp_connect(&sin, conn))
		abort();
	*acc = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (*acc < 0)
		abort();
	close(l);
}

/* Close with a reset (SO_LINGER 0: RST). */
static void reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* The byte at offset i of a stream: a sequence that repeats nowhere in a transfer. */
static uint8_t byte_at(uint64_t seed, uint64_t i)
{
	uint64_t x = (i + seed) * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 29;
	return x >> 56;
}

static uint64_t fnv(uint64_t h, const uint8_t *b, size_t n)
{
	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* One direction of a transfer between two application ends. */
struct stream {
	int from, to;
	size_t total, sent, got;
	uint64_t seed, hsent, hgot;
	bool half_close; /* shut from's writing once all is sent */
	bool paused;	 /* nobody reads at `to` */
	size_t chunk;	 /* at most this much per send and step (0: 64 KiB, as much as fits) */
	bool shut, eof;
	int err; /* what reading `to` ended with: 0 (EOF) or an errno */
};

static void stream_init(struct stream *s, int from, int to, size_t total, uint64_t seed)
{
	*s = (struct stream){ .from = from, .to = to, .total = total, .seed = seed, .half_close = true,
			      .hsent = 0xcbf29ce484222325ULL, .hgot = 0xcbf29ce484222325ULL };
}

/* Send what fits, read what came; true when anything moved. */
static bool stream_step(struct stream *s)
{
	static uint8_t buf[1 << 16];
	bool moved = false;
	ssize_t n;

	while (s->sent < s->total) {
		size_t len = s->total - s->sent < sizeof(buf) ? s->total - s->sent : sizeof(buf);

		if (s->chunk && len > s->chunk)
			len = s->chunk;
		for (size_t i = 0; i < len; i++)
			buf[i] = byte_at(s->seed, s->sent + i);
		n = send(s->from, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			break;
		s->hsent = fnv(s->hsent, buf, n);
		s->sent += n;
		moved = true;
		if (s->chunk)
			break;
	}
	if (s->sent == s->total && s->half_close && !s->shut) {
		shutdown(s->from, SHUT_WR);
		s->shut = true;
	}
	while (!s->eof && !s->paused) {
		n = recv(s->to, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0) {
			if (!n || errno != EAGAIN) {
				s->err = n ? errno : 0;
				s->eof = true;
			}
			break;
		}
		s->hgot = fnv(s->hgot, buf, n);
		s->got += n;
		moved = true;
	}
	return moved;
}

static bool intact(const struct stream *s)
{
	return s->got == s->total && s->sent == s->total && s->hgot == s->hsent;
}

/* Run the loop until done(arg) or ms pass. */
static bool run_until(struct relay *r, bool (*done)(void *arg), void *arg, int ms)
{
	long long end = xmcp_now_ms() + ms;

	while (!done(arg)) {
		if (xmcp_now_ms() > end)
			return false;
		spin(r, 1);
	}
	return true;
}

struct updown {
	struct stream up, down;
	struct relay *r;
};

static bool transfer_done(void *arg)
{
	struct updown *t = arg;
	bool a = stream_step(&t->up), b = stream_step(&t->down);

	(void)a;
	(void)b;
	return t->up.eof && t->down.eof && !relay_active(t->r);
}

struct info {
	int n;
	struct relay_pair_info pi;
};

static void info_of(void *arg, const struct relay_pair_info *pi)
{
	struct info *in = arg;

	in->n++;
	in->pi = *pi;
}

/* 3 MiB up and 2 MiB down at once, each side half-closing when done. */
static void test_transfer(enum relay_mode mode, bool tcp)
{
	const char *what = tcp ? (mode == RELAY_SPLICE ? "TCP legs, splice" : "TCP legs, copy")
			       : (mode == RELAY_SPLICE ? "unix legs, splice" : "unix legs, copy");
	struct relay *r = new_relay(mode);
	struct updown t = { .r = r };
	int c_app, c_leg, s_app, s_leg, ended = 0;
	struct info in = { 0 };

	if (tcp) {
		tcp_pair(&c_app, &c_leg);
		tcp_pair(&s_leg, &s_app);
	} else {
		unix_pair(&c_app, &c_leg);
		unix_pair(&s_app, &s_leg);
	}
	ok(relay_add(r, c_leg, s_leg, COUNTER(&ended)) == 0, "%s: a pair", what);
	is_int(relay_active(r), 1, "%s: one pair open", what);
	stream_init(&t.up, c_app, s_app, 3 << 20, 1);
	stream_init(&t.down, s_app, c_app, 2 << 20, 2);
	/* a third of the way: the pair as `xmcp flows` sees it */
	for (long long end = xmcp_now_ms() + 1000; t.up.got < (1 << 20) && xmcp_now_ms() < end;) {
		transfer_done(&t);
		spin(r, 1);
	}
	relay_foreach(r, info_of, &in);
	ok(in.n == 1 && in.pi.connected && in.pi.client_fd == c_leg && in.pi.server_fd == s_leg &&
		   in.pi.bytes[0] >= t.up.got && in.pi.bytes[0] > 0,
	   "%s: relay_foreach sees the pair connected, its legs and bytes moving", what);
	ok(run_until(r, transfer_done, &t, GUARD_MS), "%s: both directions end", what);
	ok(intact(&t.up), "%s: 3 MiB client -> server arrive intact (%zu of %zu, checksum %s)", what, t.up.got,
	   t.up.total, t.up.hgot == t.up.hsent ? "equal" : "differs");
	ok(intact(&t.down), "%s: 2 MiB server -> client arrive intact (%zu of %zu, checksum %s)", what, t.down.got,
	   t.down.total, t.down.hgot == t.down.hsent ? "equal" : "differs");
	ok(!t.up.err && !t.down.err, "%s: each side sees a FIN, no reset", what);
	const struct relay_stats *st = relay_stats(r);

	ok(st->bytes[0] == t.up.total && st->bytes[1] == t.down.total, "%s: the relay counts the bytes each way", what);
	ok(st->pairs_closed == 1 && st->pairs_aborted == 0, "%s: both FINs passed: the pair closes, not aborted", what);
	is_int(ended, 1, "%s: its session is handed back once", what);
	close(c_app);
	close(s_app);
	relay_free(r);
}

static bool pair_gone(void *arg)
{
	return !relay_active(arg);
}

struct halfclose {
	int c_app, s_app;
	char buf[16];
	ssize_t n;
};

static bool server_sees_eof(void *arg)
{
	struct halfclose *h = arg;
	char c;
	ssize_t n = recv(h->s_app, &c, 1, MSG_DONTWAIT);

	if (n > 0 && h->n < (ssize_t)sizeof(h->buf))
		h->buf[h->n++] = c;
	return n == 0;
}

static bool client_gets(void *arg)
{
	struct halfclose *h = arg;
	ssize_t n = recv(h->c_app, h->buf + h->n, sizeof(h->buf) - h->n, MSG_DONTWAIT);

	if (n > 0)
		h->n += n;
	return n == 0;
}

/* The client's FIN reaches the server, and the server's answer still reaches the client. */
static void test_half_close(void)
{
	struct relay *r = new_relay(RELAY_SPLICE);
	struct halfclose h = { 0 };
	int c_leg, s_leg, ended = 0;

	unix_pair(&h.c_app, &c_leg);
	unix_pair(&h.s_app, &s_leg);
	relay_add(r, c_leg, s_leg, COUNTER(&ended));
	send(h.c_app, "ask", 3, MSG_NOSIGNAL);
	shutdown(h.c_app, SHUT_WR);
	ok(run_until(r, server_sees_eof, &h, GUARD_MS), "half-close: the client's FIN reaches the server");
	ok(h.n == 3 && !memcmp(h.buf, "ask", 3), "... after the client's bytes");
	ok(relay_active(r) == 1 && relay_stats(r)->pairs_closed == 0, "... and the pair stays open for the answer");
	send(h.s_app, "answer", 6, MSG_NOSIGNAL);
	spin(r, 10);
	spin(r, 10);
	ok(relay_active(r) == 1, "the server answers after the client's FIN: the pair is still open");
	shutdown(h.s_app, SHUT_WR);
	h.n = 0;
	ok(run_until(r, client_gets, &h, GUARD_MS), "the server's FIN reaches the client");
	ok(h.n == 6 && !memcmp(h.buf, "answer", 6), "... after the whole answer");
	run_until(r, pair_gone, r, GUARD_MS);
	ok(!relay_active(r) && relay_stats(r)->pairs_closed == 1 && ended == 1,
	   "both FINs passed: the pair closes, its session handed back");
	close(h.c_app);
	close(h.s_app);
	relay_free(r);
}

struct reset_watch {
	struct relay *r;
	struct stream s;
};

static bool reset_seen(void *arg)
{
	struct reset_watch *w = arg;

	stream_step(&w->s);
	return w->s.eof && !relay_active(w->r);
}

/*
 * One leg sends its last bytes and resets: they reach the other side,
 * then that side is reset too (as without a gateway).
 */
/* More than one small read of the relay (16 KiB): the leg that was reset is read on to its end. */
#define LAST_BYTES 40000

static void test_reset(bool server_resets)
{
	const char *who = server_resets ? "server" : "client";
	struct relay *r = new_relay(RELAY_SPLICE);
	int c_app, c_leg, s_app, s_leg, ended = 0;
	struct reset_watch w = { .r = r };
	struct info in = { 0 };

	tcp_pair(&c_app, &c_leg);
	tcp_pair(&s_leg, &s_app);
	relay_add(r, c_leg, s_leg, COUNTER(&ended));
	for (int i = 0; i < 100 && !in.pi.connected; i++) {
		spin(r, 1);
		relay_foreach(r, info_of, &in);
	}
	ok(in.pi.connected, "%s reset: the pair is up", who);
	/* the last bytes, then the reset, before the relay sees either */
	if (server_resets)
		stream_init(&w.s, s_app, c_app, LAST_BYTES, 7);
	else
		stream_init(&w.s, c_app, s_app, LAST_BYTES, 7);
	w.s.half_close = false;
	stream_step(&w.s);
	reset_close(w.s.from);
	ok(run_until(r, reset_seen, &w, GUARD_MS), "%s reset: the other side sees the end, the pair is gone", who);
	ok(intact(&w.s), "%s reset: its last %d bytes reach the other side intact", who, LAST_BYTES);
	is_int(w.s.err, ECONNRESET, "%s reset: then the other side is reset too", who);
	const struct relay_stats *st = relay_stats(r);

	ok(st->pairs_aborted == 1 && st->pairs_closed == 0 && ended == 1, "%s reset: the pair is aborted, its session handed back",
	   who);
	is_int(st->delivered_after_reset, LAST_BYTES, "%s reset: the bytes passed on after the reset are counted", who);
	close(w.s.to);
	relay_free(r);
}

struct closed_watch {
	int c_app;
	struct relay *r;
	bool eof;
};

static bool client_eof(void *arg)
{
	struct closed_watch *w = arg;
	char c;

	if (!w->eof)
		w->eof = recv(w->c_app, &c, 1, MSG_DONTWAIT) == 0;
	return w->eof;
}

/* A server that closes: the client sees the FIN; writing on into the closed leg ends the pair. */
static void test_closed_leg(void)
{
	struct relay *r = new_relay(RELAY_COPY);
	int c_leg, s_app, s_leg, ended = 0;
	struct closed_watch w = { .r = r };

	unix_pair(&w.c_app, &c_leg);
	unix_pair(&s_app, &s_leg);
	relay_add(r, c_leg, s_leg, COUNTER(&ended));
	spin(r, 1);
	close(s_app);
	ok(run_until(r, client_eof, &w, GUARD_MS), "closed server leg: the client sees its FIN");
	is_int(relay_active(r), 1, "... the client may still write: the pair stays");
	send(w.c_app, "more", 4, MSG_NOSIGNAL);
	ok(run_until(r, pair_gone, r, GUARD_MS), "the client writes into the closed leg: the pair ends");
	ok(relay_stats(r)->pairs_aborted == 1 && ended == 1, "... aborted, its session handed back");
	ok(send(w.c_app, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "... and the client's leg is closed");
	close(w.c_app);
	relay_free(r);
}

/* A connect the server refuses: counted, the client reset. */
static void test_connect_refused(void)
{
	struct relay *r = new_relay(RELAY_SPLICE);
	int c_app, c_leg, s_leg, ended = 0;
	struct sockaddr_in sin;
	struct reset_watch w = { .r = r };
	int l = tcp_listener(1, &sin);

	close(l); /* nothing listens on that port now */
	tcp_pair(&c_app, &c_leg);
	ok(tcp_connect(&sin, &s_leg) == 0, "refused connect: the server leg's connect is under way");
	/* the client speaks first: its bytes wait until the server leg is up (a send on
	 * the connecting socket would take the refusal's pending error) */
	send(c_app, "request", 7, MSG_NOSIGNAL);
	relay_add(r, c_leg, s_leg, COUNTER(&ended));
	stream_init(&w.s, c_app, c_app, 0, 0); /* c_app reads */
	w.s.half_close = false;
	ok(run_until(r, reset_seen, &w, GUARD_MS), "refused connect: the pair ends");
	is_int(w.s.err, ECONNRESET, "... the client is reset");
	ok(relay_stats(r)->connect_failed == 1 && relay_stats(r)->pairs_aborted == 1 && ended == 1,
	   "... counted as a failed connect, aborted, its session handed back");
	close(c_app);
	relay_free(r);
}

/*
 * A server leg whose connect stays under way: its listener's accept queue
 * is full (backlog 0 holds one connection), so its SYNs are dropped.
 */
struct pending {
	int l, filler, fd;
};

static void pending_connect(struct pending *p)
{
	struct sockaddr_in sin;

	p->l = tcp_listener(0, &sin);
	p->filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(p->filler, (struct sockaddr *)&sin, sizeof(sin)) || tcp_connect(&sin, &p->fd))
		abort();
}

static void pending_close(struct pending *p)
{
	close(p->filler);
	close(p->l);
}

/* A client that resets while the server leg still connects: the pair ends at once. */
static void test_client_reset_while_connecting(void)
{
	struct relay *r = new_relay(RELAY_SPLICE);
	int c_app, c_leg, ended = 0;
	struct pending pc;
	struct info in = { 0 };

	pending_connect(&pc);
	tcp_pair(&c_app, &c_leg);
	relay_add(r, c_leg, pc.fd, COUNTER(&ended));
	spin(r, 20);
	relay_foreach(r, info_of, &in);
	ok(in.n == 1 && !in.pi.connected, "a server leg still connecting (its listener's queue is full)");
	reset_close(c_app);
	ok(run_until(r, pair_gone, r, GUARD_MS), "the client resets meanwhile: the pair ends at once");
	ok(relay_stats(r)->pairs_aborted == 1 && relay_stats(r)->connect_failed == 0 && ended == 1,
	   "... aborted (not a failed connect), its session handed back");
	pending_close(&pc);
	relay_free(r);
}

/* until fd is writable (its connect ended, or never: the guard), as epoll would say */
static void writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	poll(&p, 1, GUARD_MS);
}

/*
 * xmcp_connect_result, which the HCPE's probes and SYN races ask when a
 * socket of theirs is writable: connected, refused, and still connecting
 * (an event meant for an earlier socket of the same slot: not an answer).
 */
static void test_connect_result(void)
{
	struct sockaddr_in sin;
	struct pending pc;
	int l = tcp_listener(1, &sin), fd, acc;

	ok(tcp_connect(&sin, &fd) == 0, "connect result: a connect under way");
	writable(fd);
	is_int(xmcp_connect_result(fd), 0, "... connected: 0");
	acc = accept(l, NULL, NULL);
	close(acc);
	close(fd);
	close(l); /* nothing listens there now */
	ok(tcp_connect(&sin, &fd) == 0, "... a connect to a port nothing listens on");
	writable(fd);
	is_int(xmcp_connect_result(fd), -ECONNREFUSED, "... refused: -ECONNREFUSED");
	close(fd);
	pending_connect(&pc);
	is_int(xmcp_connect_result(pc.fd), -EINPROGRESS, "... its SYN dropped (a full queue): still connecting, -EINPROGRESS");
	close(pc.fd);
	pending_close(&pc);
}

/* relay_set_timeouts: a connect under way too long, a pair idle too long. */
static void test_timeouts(void)
{
	struct relay *r = new_relay(RELAY_SPLICE);
	int c1_app, c1_leg, c2_app, c2_leg, s2_app, s2_leg, ended1 = 0, ended2 = 0;
	struct pending pc;
	time_t t0;
	char c;

	pending_connect(&pc);
	tcp_pair(&c1_app, &c1_leg);
	unix_pair(&c2_app, &c2_leg);
	unix_pair(&s2_app, &s2_leg);
	t0 = xmcp_now_s();
	relay_add(r, c1_leg, pc.fd, COUNTER(&ended1));	 /* connecting */
	relay_add(r, c2_leg, s2_leg, COUNTER(&ended2)); /* connected, idle */
	/* a second later: no connect timeout (0: the kernel's SYN retries), idle lifetime 60 s */
	relay_set_timeouts(r, 60, 0);
	while (xmcp_now_s() == t0)
		spin(r, 20);
	relay_expire(r);
	is_int(relay_active(r), 2, "a second on: no pair expires with connect_timeout 0 and idle_timeout 60");
	/* the same pairs, as a reload that shortens both would leave them */
	relay_set_timeouts(r, 0, 1);
	relay_expire(r);
	spin(r, 1);
	is_int(relay_active(r), 0, "connect_timeout 1 and idle_timeout 0: both expire at the next look");
	const struct relay_stats *st = relay_stats(r);

	is_int(st->connect_failed, 1, "... the connecting one as a failed connect");
	is_int(st->idle_expired, 1, "... the idle one as idle");
	ok(st->pairs_aborted == 2 && ended1 == 1 && ended2 == 1, "... both aborted, their sessions handed back");
	poll(&(struct pollfd){ .fd = c1_app, .events = POLLIN }, 1, 1000);
	ok(recv(c1_app, &c, 1, 0) < 0 && errno == ECONNRESET, "... the connecting pair's client is reset");
	ok(recv(c2_app, &c, 1, 0) == 0 && recv(s2_app, &c, 1, 0) == 0, "... the idle pair's legs are closed");
	close(c1_app);
	close(c2_app);
	close(s2_app);
	pending_close(&pc);
	relay_free(r);
}

/*
 * A server that stops reading: the relay stops reading the client, who is
 * held back; when the server reads again everything arrives, in order.
 * small: the client writes 1000 bytes at a time over TCP, so each of the
 * relay's reads is a small one (recv()/send(), SMALL_READ in relay.c) and
 * what the server's socket could not take waits in the relay; else as
 * much as fits at once (bulk: splice) over unix sockets.
 */
static void test_held_back(bool small)
{
	const char *what = small ? "small writes" : "bulk writes";
	struct relay *r = new_relay(RELAY_SPLICE);
	int c_leg, s_leg, ended = 0;
	struct updown t = { .r = r };
	/* more than the socket buffers on the way can hold (loopback TCP autotunes to MBs) */
	size_t total = small ? 32 << 20 : 16 << 20;
	unsigned long long before;

	if (small) {
		tcp_pair(&t.up.from, &c_leg);
		tcp_pair(&s_leg, &t.up.to);
	} else {
		unix_pair(&t.up.from, &c_leg);
		unix_pair(&t.up.to, &s_leg);
	}
	relay_add(r, c_leg, s_leg, COUNTER(&ended));
	stream_init(&t.up, t.up.from, t.up.to, total, small ? 5 : 3);
	stream_init(&t.down, t.up.to, t.up.from, 0, small ? 6 : 4);
	t.up.chunk = small ? 1000 : 0;
	/* the client writes as much as it can; nobody reads at the server */
	t.up.paused = true;
	for (int i = 0; i < (small ? 40000 : 50) && t.up.sent < t.up.total; i++) {
		stream_step(&t.up);
		spin(r, small ? 0 : 1);
	}
	before = relay_stats(r)->bytes[0];
	for (int i = 0; i < 20; i++)
		spin(r, 1);
	ok(t.up.sent < t.up.total && relay_stats(r)->bytes[0] == before,
	   "%s into a server that reads nothing: the relay stops, the client is held back (%zu KiB of %zu MiB sent)",
	   what, t.up.sent >> 10, total >> 20);
	if (!small)
		ok(t.up.sent - before <= 4 << 20,
		   "... with no more than socket buffers and a pipe between it and the relay (%llu KiB)",
		   (t.up.sent - before) >> 10);
	/* the server reads again: everything arrives */
	t.up.paused = false;
	t.up.chunk = 0;
	ok(run_until(r, transfer_done, &t, GUARD_MS), "%s: the server reads again, the transfer ends", what);
	ok(intact(&t.up), "... all %zu MiB intact and in order (%zu bytes)", total >> 20, t.up.got);
	close(t.up.from);
	close(t.up.to);
	relay_free(r);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return 2;
	test_transfer(RELAY_SPLICE, false);
	test_transfer(RELAY_COPY, false);
	test_transfer(RELAY_SPLICE, true);
	test_transfer(RELAY_COPY, true);
	test_half_close();
	test_reset(true);
	test_reset(false);
	test_closed_leg();
	test_connect_refused();
	test_client_reset_while_connecting();
	test_held_back(false);
	test_held_back(true);
	test_timeouts();
	test_connect_result();
	close(epfd);
	return done_testing();
}
