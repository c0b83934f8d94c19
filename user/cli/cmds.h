/* SPDX-License-Identifier: GPL-2.0 */
/* The xmcp subcommands: each takes its argv (argv[0] is its name) and returns an exit code. */
#ifndef XMCP_CMDS_H
#define XMCP_CMDS_H

#include <getopt.h>

#include "lib/util.h" /* xmcp_pin_dir */

int cmd_classify(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_flows(int argc, char **argv);

/*
 * Options every subcommand accepts; a subcommand's getopt loop calls this
 * for any option it does not handle itself. Returns 0 when handled, 1 for
 * --help (the caller prints its usage), -1 for a bad option.
 */
#define XMCP_COMMON_LONGOPTS                               \
	{ "verbose", no_argument, NULL, 'v' },             \
	{ "help", no_argument, NULL, 'h' },                \
	{ "pin-dir", required_argument, NULL, 'P' }
#define XMCP_COMMON_SHORTOPTS "vh"
int xmcp_common_opt(int opt, const char *arg);

#endif
