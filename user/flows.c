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

/*
 * The path of a subflow: the device its packets to the peer leave by
 * (ifname, "" without a route) and the policy's path there, or NULL.
 */
static const struct pol_path *subflow_path(const struct sockaddr_storage *remote, const struct policy *p,
					   char ifname[IF_NAMESIZE])
{
	int oif = nl_route_oif(remote->ss_family, xmcp_sa_addr(remote), NULL);

	if (oif <= 0 || !if_indextoname(oif, ifname)) {
		ifname[0] = '\0';
		return NULL;
	}
	return policy_path_of(p, ifname);
}

static void add_path(json_object *sf, const struct sockaddr_storage *remote, const struct policy *p)
{
	char ifname[IF_NAMESIZE];
	const struct pol_path *path = subflow_path(remote, p, ifname);

	if (!ifname[0])
		return;
	json_object_object_add(sf, "interface", json_object_new_string(ifname));
	if (!path)
		return;
	json_object_object_add(sf, "path", json_object_new_string(path->name));
	json_object_object_add(sf, "access", json_object_new_string(path->access));
	json_object_object_add(sf, "backup", json_object_new_boolean(path->backup));
}

struct subflow_addrs {
	struct mptcp_subflow_data d;
	struct mptcp_subflow_addrs a[MAX_SUBFLOWS];
};

/* The subflows' addresses of an MPTCP socket (MPTCP_SUBFLOW_ADDRS); how many, 0 when it fell back. */
static unsigned int get_subflows(int fd, struct subflow_addrs *buf)
{
	socklen_t len = sizeof(*buf);

	memset(buf, 0, sizeof(*buf));
	buf->d.size_subflow_data = sizeof(struct mptcp_subflow_data);
	buf->d.size_user = sizeof(struct mptcp_subflow_addrs);
	if (getsockopt(fd, SOL_MPTCP, MPTCP_SUBFLOW_ADDRS, buf, &len))
		return 0;
	return buf->d.num_subflows < MAX_SUBFLOWS ? buf->d.num_subflows : MAX_SUBFLOWS;
}

/* Subflow i's address, side local or remote, as a sockaddr_storage. */
static void subflow_addr(const struct subflow_addrs *buf, unsigned int i, bool remote,
			 struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out, remote ? (const void *)&buf->a[i].ss_remote : (const void *)&buf->a[i].ss_local,
	       sizeof(buf->a[i].ss_remote));
}

/* The subflows of an MPTCP socket, each with its path. */
static json_object *subflows_json(int fd, const struct policy *p)
{
	struct subflow_addrs buf;
	json_object *arr = json_object_new_array();
	unsigned int i, n = get_subflows(fd, &buf);

	for (i = 0; i < n; i++) {
		json_object *sf = json_object_new_object();
		struct sockaddr_storage l, r;

		subflow_addr(&buf, i, false, &l);
		subflow_addr(&buf, i, true, &r);
		json_object_object_add(sf, "local", sa_json(&l));
		json_object_object_add(sf, "remote", sa_json(&r));
		add_path(sf, &r, p);
		json_object_array_add(arr, sf);
	}
	return arr;
}

/* The leg whose subflows count: MPTCP toward the HAG on an HCPE, from the client elsewhere; -1 if none. */
static int mptcp_leg(const struct relay_pair_info *pi)
{
	if (xmcp_sock_protocol(pi->server_fd) == IPPROTO_MPTCP)
		return pi->server_fd;
	return xmcp_sock_protocol(pi->client_fd) == IPPROTO_MPTCP ? pi->client_fd : -1;
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
	int mfd = mptcp_leg(pi);

	json_object_object_add(f, "client", peer_json(pi->client_fd));
	json_object_object_add(f, "server", peer_json(pi->server_fd));
	json_object_object_add(f, "client_proto", json_object_new_string(proto_name(pi->client_fd)));
	json_object_object_add(f, "server_proto", json_object_new_string(proto_name(pi->server_fd)));
	json_object_object_add(f, "age", json_object_new_int64(pi->age));
	json_object_object_add(f, "bytes_up", json_object_new_int64(pi->bytes[0]));
	json_object_object_add(f, "bytes_down", json_object_new_int64(pi->bytes[1]));
	json_object_object_add(f, "connected", json_object_new_boolean(pi->connected));
	json_object_object_add(f, "subflows", mfd >= 0 ? subflows_json(mfd, c->pol) : json_object_new_array());
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

/* Each pair's subflows, counted by the policy path they leave by (paths[i] -> n[i]). */
struct path_count {
	const struct policy *pol;
	int n[POL_MAX_PATHS];
};

static void count_pair(void *arg, const struct relay_pair_info *pi)
{
	struct path_count *c = arg;
	struct subflow_addrs buf;
	struct sockaddr_storage r;
	char ifname[IF_NAMESIZE];
	int mfd = mptcp_leg(pi);
	unsigned int i, n = mfd >= 0 ? get_subflows(mfd, &buf) : 0;

	for (i = 0; i < n; i++) {
		const struct pol_path *path;

		subflow_addr(&buf, i, true, &r);
		path = subflow_path(&r, c->pol, ifname);
		if (path)
			c->n[path - c->pol->paths]++;
	}
}

json_object *summary_json(struct relay *r, const struct policy *p, const unsigned long long *class_sessions)
{
	json_object *root = json_object_new_object(), *paths = json_object_new_array(),
		    *classes = json_object_new_array();
	struct path_count counts = { .pol = p };
	unsigned int i;

	/* no JSON of every flow on the way: a scrape of thousands of pairs should stay cheap */
	relay_foreach(r, count_pair, &counts);

	for (i = 0; i < p->n_paths; i++) {
		const struct pol_path *pp = &p->paths[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(pp->name));
		json_object_object_add(o, "interface", json_object_new_string(pp->ifname));
		json_object_object_add(o, "access", json_object_new_string(pp->access));
		json_object_object_add(o, "backup", json_object_new_boolean(pp->backup));
		json_object_object_add(o, "rate_mbit", json_object_new_int64(pp->rate_mbit));
		json_object_object_add(o, "subflows", json_object_new_int(counts.n[i]));
		json_object_array_add(paths, o);
	}
	for (i = 0; i < p->n_classes; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(p->classes[i].name));
		json_object_object_add(o, "sessions", json_object_new_int64(class_sessions ? class_sessions[i] : 0));
		json_object_object_add(o, "max_sessions", json_object_new_int64(p->classes[i].max_sessions));
		json_object_array_add(classes, o);
	}
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
