/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connections waiting for the MP_CONVERT framing at the head of their
 * stream (draft-boucadair: options, then EOL): the MCP's clients, whose
 * head names the server, and the HAG's in the mp_convert marker mode,
 * whose head is the empty marker. The head comes as SYN data or, when a
 * middlebox dropped that, as the first bytes after the handshake.
 *
 * A connection here costs nothing while its head is incomplete: it is
 * watched edge-triggered, so bytes that do not complete the head are looked
 * at once and then wait for more to arrive (never a level-triggered socket
 * left readable and ignored: 8 clients sending 3 bytes each kept the old
 * MCP at 100% of a core). Each has a deadline of its own (the policy's
 * head_timeout). A hangup, reset or FIN before the head is complete, bytes
 * that can no longer become a head, and a passed deadline end it at once.
 * A head counts only once the client has answered our SYN+ACK: a SYN with
 * data is accepted before that (TFO), from a source nothing has proven.
 */
#ifndef XMCP_HEAD_H
#define XMCP_HEAD_H

#include "mp_convert.h"

struct session; /* user/daemon/admission.h */

struct heads;

enum head_result {
	HEAD_OK,   /* the framing was read off the stream: *f holds it */
	HEAD_NONE, /* the stream does not start with an MP_CONVERT */
	HEAD_BAD,  /* a broken framing (f unset) */
	HEAD_LATE, /* closed, reset, or the deadline passed before the head was complete */
};

/*
 * Called once per connection: with HEAD_OK the caller owns fd (and sess)
 * from then on; otherwise fd is reset and closed right after the call.
 * err is the decoder's error for HEAD_BAD.
 */
typedef void (*head_fn)(void *arg, int fd, enum head_result r, const struct mpc_frame *f, int err,
			struct session *sess);

struct heads *heads_new(int epfd, unsigned int timeout_s, head_fn done, void *arg);
/* A new deadline for connections added from now on (a reload). */
void heads_set_timeout(struct heads *hs, unsigned int timeout_s);
/* Watch an accepted connection; 0, or -1 when it can't be (done is called with HEAD_LATE). */
int heads_add(struct heads *hs, int fd, struct session *sess);
/* End the connections past their deadline; call every second or so. */
void heads_expire(struct heads *hs);
/* Free what ended during a batch of events; call after each batch. */
void heads_reap(struct heads *hs);
void heads_free(struct heads *hs);
/* Connections waiting now. */
unsigned int heads_waiting(const struct heads *hs);

#endif
