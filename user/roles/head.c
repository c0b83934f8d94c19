// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/evloop.h"
#include "roles/head.h"
#include "lib/util.h"

/*
 * How often a client not yet confirmed is looked at again: from 2 ms,
 * doubling to 64 ms. Its ACK is seen at most 64 ms (or its own delay, when
 * shorter) after it came. TFO's queue (1024 per listener) bounds how many
 * wait: 1000 spoofed ones waiting cost about 7% of a core (measured on a
 * 2-core test machine, ticks of /proc/PID/stat over 5 s).
 */
#define CONFIRM_FIRST_MS 2
#define CONFIRM_MAX_MS 64

struct waiting {
	struct ev_handler h;
	struct heads *hs;
	int fd;
	time_t deadline;
	struct session *sess;
	bool dead;	   /* ended: freed by heads_reap once the batch is done */
	bool confirmed;	   /* the client's handshake is complete (see client_state) */
	unsigned int step; /* ms until the next look while not confirmed */
	long long next;	   /* when that is, CLOCK_MONOTONIC ms */
	struct waiting *prev, *next_w;
};

struct heads {
	int epfd;
	unsigned int timeout;
	head_fn done;
	void *arg;
	unsigned int n;
	struct waiting *list, *dead;
	struct ev_handler on_timer;
	int timerfd;	    /* fires when an unconfirmed client is due a look */
	long long armed_at; /* 0: disarmed */
};

static void confirm_tick(struct ev_handler *h, unsigned int events);

struct heads *heads_new(int epfd, unsigned int timeout_s, head_fn done, void *arg)
{
	struct heads *hs = calloc(1, sizeof(*hs));

	if (!hs)
		return NULL;
	*hs = (struct heads){ .epfd = epfd, .timeout = timeout_s, .done = done, .arg = arg,
			      .on_timer.fn = confirm_tick };
	hs->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (hs->timerfd < 0 || ev_add(epfd, hs->timerfd, EPOLLIN, &hs->on_timer)) {
		if (hs->timerfd >= 0)
			close(hs->timerfd);
		free(hs);
		return NULL;
	}
	return hs;
}

void heads_set_timeout(struct heads *hs, unsigned int timeout_s)
{
	hs->timeout = timeout_s;
}

unsigned int heads_waiting(const struct heads *hs)
{
	return hs->n;
}

static void reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* w is over: out of the list and epoll, its fd handed on (HEAD_OK) or reset. */
static void finish(struct heads *hs, struct waiting *w, enum head_result r, const struct mpc_frame *f,
		   int err)
{
	epoll_ctl(hs->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	if (w->prev)
		w->prev->next_w = w->next_w;
	else
		hs->list = w->next_w;
	if (w->next_w)
		w->next_w->prev = w->prev;
	hs->n--;
	w->dead = true;
	w->next_w = hs->dead;
	hs->dead = w;
	hs->done(hs->arg, w->fd, r, f, err, w->sess);
	if (r != HEAD_OK)
		reset_close(w->fd);
}

/*
 * Whether the client has answered our SYN+ACK. With TCP Fast Open and no
 * cookie (the MP_CONVERT rides in the SYN's data), accept() returns the
 * connection as soon as its SYN arrives, in SYN_RECV: nothing yet proves
 * the source address is the sender's, and a spoofed SYN with data would
 * have the MCP connect to the server it names, or the HAG (transparent)
 * open a connection in a victim's name. The handshake's last ACK proves
 * it (it answers our sequence number). A RST proves nothing: a blind
 * spoofer knows the sequence number that follows its own SYN, and the
 * reset takes the connection from SYN_RECV straight to CLOSE with its
 * data still readable. TCP_INFO on an MPTCP socket is its first
 * subflow's; where it fails, the answer is no: every role that reads heads
 * needs Fast Open on MPTCP (6.2), which came after TCP_INFO on MPTCP
 * (5.16), and on 6.2 to 6.5 a reset first subflow is freed, so that the
 * spoofed RST above made TCP_INFO fail, not say CLOSE.
 */
enum client_state { CLIENT_OK, CLIENT_WAIT, CLIENT_GONE };

static enum client_state client_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) || len < 1)
		return CLIENT_GONE;
	if (ti.tcpi_state == TCP_SYN_RECV)
		return CLIENT_WAIT;
	return ti.tcpi_state == TCP_CLOSE ? CLIENT_GONE : CLIENT_OK;
}

/*
 * Have the timer fire by t (CLOCK_MONOTONIC ms) at the latest. It only ever
 * moves earlier between two firings, so this costs nothing per client; a
 * firing with nothing due (the client went or was confirmed) just re-arms.
 */
static void arm_by(struct heads *hs, long long t)
{
	struct itimerspec its = { 0 };

	if (hs->armed_at && hs->armed_at <= t)
		return;
	hs->armed_at = t;
	/* absolute: a time already past fires at once */
	its.it_value.tv_sec = t / 1000;
	its.it_value.tv_nsec = (t % 1000) * 1000000 + 1;
	timerfd_settime(hs->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* w's client is not confirmed yet: look again later, each wait twice the last. */
static void confirm_later(struct heads *hs, struct waiting *w)
{
	w->step = w->step ? (w->step * 2 > CONFIRM_MAX_MS ? CONFIRM_MAX_MS : w->step * 2) : CONFIRM_FIRST_MS;
	w->next = xmcp_now_ms() + w->step;
	arm_by(hs, w->next);
}

/*
 * Look at what has arrived, once the client is confirmed. The framing is
 * at most XMCP_MPC_FRAME_MAX bytes: a peek of that much decides. Returns
 * without a verdict only while more bytes could still complete it, or the
 * client has not answered our SYN+ACK yet.
 */
static void try_head(struct heads *hs, struct waiting *w, bool final)
{
	__u8 buf[XMCP_OPTBUF_SIZE];
	struct mpc_frame f;
	ssize_t n;
	int off;

	if (!w->confirmed) {
		/* the state first: a client that ACKed and then sent its FIN at once is confirmed */
		enum client_state cs = client_state(w->fd);

		if (cs == CLIENT_GONE || (cs == CLIENT_WAIT && final)) {
			finish(hs, w, HEAD_LATE, NULL, 0);
			return;
		}
		if (cs == CLIENT_WAIT) {
			confirm_later(hs, w);
			return;
		}
		w->confirmed = true;
	}
	n = recv(w->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !final)
		return;
	if (n <= 0) {
		finish(hs, w, HEAD_LATE, NULL, 0);
		return;
	}
	off = mpc_frame_decode(buf, n, &f);
	if (off > 0) {
		/* off bytes are the framing: take them off the stream; the rest is the client's */
		if (recv(w->fd, buf, off, MSG_DONTWAIT) == off)
			finish(hs, w, HEAD_OK, &f, 0);
		else
			finish(hs, w, HEAD_LATE, NULL, 0);
		return;
	}
	if (mpc_frame_may_grow(buf, n, off)) {
		if (final)
			finish(hs, w, HEAD_LATE, NULL, 0);
		return; /* edge-triggered: the next bytes wake us, nothing else does */
	}
	finish(hs, w, off ? HEAD_BAD : HEAD_NONE, NULL, off);
}

static void head_event(struct ev_handler *h, unsigned int events)
{
	struct waiting *w = container_of(h, struct waiting, h);

	if (w->dead)
		return;
	/* a hangup, reset or FIN: what has come is all there will be */
	try_head(w->hs, w, events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP));
}

int heads_add(struct heads *hs, int fd, struct session *sess)
{
	struct waiting *w = calloc(1, sizeof(*w));

	if (!w) {
		hs->done(hs->arg, fd, HEAD_LATE, NULL, 0, sess);
		reset_close(fd);
		return -1;
	}
	*w = (struct waiting){ .h.fn = head_event, .hs = hs, .fd = fd, .sess = sess,
			       .deadline = xmcp_now_s() + hs->timeout, .next_w = hs->list };
	if (ev_add(hs->epfd, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, &w->h)) {
		hs->done(hs->arg, fd, HEAD_LATE, NULL, 0, sess);
		reset_close(fd);
		free(w);
		return -1;
	}
	if (hs->list)
		hs->list->prev = w;
	hs->list = w;
	hs->n++;
	/* the head usually came as SYN data: it is there already, and no edge will say so */
	try_head(hs, w, false);
	return 0;
}

void heads_expire(struct heads *hs)
{
	struct waiting *w = hs->list, *next;
	time_t t = xmcp_now_s();

	for (; w; w = next) {
		next = w->next_w;
		if (t >= w->deadline)
			finish(hs, w, HEAD_LATE, NULL, 0);
	}
}

/* The clients due a look: confirmed ones go on to their head, the others wait longer. */
static void confirm_tick(struct ev_handler *h, unsigned int events)
{
	struct heads *hs = container_of(h, struct heads, on_timer);
	struct waiting *w = hs->list, *next;
	long long t = xmcp_now_ms();
	__u64 n;

	(void)events;
	if (read(hs->timerfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	hs->armed_at = 0; /* it fired: one-shot; confirm_later and arm_by set the next */
	for (; w; w = next) {
		next = w->next_w;
		if (w->confirmed)
			continue;
		if (w->next <= t)
			try_head(hs, w, false); /* confirmed, ended, or due later */
		else
			arm_by(hs, w->next);
	}
}

void heads_reap(struct heads *hs)
{
	struct waiting *w;

	while ((w = hs->dead)) {
		hs->dead = w->next_w;
		free(w);
	}
}

void heads_free(struct heads *hs)
{
	if (!hs)
		return;
	while (hs->list)
		finish(hs, hs->list, HEAD_LATE, NULL, 0);
	heads_reap(hs);
	close(hs->timerfd);
	free(hs);
}
