/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The relay: one epoll loop moving bytes between the two legs of each pair
 * with splice() through a pipe per direction (MPTCP sockets can't go into a
 * sockmap, and splice works on them), or read()/write() through a buffer.
 *
 * Bound per the drafts, and as a direct connection would behave:
 * - EOF on one leg half-closes the other (its FIN passed on once every
 *   byte before it went out);
 * - a leg that is reset or fails still delivers what it had received (a
 *   server's last bytes before its RST reach the client, as they would
 *   without xmcp); then the other leg is reset too, once its peer has taken
 *   those bytes (or the idle lifetime says it never will);
 * - a hangup or an error is final for the state it comes in: the leg is
 *   taken out of epoll at once, whatever bytes it still holds are pulled by
 *   its direction, so no level-triggered event can keep the loop spinning;
 * - a client that fails while the server leg is still connecting ends the
 *   pair at once; each pair has one idle lifetime.
 * A leg is read only while its pipe is empty, so a slow reader holds at
 * most one pipe (64 KiB) per direction in the kernel.
 */
#ifndef XMCP_RELAY_H
#define XMCP_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct relay;
struct session; /* user/daemon/admission.h */

struct relay_stats {
	unsigned long long pairs_opened, pairs_closed, pairs_aborted, connect_failed, idle_expired;
	unsigned long long fallback; /* pairs whose MPTCP leg had fallen back to TCP */
	unsigned long long bytes[2]; /* client->server, server->client */
	unsigned long long delivered_after_reset; /* bytes passed on from a leg after it was reset */
	unsigned long long copy_fallback; /* directions that took a buffer: no pipe could be had (EMFILE) */
};

/* How bytes move: splice() through a pipe per direction, or read()/write() through a buffer. */
enum relay_mode { RELAY_SPLICE, RELAY_COPY };

/*
 * The congestion control set on each MPTCP leg of the pairs added from now
 * on (NULL or "": the kernel's), probed by the caller (xmcp_mptcp_cc_probe).
 */
void relay_set_mptcp_cc(struct relay *r, const char *name);

/* A relay without timeouts: relay_set_timeouts() gives them before any pair. */
struct relay *relay_new(int epfd, enum relay_mode mode);
/*
 * The idle lifetime and the time a server leg may take to connect (0: the
 * kernel's SYN retries), in seconds, for every pair from now on (at start
 * and on a policy reload). Both are checked by relay_expire().
 */
void relay_set_timeouts(struct relay *r, unsigned int idle_timeout, unsigned int connect_timeout);

/*
 * Take ownership of an accepted client socket and a server socket whose
 * non-blocking connect is under way. Returns 0, or -1 (both closed).
 * sess (the admission's session, user/daemon/admission.h), if not NULL, is
 * handed to the on_end callback when the pair ends (or at once, when
 * relay_add fails).
 */
int relay_add(struct relay *r, int client_fd, int server_fd, struct session *sess);
/* Called with each ending pair's session. */
void relay_on_end(struct relay *r, void (*on_end)(void *arg, struct session *sess), void *arg);
/* Hand sess to on_end now: its connection ended before it became a pair. */
void relay_end_session(struct relay *r, struct session *sess);
/* What `xmcp flows` shows of a pair. */
struct relay_pair_info {
	int client_fd, server_fd;
	long age;		  /* seconds */
	unsigned long long bytes[2]; /* client->server, server->client */
	bool connected;		  /* the server leg is up */
};
/* Call fn for each open pair. */
void relay_foreach(struct relay *r, void (*fn)(void *arg, const struct relay_pair_info *pi), void *arg);
/*
 * Reset the pairs pred says yes to (counted as aborted), their number. On
 * the relay's own thread (a worker: worker_call), within an event batch:
 * relay_reap() after it frees them.
 */
unsigned int relay_abort_if(struct relay *r, bool (*pred)(void *arg, const struct relay_pair_info *pi), void *arg);
/* Pairs open now. */
unsigned long long relay_active(const struct relay *r);
/* Free the pairs closed while handling a batch of events; call after each batch. */
void relay_reap(struct relay *r);
/*
 * Pairs whose leg was reset wait for the other leg's peer to take the last
 * bytes before resetting it. Each is looked at again after 5 ms, doubling
 * to a second (a peer that never takes them ends with the idle lifetime):
 * relay_drain_ms() says in how many ms relay_drain() is next due (-1:
 * none waits); relay_drain() looks at those due.
 */
int relay_drain_ms(const struct relay *r);
void relay_drain(struct relay *r);
/* Close pairs idle for longer than the lifetime; call every second or so. */
void relay_expire(struct relay *r);
/* Reset every pair still open (counted as aborted): the daemon's way out. */
void relay_abort_all(struct relay *r);
/* Abort every pair and free the relay. */
void relay_free(struct relay *r);
const struct relay_stats *relay_stats(const struct relay *r);

#endif
