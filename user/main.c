// SPDX-License-Identifier: GPL-2.0
/* xmcp: the Multipath Conversion Point's command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "util.h"
#include "xmcp_maps.h"

const char *xmcp_pin_dir = XMCP_PIN_DIR_DEFAULT;

struct xmcp_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct xmcp_cmd cmds[] = {
	{ "classify", cmd_classify, "classify the frames of a capture with the XDP program" },
	{ "attach", cmd_attach, "attach the classifier to a network device" },
	{ "detach", cmd_detach, "detach from a device (or --all) and clean up" },
	{ "stats", cmd_stats, "show the per-class counters" },
	{ "run", cmd_run, "run the conversion daemon (HCPE, HAG or MCP) from a policy" },
	{ "check", cmd_check, "validate a policy without touching the system" },
	{ "reload", cmd_reload, "make the running daemon read its policy again" },
	{ "flows", cmd_flows, "list the running daemon's pairs and their subflows" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: xmcp [-v] [--pin-dir DIR] COMMAND [ARGS]\n\n"
		   "xmcp is a Multipath Conversion Point: an eBPF datapath that classifies\n"
		   "MPTCP SYNs (MP_CAPABLE, MP_JOIN, MP_CONVERT) on gateway interfaces.\n\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nOptions (also accepted after COMMAND):\n"
		   "  -v, --verbose    show libbpf/libxdp messages and the verifier log\n"
		   "  --pin-dir DIR    bpffs directory of the pinned maps (default %s,\n"
		   "                   or $XMCP_PIN_DIR)\n"
		   "  -h, --help       this help; 'xmcp COMMAND --help' for a command's\n",
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
