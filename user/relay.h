/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The relay: one epoll loop moving bytes between the two legs of each pair
 * with splice() through a pipe per direction (MPTCP sockets can't go into a
 * sockmap, and splice works on them). Bound per the drafts: EOF on one leg
 * half-closes the other, a reset or error on one aborts both, and each pair
 * has one idle lifetime. A leg is read only while its pipe is empty, so a
 * slow reader holds at most one pipe (64 KiB) per direction in the kernel.
 */
#ifndef XMCP_RELAY_H
#define XMCP_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct relay;

struct relay_stats {
	unsigned long long pairs_opened, pairs_closed, pairs_aborted, connect_failed, idle_expired;
	unsigned long long spliced; /* TCP<->TCP pairs handed to the sockhash */
	unsigned long long unspliced; /* directions of those that went on in userspace */
	unsigned long long fallback; /* pairs whose MPTCP leg had fallen back to TCP */
	unsigned long long overflow; /* sockhash pairs reset at the backlog bound (XMCP_SPLICE_OVERFLOW) */
	unsigned long long bytes[2]; /* client->server, server->client */
};

/* How bytes move: splice() through a pipe per direction, or read()/write() through a buffer. */
enum relay_mode { RELAY_SPLICE, RELAY_COPY };

struct relay *relay_new(int epfd, unsigned int idle_timeout, enum relay_mode mode);
/* A new idle lifetime (a policy reload), for every pair from now on. */
void relay_set_idle(struct relay *r, unsigned int idle_timeout);
/*
 * Splice TCP<->TCP pairs in the kernel: the sockhash and peer map of the
 * loaded object (XMCP_MAP_SPLICE, XMCP_MAP_SPLICE_PEERS), with the sk_skb
 * verdict attached to the sockhash. Pairs with an MPTCP leg stay in userspace.
 */
void relay_use_sockmap(struct relay *r, int sockhash_fd, int peers_fd);

/*
 * Take ownership of an accepted client socket and a server socket whose
 * non-blocking connect is under way. Returns 0, or -1 (both closed).
 * owner, if not NULL, is handed to the on_end callback when the pair ends
 * (or at once, when relay_add fails).
 */
int relay_add(struct relay *r, int client_fd, int server_fd, void *owner);
/* Called with each ending pair's owner (the admission's session). */
void relay_on_end(struct relay *r, void (*on_end)(void *arg, void *owner), void *arg);
/* Hand owner to on_end now: its connection ended before it became a pair. */
void relay_end_owner(struct relay *r, void *owner);
/* What `xmcp flows` shows of a pair. */
struct relay_pair_info {
	int client_fd, server_fd;
	long age;		  /* seconds */
	unsigned long long bytes[2]; /* client->server, server->client */
	bool connected;		  /* the server leg is up */
	bool in_kernel;		  /* a direction goes through the sockhash */
};
/* Call fn for each open pair. */
void relay_foreach(struct relay *r, void (*fn)(void *arg, const struct relay_pair_info *pi), void *arg);
/* Pairs open now. */
unsigned long long relay_active(const struct relay *r);
/* Free the pairs closed while handling a batch of events; call after each batch. */
void relay_reap(struct relay *r);
/*
 * In-kernel pairs wait to pass a FIN on until the peer has taken every byte:
 * while relay_draining(), call relay_drain() every few milliseconds.
 */
bool relay_draining(const struct relay *r);
void relay_drain(struct relay *r);
/* Close pairs idle for longer than the lifetime; call every second or so. */
void relay_expire(struct relay *r);
/* Abort every pair and free the relay. */
void relay_free(struct relay *r);
const struct relay_stats *relay_stats(const struct relay *r);

#endif
