/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The counters of `xmcp stats`: the datapath's from the pinned maps
 * (xmcp_pin_dir), summed over CPUs, and the daemon's own. Used by the
 * command and by the daemon's metrics listener.
 */
#ifndef XMCP_STATS_H
#define XMCP_STATS_H

#include <stdio.h>

enum stats_format { STATS_TABLE, STATS_JSON, STATS_PROMETHEUS };

/* Read every counter and print them once to f; 0, or -1 after saying why. */
int stats_print(FILE *f, enum stats_format fmt);

#endif
