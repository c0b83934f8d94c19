/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `xmcp flows`: the daemon's pairs with their MPTCP subflows, as the
 * control socket's "flows" answer (built in the daemon) and as text or
 * JSON on the command line.
 */
#ifndef XMCP_FLOWS_H
#define XMCP_FLOWS_H

#include <json-c/json.h>

#include "policy/policy.h"
#include "relay/relay.h"

/* Every pair of r (worker's), with addresses, age, bytes and the MPTCP leg's subflows, into arr. */
void flows_add(json_object *arr, struct relay *r, const struct policy *p, unsigned int worker);
/* HAG: the arrival map, so that a subflow's path is the line it is answered by (not the route's). */
void flows_set_arrival_map(int fd);
/* The answer: the role and arr, the flows (taken over). */
json_object *flows_json(json_object *arr, const struct policy *p);

/* The subflows of r's pairs open now, added by path: path_subflows[i] for p->paths[i]. */
void summary_count_paths(struct relay *r, const struct policy *p, int *path_subflows);
/*
 * What `xmcp stats` adds from the daemon: each path with its subflows open
 * now, each subscriber class with its sessions (class_sessions[i] for
 * p->classes[i]).
 */
json_object *summary_json(const int *path_subflows, const struct policy *p, const unsigned long long *class_sessions);

#endif
