/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The counters of `xmcp stats`: the datapath's from its maps (pinned in
 * xmcp_pin_dir, or found through the programs on this namespace's
 * devices), summed over CPUs, and the daemon's own (its pinned map, or its
 * summary over the control socket). Used by the command and by the
 * daemon's metrics listener.
 */
#ifndef XMCP_STATS_H
#define XMCP_STATS_H

#include <stdio.h>

enum stats_format { STATS_TABLE, STATS_JSON, STATS_PROMETHEUS };

#include <json-c/json.h>

/*
 * Read every counter and print them once to f; 0, or -1 after saying why.
 * summary (may be NULL): the daemon's paths and subscriber classes, the
 * control socket's "summary" answer, for names, subflows and sessions.
 */
int stats_print(FILE *f, enum stats_format fmt, json_object *summary);

struct xmcp_daemon_stats;
/* The daemon's counters as a JSON object, by the names `xmcp stats -j` gives them. */
json_object *stats_daemon_json(const struct xmcp_daemon_stats *v);

/* Sum the one slot of a per-CPU array of u64 fields (fd) into out; 0 or -errno. */
int stats_percpu_sum(int fd, void *out, size_t value_size);

#endif
