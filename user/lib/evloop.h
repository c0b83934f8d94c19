/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's one epoll loop: every registration's data.ptr points at an
 * ev_handler, embedded in whatever owns the fd (a relay leg, a connection
 * waiting for its head, a control client, the listeners), and the loop
 * calls its fn. No tags probed at offset 0: an owner is found by the
 * pointer it registered (container_of).
 *
 * An owner freed while handling an event may still be named by a later
 * event of the same epoll_wait() batch: owners are freed only once the
 * batch is done (each module keeps its own list of dead ones and a reap
 * function the loop calls after the batch).
 */
#ifndef XMCP_EVLOOP_H
#define XMCP_EVLOOP_H

#include <stddef.h>
#include <sys/epoll.h>

struct ev_handler {
	void (*fn)(struct ev_handler *h, unsigned int events);
};

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static inline int ev_add(int epfd, int fd, unsigned int events, struct ev_handler *h)
{
	struct epoll_event e = { .events = events, .data.ptr = h };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

static inline int ev_mod(int epfd, int fd, unsigned int events, struct ev_handler *h)
{
	struct epoll_event e = { .events = events, .data.ptr = h };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &e);
}

#endif
