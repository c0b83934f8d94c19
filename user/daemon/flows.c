// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's pairs as JSON, for the control socket: "flows" (each pair
 * with its legs and subflows, `xmcp flows`) and "summary" (subflows per
 * path, sessions per class, the daemon's counters: `xmcp stats`).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/mptcp.h>

#include <bpf/bpf.h>

#include "daemon/flows.h"
#include "daemon/health.h"
#include "kernel/netlink.h"
#include "lib/util.h"
#include "xmcp_maps.h"

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

/* The HAG's arrival map (bpf/steer.bpf.c), or -1: where a subflow's segments go back by. */
static int arrival_fd = -1;

void flows_set_arrival_map(int fd)
{
	arrival_fd = fd;
}

/* The device the HAG answers a subflow by, the one it arrived on (xmcp_steer.h); 0: none known. */
static int arrival_oif(const struct sockaddr_storage *local, const struct sockaddr_storage *remote)
{
	struct xmcp_flow_key k = { .rport = htons(xmcp_sa_port(remote)), .lport = htons(xmcp_sa_port(local)) };
	struct xmcp_arrival a;

	if (arrival_fd < 0)
		return 0;
	xmcp_addr_prefix(&k.remote, remote->ss_family == AF_INET, xmcp_sa_addr(remote), 0);
	xmcp_addr_prefix(&k.local, local->ss_family == AF_INET, xmcp_sa_addr(local), 0);
	return bpf_map_lookup_elem(arrival_fd, &k, &a) ? 0 : (int)a.ifindex;
}

/*
 * The path on ifname: with several HAGs, a device carries a path to each,
 * and the connection's mark (its first subflow's path) tells which HAG its
 * subflows go to. Else the one path on the device.
 */
static const struct pol_path *path_on(const struct policy *p, const char *ifname, __u32 mark)
{
	const struct pol_path *marked;
	int m = health_path_of(p, mark);
	unsigned int i;

	if (!p->n_hags || m < 0)
		return policy_path_of(p, ifname);
	marked = &p->paths[m];
	for (i = 0; i < p->n_paths; i++)
		if (!strcmp(p->paths[i].ifname, ifname) && p->paths[i].hag_rank == marked->hag_rank)
			return &p->paths[i];
	return policy_path_of(p, ifname);
}

/*
 * The path of a subflow: the device its packets to the peer leave by (the
 * HAG: the line the subflow arrived on; else a route lookup with the
 * socket's mark, the HCPE's path) (ifname, "" without a route) and the
 * policy's path there, or NULL.
 */
static const struct pol_path *subflow_path(const struct sockaddr_storage *local,
					   const struct sockaddr_storage *remote, __u32 mark, const struct policy *p,
					   char ifname[IF_NAMESIZE])
{
	int oif = arrival_oif(local, remote);

	if (oif <= 0)
		oif = nl_route_oif(remote->ss_family, xmcp_sa_addr(remote), NULL, mark);

	if (oif <= 0 || !if_indextoname(oif, ifname)) {
		ifname[0] = '\0';
		return NULL;
	}
	return path_on(p, ifname, mark);
}

static void add_path(json_object *sf, const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
		     __u32 mark, const struct policy *p)
{
	char ifname[IF_NAMESIZE];
	const struct pol_path *path = subflow_path(local, remote, mark, p, ifname);

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

/* The socket's SO_MARK (the HCPE's path, user/daemon/health.h), 0 if none. */
static __u32 sock_mark(int fd)
{
	__u32 mark = 0;
	socklen_t len = sizeof(mark);

	return getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) ? 0 : mark;
}

/* The subflows of an MPTCP socket, each with its path. */
static json_object *subflows_json(int fd, const struct policy *p)
{
	struct subflow_addrs buf;
	json_object *arr = json_object_new_array();
	unsigned int i, n = get_subflows(fd, &buf);
	__u32 mark = sock_mark(fd);

	for (i = 0; i < n; i++) {
		json_object *sf = json_object_new_object();
		struct sockaddr_storage l, r;

		subflow_addr(&buf, i, false, &l);
		subflow_addr(&buf, i, true, &r);
		json_object_object_add(sf, "local", sa_json(&l));
		json_object_object_add(sf, "remote", sa_json(&r));
		add_path(sf, &l, &r, mark, p);
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
	unsigned int worker;
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
	json_object_object_add(f, "worker", json_object_new_int(c->worker));
	json_object_object_add(f, "subflows", mfd >= 0 ? subflows_json(mfd, c->pol) : json_object_new_array());
	json_object_array_add(c->arr, f);
}

void flows_add(json_object *arr, struct relay *r, const struct policy *p, unsigned int worker)
{
	struct flows_ctx c = { .arr = arr, .pol = p, .worker = worker };

	relay_foreach(r, add_pair, &c);
}

json_object *flows_json(json_object *arr, const struct policy *p)
{
	json_object *root = json_object_new_object();

	json_object_object_add(root, "role", json_object_new_string(policy_role_name(p->role)));
	json_object_object_add(root, "flows", arr);
	return root;
}

/* Each pair's subflows, counted by the policy path they leave by (paths[i] -> n[i]). */
struct path_count {
	const struct policy *pol;
	int *n;
};

static void count_pair(void *arg, const struct relay_pair_info *pi)
{
	struct path_count *c = arg;
	struct subflow_addrs buf;
	struct sockaddr_storage l, r;
	char ifname[IF_NAMESIZE];
	int mfd = mptcp_leg(pi);
	unsigned int i, n = mfd >= 0 ? get_subflows(mfd, &buf) : 0;
	__u32 mark = mfd >= 0 ? sock_mark(mfd) : 0;

	for (i = 0; i < n; i++) {
		const struct pol_path *path;

		subflow_addr(&buf, i, false, &l);
		subflow_addr(&buf, i, true, &r);
		path = subflow_path(&l, &r, mark, c->pol, ifname);
		if (path)
			c->n[path - c->pol->paths]++;
	}
}

void summary_count_paths(struct relay *r, const struct policy *p, int *path_subflows)
{
	struct path_count counts = { .pol = p, .n = path_subflows };

	/* no JSON of every flow on the way: a scrape of thousands of pairs should stay cheap */
	relay_foreach(r, count_pair, &counts);
}

/*
 * HCPE with several HAGs: [{"name", "active", "paths": [names]}] in the
 * policy's order; active: the one new connections go to (the best path's).
 */
static json_object *hags_json(const struct policy *p)
{
	json_object *hags = json_object_new_array();
	unsigned int order[POL_MAX_PATHS], r, i, active = 0;

	if (health_order(order))
		active = p->paths[order[0]].hag_rank;
	for (r = 0; r < p->n_hags; r++) {
		json_object *o = json_object_new_object(), *names = json_object_new_array();
		const char *name = "";

		for (i = 0; i < p->n_paths; i++)
			if (p->paths[i].hag_rank == r) {
				name = p->paths[i].hag;
				json_object_array_add(names, json_object_new_string(p->paths[i].name));
			}
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "active", json_object_new_boolean(r == active));
		json_object_object_add(o, "paths", names);
		json_object_array_add(hags, o);
	}
	return hags;
}

json_object *summary_json(const int *path_subflows, const struct policy *p, const unsigned long long *class_sessions)
{
	json_object *root = json_object_new_object(), *paths = json_object_new_array(),
		    *classes = json_object_new_array();
	unsigned int i;

	for (i = 0; i < p->n_paths; i++) {
		const struct pol_path *pp = &p->paths[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(pp->name));
		json_object_object_add(o, "interface", json_object_new_string(pp->ifname));
		json_object_object_add(o, "access", json_object_new_string(pp->access));
		json_object_object_add(o, "backup", json_object_new_boolean(pp->backup));
		json_object_object_add(o, "rate_mbit", json_object_new_int64(pp->rate_mbit));
		if (pp->hag[0])
			json_object_object_add(o, "hag", json_object_new_string(pp->hag));
		json_object_object_add(o, "subflows", json_object_new_int(path_subflows[i]));
		json_object *h = health_json(i);

		if (h)
			json_object_object_add(o, "health", h);
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
	if (p->n_hags)
		json_object_object_add(root, "hags", hags_json(p));
	return root;
}
