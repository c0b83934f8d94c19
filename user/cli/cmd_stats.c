// SPDX-License-Identifier: GPL-2.0
/* xmcp stats [-j|--prometheus] [--watch]: the datapath's counters, summed over CPUs, from the pinned maps. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cmds.h"
#include "daemon/control.h"
#include "kernel/stats.h"
#include "lib/util.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: xmcp stats [-j | --prometheus] [--watch[=SECS]]\n"
		   "\n"
		   "Prints the classifier's per-class packet and byte counters, the classes\n"
		   "tc read from the XDP metadata, and why packets were malformed; under\n"
		   "'xmcp run' also the steering, admission and drop counters, the bytes\n"
		   "per path and the daemon's pairs. Summed over every device and CPU since\n"
		   "the first attach.\n"
		   "\n"
		   "  -j, --json     one JSON object\n"
		   "  --prometheus   Prometheus text exposition format (counters)\n"
		   "  --watch[=SECS] again every SECS seconds (default 1) until interrupted;\n"
		   "                 with -j, one JSON object per line\n");
}

int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "watch", optional_argument, NULL, 'w' },
		XMCP_COMMON_LONGOPTS,
		{ 0 },
	};
	int opt, ret, json = 0, prom = 0;
	double watch = 0;
	char *end;

	while ((opt = getopt_long(argc, argv, "j" XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'j') {
			json = 1;
		} else if (opt == 'p') {
			prom = 1;
		} else if (opt == 'w') {
			watch = optarg ? strtod(optarg, &end) : 1;
			if (optarg && (*end || watch < 0.1 || watch > 3600)) {
				xmcp_err("--watch: '%s' is not a number of seconds from 0.1 to 3600", optarg);
				return 2;
			}
		} else if ((ret = xmcp_common_opt(opt, optarg))) {
			usage(ret > 0 ? stdout : stderr);
			return ret > 0 ? 0 : 2;
		}
	}
	if (optind != argc || (json && prom)) {
		usage(stderr);
		return 2;
	}
	if (xmcp_require_root())
		return 1;
	for (;;) {
		json_object *summary = NULL;
		int err;

		/* a daemon in this namespace adds path names, subflows and class sessions */
		control_request("summary", &summary, true);
		err = stats_print(stdout, prom ? STATS_PROMETHEUS : json ? STATS_JSON : STATS_TABLE, summary);
		json_object_put(summary);
		if (err)
			return 1;
		if (!watch)
			return 0;
		struct timespec ts = { .tv_sec = (time_t)watch,
				       .tv_nsec = (long)((watch - (time_t)watch) * 1e9) };

		fflush(stdout);
		nanosleep(&ts, NULL);
		if (!json && !prom)
			printf("\n");
	}
}
