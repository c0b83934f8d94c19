/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's control socket, for `xmcp flows` and `xmcp stats --watch`
 * style queries: an abstract unix socket, so it lives in the daemon's
 * network namespace (one daemon per namespace, as the runstate says) and
 * disappears with the process, kill -9 included; nothing to clean up.
 * A request is one word and a newline; the answer is one JSON document,
 * then the daemon closes the connection.
 */
#ifndef XMCP_CONTROL_H
#define XMCP_CONTROL_H

#include <stdbool.h>

#include <json-c/json.h>

/* The listening socket (non-blocking), or -1 after saying why. */
int control_listen(void);

/* Answer the waiting clients: handler returns the reply (it is freed here), NULL for an unknown request. */
void control_accept(int lfd, json_object *(*handler)(void *arg, const char *request), void *arg);

/* Client: send request, parse the reply into *reply; 0, or -1 (after saying why, unless quiet). */
int control_request(const char *request, json_object **reply, bool quiet);

#endif
