// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/mptcp.h>

#include "cmds.h"
#include "control.h"
#include "flows.h"
#include "netlink.h"
#include "util.h"

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#define MAX_SUBFLOWS 16

/* "a.b.c.d:port" or "[x::y]:port" */
static json_object *sa_json(const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN + 10];

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return NULL;
	inet_ntop(ss->ss_family, xmcp_sa_addr(ss), a, sizeof(a));
	snprintf(out, sizeof(out), ss->ss_family == AF_INET ? "%s:%d" : "[%s]:%d", a, xmcp_sa_port(ss));
	return json_object_new_string(out);
}

static json_object *peer_json(int fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	return getpeername(fd, (struct sockaddr *)&ss, &len) ? NULL : sa_json(&ss);
}

/* The path of a subflow: the device its packets to the peer leave by. */
static void add_path(json_object *sf, const struct sockaddr_storage *remote, const struct policy *p)
{
	char ifname[IF_NAMESIZE] = "";
	int oif = nl_route_oif(remote->ss_family, xmcp_sa_addr(remote), NULL);
	const struct pol_path *path;

	if (oif <= 0 || !if_indextoname(oif, ifname))
		return;
	json_object_object_add(sf, "interface", json_object_new_string(ifname));
	path = policy_path_of(p, ifname);
	if (!path)
		return;
	json_object_object_add(sf, "path", json_object_new_string(path->name));
	json_object_object_add(sf, "access", json_object_new_string(path->access));
	json_object_object_add(sf, "backup", json_object_new_boolean(path->backup));
}

/* The subflows of an MPTCP socket (MPTCP_SUBFLOW_ADDRS), each with its path. */
static json_object *subflows_json(int fd, const struct policy *p)
{
	struct {
		struct mptcp_subflow_data d;
		struct mptcp_subflow_addrs a[MAX_SUBFLOWS];
	} buf = { .d = { .size_subflow_data = sizeof(struct mptcp_subflow_data),
			 .size_user = sizeof(struct mptcp_subflow_addrs) } };
	socklen_t len = sizeof(buf);
	json_object *arr = json_object_new_array();
	unsigned int i;

	if (getsockopt(fd, SOL_MPTCP, MPTCP_SUBFLOW_ADDRS, &buf, &len))
		return arr; /* fell back to TCP: no subflow list */
	for (i = 0; i < buf.d.num_subflows && i < MAX_SUBFLOWS; i++) {
		json_object *sf = json_object_new_object();
		struct sockaddr_storage l = { 0 }, r = { 0 };

		memcpy(&l, &buf.a[i].ss_local, sizeof(buf.a[i].ss_local));
		memcpy(&r, &buf.a[i].ss_remote, sizeof(buf.a[i].ss_remote));
		json_object_object_add(sf, "local", sa_json(&l));
		json_object_object_add(sf, "remote", sa_json(&r));
		add_path(sf, &r, p);
		json_object_array_add(arr, sf);
	}
	return arr;
}

static const char *proto_name(int fd)
{
	int proto = xmcp_sock_protocol(fd);

	return proto == IPPROTO_MPTCP ? "mptcp" : proto == IPPROTO_TCP ? "tcp" : "?";
}

struct flows_ctx {
	json_object *arr;
	const struct policy *pol;
};

static void add_pair(void *arg, const struct relay_pair_info *pi)
{
	struct flows_ctx *c = arg;
	json_object *f = json_object_new_object();
	/* the leg whose subflows count: MPTCP toward the HAG on an HCPE, from the client elsewhere */
	int mfd = xmcp_sock_protocol(pi->server_fd) == IPPROTO_MPTCP ? pi->server_fd : pi->client_fd;

	json_object_object_add(f, "client", peer_json(pi->client_fd));
	json_object_object_add(f, "server", peer_json(pi->server_fd));
	json_object_object_add(f, "client_proto", json_object_new_string(proto_name(pi->client_fd)));
	json_object_object_add(f, "server_proto", json_object_new_string(proto_name(pi->server_fd)));
	json_object_object_add(f, "age", json_object_new_int64(pi->age));
	json_object_object_add(f, "bytes_up", json_object_new_int64(pi->bytes[0]));
	json_object_object_add(f, "bytes_down", json_object_new_int64(pi->bytes[1]));
	json_object_object_add(f, "connected", json_object_new_boolean(pi->connected));
	json_object_object_add(f, "in_kernel", json_object_new_boolean(pi->in_kernel));
	json_object_object_add(f, "subflows", xmcp_sock_protocol(mfd) == IPPROTO_MPTCP
						       ? subflows_json(mfd, c->pol)
						       : json_object_new_array());
	json_object_array_add(c->arr, f);
}

json_object *flows_json(struct relay *r, const struct policy *p)
{
	json_object *root = json_object_new_object();
	struct flows_ctx c = { .arr = json_object_new_array(), .pol = p };

	relay_foreach(r, add_pair, &c);
	json_object_object_add(root, "role", json_object_new_string(policy_role_name(p->role)));
	json_object_object_add(root, "flows", c.arr);
	return root;
}

/* Subflows of every pair that leave by path's device. */
static int path_subflows(json_object *flows, const char *path)
{
	json_object *arr = json_object_object_get(flows, "flows"), *sfs, *v;
	size_t i, k;
	int n = 0;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		sfs = json_object_object_get(json_object_array_get_idx(arr, i), "subflows");
		for (k = 0; sfs && k < json_object_array_length(sfs); k++) {
			v = json_object_object_get(json_object_array_get_idx(sfs, k), "path");
			n += v && !strcmp(json_object_get_string(v), path);
		}
	}
	return n;
}

json_object *summary_json(struct relay *r, const struct policy *p, const unsigned long long *class_sessions)
{
	json_object *root = json_object_new_object(), *paths = json_object_new_array(),
		    *classes = json_object_new_array(), *flows = flows_json(r, p);
	unsigned int i;

	for (i = 0; i < p->n_paths; i++) {
		const struct pol_path *pp = &p->paths[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(pp->name));
		json_object_object_add(o, "interface", json_object_new_string(pp->ifname));
		json_object_object_add(o, "access", json_object_new_string(pp->access));
		json_object_object_add(o, "backup", json_object_new_boolean(pp->backup));
		json_object_object_add(o, "rate_mbit", json_object_new_int64(pp->rate_mbit));
		json_object_object_add(o, "subflows", json_object_new_int(path_subflows(flows, pp->name)));
		json_object_array_add(paths, o);
	}
	for (i = 0; i < p->n_classes; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(p->classes[i].name));
		json_object_object_add(o, "sessions", json_object_new_int64(class_sessions ? class_sessions[i] : 0));
		json_object_object_add(o, "max_sessions", json_object_new_int64(p->classes[i].max_sessions));
		json_object_array_add(classes, o);
	}
	json_object_put(flows);
	json_object_object_add(root, "paths", paths);
	json_object_object_add(root, "classes", classes);
	return root;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "-";
}

static void print_flows(json_object *root)
{
	json_object *arr, *f, *sfs;
	size_t i, k;

	if (!json_object_object_get_ex(root, "flows", &arr))
		return;
	printf("%s: %zu pairs\n", str(root, "role"), json_object_array_length(arr));
	for (i = 0; i < json_object_array_length(arr); i++) {
		f = json_object_array_get_idx(arr, i);
		printf("%s (%s) -> %s (%s), %ss, %s bytes up, %s down%s\n", str(f, "client"),
		       str(f, "client_proto"), str(f, "server"), str(f, "server_proto"), str(f, "age"),
		       str(f, "bytes_up"), str(f, "bytes_down"),
		       json_object_get_boolean(json_object_object_get(f, "in_kernel")) ? ", in the kernel" : "");
		json_object_object_get_ex(f, "subflows", &sfs);
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
