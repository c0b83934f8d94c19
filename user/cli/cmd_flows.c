// SPDX-License-Identifier: GPL-2.0
/* xmcp flows [-j]: the running daemon's pairs, asked over its control socket (user/daemon/flows.c answers). */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cmds.h"
#include "daemon/control.h"
#include "lib/util.h"

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "-";
}

static void print_flows(json_object *root)
{
	json_object *arr, *f, *sfs;
	size_t i, k;

	arr = xmcp_json_array(root, "flows");
	if (!arr)
		return;
	printf("%s: %zu pairs\n", str(root, "role"), json_object_array_length(arr));
	for (i = 0; i < json_object_array_length(arr); i++) {
		f = json_object_array_get_idx(arr, i);
		printf("%s (%s) -> %s (%s), %ss, %s bytes up, %s down\n", str(f, "client"),
		       str(f, "client_proto"), str(f, "server"), str(f, "server_proto"), str(f, "age"),
		       str(f, "bytes_up"), str(f, "bytes_down"));
		sfs = xmcp_json_array(f, "subflows");
		for (k = 0; sfs && k < json_object_array_length(sfs); k++) {
			json_object *sf = json_object_array_get_idx(sfs, k);

			printf("  subflow %s -> %s via %s, path %s (%s)%s\n", str(sf, "local"), str(sf, "remote"),
			       str(sf, "interface"), str(sf, "path"), str(sf, "access"),
			       json_object_get_boolean(json_object_object_get(sf, "backup")) ? ", backup" : "");
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: xmcp flows [-j]\n"
		   "\n"
		   "Lists the pairs of the xmcp run of this network namespace: client and\n"
		   "server, the protocol of each leg, age, bytes each way, and the subflows\n"
		   "of the MPTCP leg with the device, path and access type each one uses.\n"
		   "\n"
		   "  -j, --json   the daemon's answer as one JSON object\n");
}

int cmd_flows(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		XMCP_COMMON_LONGOPTS,
		{ 0 },
	};
	json_object *reply;
	int opt, ret, json = 0;

	while ((opt = getopt_long(argc, argv, "j" XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'j') {
			json = 1;
		} else if ((ret = xmcp_common_opt(opt, optarg))) {
			usage(ret > 0 ? stdout : stderr);
			return ret > 0 ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (control_request("flows", &reply, false))
		return 1;
	if (json)
		puts(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	else
		print_flows(reply);
	json_object_put(reply);
	return 0;
}
