// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's commands: `xmcp run -c POLICY.json` (the daemon itself,
 * user/daemon/), `xmcp check` (the policy alone) and `xmcp reload` (SIGHUP
 * to the namespace's daemon).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmds.h"
#include "daemon/daemon.h"
#include "install/journal.h"
#include "policy/policy.h"
#include "lib/util.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: xmcp run -c POLICY.json [-v]\n"
		   "\n"
		   "Runs the conversion daemon in the foreground in the role its policy names\n"
		   "(hcpe, hag or mcp; see docs/policy.md). Logs go to stderr. SIGTERM or SIGINT\n"
		   "undoes everything it set up: programs, qdiscs, pins, ip rules and routes\n"
		   "and MPTCP endpoints go; the MPTCP limits and net.ipv4.tcp_fastopen get\n"
		   "their old values back.\n"
		   "\n"
		   "  -c, --config FILE   the policy\n");
}

/* -c FILE plus the common options; returns 0 with *config set, else an exit code + 1. */
static int parse_config_arg(int argc, char **argv, const char **config, void (*usage_fn)(FILE *))
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		XMCP_COMMON_LONGOPTS,
		{ 0 },
	};
	int opt, ret;

	*config = NULL;
	while ((opt = getopt_long(argc, argv, "c:" XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'c') {
			*config = optarg;
		} else if ((ret = xmcp_common_opt(opt, optarg))) {
			usage_fn(ret > 0 ? stdout : stderr);
			return ret > 0 ? 1 : 3;
		}
	}
	if (!*config || optind != argc) {
		usage_fn(stderr);
		return 3;
	}
	return 0;
}

static void reload_usage(FILE *f)
{
	fprintf(f, "Usage: xmcp reload\n"
		   "\n"
		   "Asks the xmcp run of this network namespace to read its policy file\n"
		   "again (SIGHUP). Endpoints and limits (by difference), subscribers,\n"
		   "class limits, modes' rules, forbidden, transparent_source,\n"
		   "idle_timeout, connect_timeout and head_timeout change live; anything\n"
		   "else needs a restart. The daemon logs the outcome; a policy that fails\n"
		   "the check is refused and the running one stays.\n");
}

int cmd_reload(int argc, char **argv)
{
	static const struct option longopts[] = { XMCP_COMMON_LONGOPTS, { 0 } };
	pid_t pid;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if ((ret = xmcp_common_opt(opt, optarg))) {
			reload_usage(ret > 0 ? stdout : stderr);
			return ret > 0 ? 0 : 2;
		}
	}
	if (optind != argc) {
		reload_usage(stderr);
		return 2;
	}
	if (xmcp_require_root())
		return 1;
	pid = journal_daemon();
	if (!pid) {
		xmcp_err("no xmcp run in this network namespace");
		return 1;
	}
	if (kill(pid, SIGHUP)) {
		xmcp_err("cannot signal xmcp run (pid %d): %s", pid, strerror(errno));
		return 1;
	}
	printf("asked xmcp run (pid %d) to reload its policy\n", pid);
	return 0;
}

static void check_usage(FILE *f)
{
	fprintf(f, "Usage: xmcp check -c POLICY.json\n"
		   "\n"
		   "Validates a policy as 'xmcp run' would, without touching the system:\n"
		   "prints 'FILE: field.path: what is wrong' and exits 1, or exits 0.\n");
}

int cmd_check(int argc, char **argv)
{
	struct policy pol;
	const char *config;
	int ret = parse_config_arg(argc, argv, &config, check_usage);

	if (ret)
		return ret - 1;
	if (policy_load(config, &pol))
		return 1;
	printf("%s: a valid %s policy\n", config, policy_role_name(pol.role));
	return 0;
}

int cmd_run(int argc, char **argv)
{
	const char *config;
	int ret = parse_config_arg(argc, argv, &config, usage);

	if (ret)
		return ret - 1;
	return daemon_run(config);
}
