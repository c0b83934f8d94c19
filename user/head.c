// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "head.h"
#include "util.h"

struct waiting {
	struct ev_handler h;
	struct heads *hs;
	int fd;
	time_t deadline;
	void *owner;
	bool dead; /* ended: freed by heads_reap once the batch is done */
	struct waiting *prev, *next;
};

struct heads {
	int epfd;
	unsigned int timeout;
	head_fn done;
	void *arg;
	unsigned int n;
	struct waiting *list, *dead;
};

static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct heads *heads_new(int epfd, unsigned int timeout_s, head_fn done, void *arg)
{
	struct heads *hs = calloc(1, sizeof(*hs));

	if (hs)
		*hs = (struct heads){ .epfd = epfd, .timeout = timeout_s, .done = done, .arg = arg };
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
		w->prev->next = w->next;
	else
		hs->list = w->next;
	if (w->next)
		w->next->prev = w->prev;
	hs->n--;
	w->dead = true;
	w->next = hs->dead;
	hs->dead = w;
	hs->done(hs->arg, w->fd, r, f, err, w->owner);
	if (r != HEAD_OK)
		reset_close(w->fd);
}

/*
 * Look at what has arrived. The framing is at most XMCP_MPC_FRAME_MAX
 * bytes: a peek of that much decides. Returns without a verdict only while
 * more bytes could still complete it.
 */
static void try_head(struct heads *hs, struct waiting *w, bool final)
{
	__u8 buf[XMCP_OPTBUF_SIZE];
	struct mpc_frame f;
	ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	int off;

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

int heads_add(struct heads *hs, int fd, void *owner)
{
	struct waiting *w = calloc(1, sizeof(*w));

	if (!w) {
		hs->done(hs->arg, fd, HEAD_LATE, NULL, 0, owner);
		reset_close(fd);
		return -1;
	}
	*w = (struct waiting){ .h.fn = head_event, .hs = hs, .fd = fd, .owner = owner,
			       .deadline = now() + hs->timeout, .next = hs->list };
	if (ev_add(hs->epfd, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, &w->h)) {
		hs->done(hs->arg, fd, HEAD_LATE, NULL, 0, owner);
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
	time_t t = now();

	for (; w; w = next) {
		next = w->next;
		if (t >= w->deadline)
			finish(hs, w, HEAD_LATE, NULL, 0);
	}
}

void heads_reap(struct heads *hs)
{
	struct waiting *w;

	while ((w = hs->dead)) {
		hs->dead = w->next;
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
	free(hs);
}
