/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's control socket, for `xmcp flows` and `xmcp stats`: a unix
 * socket at /run/xmcp/control-<netns inode>.sock (one daemon per network
 * namespace), in a directory only root can write, mode 0600, or 0660 with
 * the policy's control_group: nobody else can connect, and nobody can put
 * a socket of their own in its place before the daemon starts. The daemon
 * also checks each peer's credentials (SO_PEERCRED), and the CLI checks
 * that the socket and the process answering are root's before it trusts
 * a reply.
 *
 * A request is one word and a newline; the answer one JSON document, then
 * the daemon closes the connection. Clients are served from the daemon's
 * event loop without ever blocking it: non-blocking, each with a deadline
 * (CONTROL_DEADLINE_S for the whole exchange), at most
 * CONTROL_MAX_CLIENTS at a time (more are refused at once).
 */
#ifndef XMCP_CONTROL_H
#define XMCP_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>

#define CONTROL_MAX_CLIENTS 16
#define CONTROL_DEADLINE_S 5

struct control;

/* What a request gets: a reply (freed by the control socket), or NULL for an unknown one. */
typedef json_object *(*control_fn)(void *arg, const char *request);

struct control_stats {
	unsigned long long served, refused_peer, refused_busy, timed_out;
};

/*
 * Listen at this namespace's path (a stale socket of a dead daemon is
 * replaced); group (gid_t)-1: root only. NULL after saying why.
 */
struct control *control_open(int epfd, gid_t group, control_fn fn, void *arg);
/* Deadlines; and accepting again after a pause (out of descriptors). Every second or so. */
void control_tick(struct control *c);
/* Free the clients that ended during a batch of events; after each batch. */
void control_reap(struct control *c);
/* Close everything and remove the socket file. */
void control_close(struct control *c);
const struct control_stats *control_stats(const struct control *c);

/* Client: send request, parse the reply into *reply; 0, or -1 (after saying why, unless quiet). */
int control_request(const char *request, json_object **reply, bool quiet);

#endif
