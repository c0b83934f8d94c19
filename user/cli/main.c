// SPDX-License-Identifier: GPL-2.0
/* xmcp: the Multipath Conversion Point's command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "lib/util.h"
#include "xmcp_maps.h"

struct xmcp_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct xmcp_cmd cmds[] = {
	{ "run", cmd_run, "run the conversion daemon in the role its policy names" },
	{ "check", cmd_check, "validate a policy without touching the system" },
	{ "reload", cmd_reload, "make the running daemon read its policy again" },
	{ "flows", cmd_flows, "list the running daemon's pairs and their subflows" },
	{ "stats", cmd_stats, "print the datapath's and the daemon's counters" },
	{ "classify", cmd_classify, "run the frames of captures through the XDP classifier" },
	{ "attach", cmd_attach, "attach the classifier alone to a network device" },
	{ "detach", cmd_detach, "detach from a device (or --all) and clean up" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: xmcp [-v] [--pin-dir DIR] COMMAND [ARGS]\n\n"
		   "xmcp is an MPTCP conversion gateway (a Multipath Conversion Point): it\n"
		   "turns plain TCP into MPTCP and back. An eBPF datapath (XDP and tc)\n"
		   "classifies and steers SYNs; a daemon relays each connection into one of\n"
		   "the other kind. 'xmcp run' takes one role, named in its policy:\n"
		   "  hcpe   at the customer: LAN hosts' TCP goes on as MPTCP over several\n"
		   "         access links\n"
		   "  hag    in the operator's network: subscribers' MPTCP goes on as TCP\n"
		   "         to the servers\n"
		   "  mcp    off-path: a client's MPTCP names its server in MP_CONVERT; TCP\n"
		   "         goes on to that server\n\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nEvery command but check, flows and the help needs root.\n"
		   "\nOptions (also accepted after COMMAND):\n"
		   "  -v, --verbose    show libbpf/libxdp messages and the verifier log\n"
		   "  --pin-dir DIR    bpffs directory of the pinned maps (default %s,\n"
		   "                   or $XMCP_PIN_DIR)\n"
		   "  -h, --help       this help; 'xmcp COMMAND --help' for a command's own\n",
		XMCP_PIN_DIR_DEFAULT);
}

int xmcp_common_opt(int opt, const char *arg)
{
	switch (opt) {
	case 'v':
		xmcp_verbose = 1;
		return 0;
	case 'P':
		xmcp_pin_dir = arg;
		return 0;
	case 'h':
		return 1;
	default:
		return -1;
	}
}

int main(int argc, char **argv)
{
	const char *env = getenv("XMCP_PIN_DIR");
	int i = 1;
	size_t c;

	if (env && *env)
		xmcp_pin_dir = env;
	/* Global options before the command name. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			xmcp_verbose = 1;
		} else if (!strcmp(argv[i], "--pin-dir") && i + 1 < argc) {
			xmcp_pin_dir = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			xmcp_err("unknown option %s", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	xmcp_setup_lib_logging();
	for (c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
		if (!strcmp(argv[i], cmds[c].name))
			return cmds[c].fn(argc - i, argv + i);
	xmcp_err("unknown command '%s'; 'xmcp --help' lists them", argv[i]);
	return 2;
}
