// SPDX-License-Identifier: GPL-2.0
/* The counters of `xmcp stats`, read from the maps (pinned, or found through the devices) and printed as a table, JSON or Prometheus text. */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "kernel/datapath.h"
#include "kernel/pins.h"
#include "kernel/stats.h"
#include "lib/util.h"
#include "xmcp_maps.h"

struct path_bytes {
	char dev[16];
	struct xmcp_path_stats v;
};

struct stats {
	bool pins_here; /* the pin directory is this namespace's (pins_here) */
	struct xmcp_xdp_stats xdp;
	struct xmcp_tc_stats tc;
	struct xmcp_daemon_stats daemon;
	unsigned int n_paths;
	struct path_bytes paths[XMCP_MAX_IFACES];
	json_object *summary; /* the daemon's paths and classes, or NULL */
};

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static __u64 int_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (__u64)json_object_get_int64(v) : 0;
}

/* The summary's list `key` ("paths", "classes"), or NULL (also when it is no list). */
static json_object *summary_list(const struct stats *s, const char *key)
{
	return xmcp_json_array(s->summary, key);
}

int stats_percpu_sum(int fd, void *out, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	size_t stride = (value_size + 7) & ~(size_t)7, i, w, words = value_size / 8;
	__u64 *vals, *sum = out;
	__u32 key = 0;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, stride);
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals))
		err = -errno;
	memset(out, 0, value_size);
	for (i = 0; !err && i < (size_t)ncpu; i++)
		for (w = 0; w < words; w++)
			sum[w] += vals[i * stride / 8 + w];
	free(vals);
	return err;
}

/* Names the kernel keeps whole (it cuts them at 15 characters): dp_find_map compares them. */
#define FITS(m) _Static_assert(sizeof(XMCP_STR(m)) <= BPF_OBJ_NAME_LEN, XMCP_STR(m) " is cut in the kernel")
FITS(XMCP_MAP_XDP_STATS);
FITS(XMCP_MAP_TC_STATS);
FITS(XMCP_MAP_PATH_STATS);
FITS(XMCP_MAP_IFACES);
#undef FITS

/*
 * Whether the pin directory holds this namespace's maps: no device record
 * in it names another namespace (the default directory seen from another
 * namespace by `nsenter --net`, or a --pin-dir shared by mistake).
 */
static bool pins_here(void)
{
	int reg = pins_open_map_quiet(xmcp_pin_dir, XMCP_STR(XMCP_MAP_IFACES));
	__u32 key, *prev = NULL;
	struct xmcp_iface rec;
	bool here = true;
	__u64 ino;

	if (reg < 0)
		return true; /* nothing says otherwise: the maps themselves decide */
	if (xmcp_netns_ino(&ino))
		ino = 0;
	while (here && ino && !bpf_map_get_next_key(reg, prev, &key)) {
		prev = &key;
		if (!bpf_map_lookup_elem(reg, &key, &rec) && rec.netns_ino != ino)
			here = false;
	}
	close(reg);
	return here;
}

/* fd's map has the key and value sizes this xmcp reads it with: -EPROTO (said why) if not. */
static int check_layout(int fd, const char *name, __u32 key_size, __u32 value_size)
{
	struct bpf_map_info mi = { 0 };
	__u32 len = sizeof(mi);

	if (!bpf_obj_get_info_by_fd(fd, &mi, &len) && mi.key_size == key_size && mi.value_size == value_size)
		return 0;
	xmcp_err("%s does not have this xmcp's layout (key %u, value %u bytes; this xmcp reads %u, %u): "
		 "another build's? 'xmcp detach --all' removes the old state",
		 name, mi.key_size, mi.value_size, key_size, value_size);
	return -EPROTO;
}

/*
 * The map NAME, with the given key and value sizes: pinned in the pin
 * directory when that is this namespace's, else found through the
 * programs on this namespace's devices (dp_find_map: a command started by
 * `ip netns exec` does not see the pins of another). Says why when neither
 * finds it, unless quiet; a map of another layout is never read.
 */
static int open_map(const struct stats *s, const char *name, __u32 key_size, __u32 value_size, bool quiet)
{
	int fd = s->pins_here ? pins_open_map_quiet(xmcp_pin_dir, name) : -ENOENT;

	if (fd == -ENOENT)
		fd = dp_find_map(name);
	if (fd >= 0 && check_layout(fd, name, key_size, value_size)) {
		close(fd);
		return -EPROTO;
	}
	if (fd >= 0 || quiet)
		return fd;
	if (fd == -ENOENT)
		xmcp_err("xmcp is not attached anywhere in this network namespace (no %s/%s, and "
			 "no device has xmcp's programs); 'xmcp attach DEV' first",
			 xmcp_pin_dir, name);
	else if (fd == -ENOTUNIQ)
		xmcp_err("two xmcp instances in this network namespace have a %s: name the one meant "
			 "with --pin-dir", name);
	else
		xmcp_err("cannot open %s: %s", name, strerror(-fd));
	return fd;
}

static int read_percpu_u64s(const struct stats *s, const char *name, void *out, size_t value_size)
{
	int fd = open_map(s, name, sizeof(__u32), value_size, false), err;

	if (fd < 0)
		return fd;
	err = stats_percpu_sum(fd, out, value_size);
	if (err)
		xmcp_err("cannot read %s/%s: %s", xmcp_pin_dir, name, strerror(-err));
	close(fd);
	return err;
}

static __u64 field(const struct xmcp_class_counts *c, unsigned int i)
{
	return ((const __u64 *)c)[i];
}

/* The single-number counters, each once: name (JSON and Prometheus), where, and what it means. */
enum src { XDP, TC, DAEMON };
static const struct scalar {
	const char *name;
	enum src src;
	size_t off;
	const char *help;
} scalars[] = {
#define X(n, s, type, f, h) { n, s, offsetof(type, f), h }
	X("meta_unavailable", XDP, struct xmcp_xdp_stats, meta_unavailable, "Packets the driver gave no room for metadata."),
	X("tc_no_meta", TC, struct xmcp_tc_stats, no_meta, "Packets that reached tc without metadata."),
	X("steered", TC, struct xmcp_tc_stats, steered, "SYNs handed to the daemon's listener."),
	X("flow_marked", TC, struct xmcp_tc_stats, flow_marked, "Segments of the daemon's flows marked for local delivery."),
	X("no_listener", TC, struct xmcp_tc_stats, no_listener, "SYNs to steer while the daemon's listener was missing."),
	X("not_subscriber", TC, struct xmcp_tc_stats, not_subscriber, "MPTCP SYNs from outside the subscriber prefixes, left alone."),
	X("mcp_invalid", XDP, struct xmcp_xdp_stats, mcp_invalid, "MCP: SYNs with an invalid MP_CONVERT, dropped in XDP."),
	X("origin_not_subscriber", XDP, struct xmcp_xdp_stats, origin_not_subscriber, "MPTCP SYNs from outside the subscriber prefixes, dropped in XDP (MCP; HAG with origin_check)."),
	X("bad_addr", TC, struct xmcp_tc_stats, bad_addr, "SYNs to steer from or to an address no relayed connection may have, dropped."),
	X("local_dest", TC, struct xmcp_tc_stats, local_dest, "SYNs to steer addressed to this gateway itself, left to its own stack."),
	X("fd_exhausted", DAEMON, struct xmcp_daemon_stats, fd_exhausted, "Times the daemon ran out of file descriptors and paused its listeners for a second."),
	X("fd_refused", DAEMON, struct xmcp_daemon_stats, fd_refused, "Connections reset for want of a file descriptor."),
	X("no_head", DAEMON, struct xmcp_daemon_stats, no_head, "Connections reset before their MP_CONVERT head arrived (head_timeout, or closed first)."),
	X("dest_refused", DAEMON, struct xmcp_daemon_stats, dest_refused, "Server legs refused by the destination check (special, forbidden or local addresses)."),
	X("convert_no_mpc", TC, struct xmcp_tc_stats, convert_no_mpc, "MP_CONVERT SYNs without MP_CAPABLE, ignored."),
	X("passed_transparent", TC, struct xmcp_tc_stats, passed_transparent, "HAG: MPTCP SYNs let through by a transparent rule."),
	X("passed_learned", TC, struct xmcp_tc_stats, passed_learned, "HAG: MPTCP SYNs let through to a server learned MPTCP-capable (hybrid)."),
	X("synack_not_ours", TC, struct xmcp_tc_stats, synack_not_ours, "HAG: SYN+ACKs with MP_CAPABLE that answered no SYN of the daemon's: not learned from (hybrid)."),
	X("learned", TC, struct xmcp_tc_stats, learned, "HAG: SYN+ACKs with MP_CAPABLE that taught or refreshed a server (hybrid)."),
	X("malformed_dropped", XDP, struct xmcp_xdp_stats, malformed_dropped, "Frames xmcp cannot parse arriving on an access device, dropped in XDP."),
	X("bad_source", XDP, struct xmcp_xdp_stats, bad_source, "IPv6 frames from an IPv4-mapped source arriving on an access device, dropped in XDP."),
	X("syn_rate_limited", XDP, struct xmcp_xdp_stats, syn_rate_limited, "SYNs over their subscriber class's rate, dropped in XDP."),
	X("join_over_limit", XDP, struct xmcp_xdp_stats, join_over_limit, "MP_JOIN SYNs past their connection's subflow limit, dropped in XDP."),
	X("sessions_refused", DAEMON, struct xmcp_daemon_stats, sessions_refused, "Connections reset: the subscriber was at its class's max_sessions."),
	X("pairs_opened", DAEMON, struct xmcp_daemon_stats, pairs_opened, "Pairs the daemon relayed."),
	X("pairs_closed", DAEMON, struct xmcp_daemon_stats, pairs_closed, "Pairs that ended with a close."),
	X("pairs_aborted", DAEMON, struct xmcp_daemon_stats, pairs_aborted, "Pairs that ended with a reset."),
	X("pairs_active", DAEMON, struct xmcp_daemon_stats, pairs_active, "Pairs open now (a gauge)."),
	X("connect_failed", DAEMON, struct xmcp_daemon_stats, connect_failed, "Server legs that failed to connect."),
	X("idle_expired", DAEMON, struct xmcp_daemon_stats, idle_expired, "Pairs reset after their idle lifetime."),
	X("bytes_up", DAEMON, struct xmcp_daemon_stats, bytes_up, "Bytes relayed client to server."),
	X("bytes_down", DAEMON, struct xmcp_daemon_stats, bytes_down, "Bytes relayed server to client."),
#undef X
};
#define N_SCALARS (sizeof(scalars) / sizeof(scalars[0]))

static __u64 scalar(const struct stats *s, const struct scalar *c)
{
	const void *base = c->src == XDP ? (const void *)&s->xdp : c->src == TC ? (const void *)&s->tc
										   : (const void *)&s->daemon;

	return *(const __u64 *)((const char *)base + c->off);
}

/* The summary's path whose interface is dev, or NULL. */
static json_object *path_of_dev(const struct stats *s, const char *dev)
{
	json_object *paths = summary_list(s, "paths");
	size_t k;

	for (k = 0; paths && k < json_object_array_length(paths); k++)
		if (!strcmp(str_of(json_object_array_get_idx(paths, k), "interface"), dev))
			return json_object_array_get_idx(paths, k);
	return NULL;
}

/* {"NAME": {"active", "paths": {"PATH": health}}} from the daemon's summary; NULL without HAGs */
static json_object *hags_json(const struct stats *s)
{
	json_object *hags = summary_list(s, "hags"), *paths = summary_list(s, "paths"), *o, *names, *v;
	size_t k, j, i;

	if (!hags)
		return NULL;
	o = json_object_new_object();
	for (k = 0; k < json_object_array_length(hags); k++) {
		json_object *h = json_object_array_get_idx(hags, k), *e = json_object_new_object(),
			    *ps = json_object_new_object();

		json_object_object_add(e, "active", json_object_new_boolean(json_object_object_get_ex(h, "active", &v) &&
									       json_object_get_boolean(v)));
		/* 0 the primary, then the standbys in the policy's order */
		json_object_object_add(e, "rank", json_object_new_int64(k));
		for (j = 0; json_object_object_get_ex(h, "paths", &names) && j < json_object_array_length(names); j++) {
			const char *name = json_object_get_string(json_object_array_get_idx(names, j));

			for (i = 0; paths && i < json_object_array_length(paths); i++)
				if (!strcmp(str_of(json_object_array_get_idx(paths, i), "name"), name) &&
				    json_object_object_get_ex(json_object_array_get_idx(paths, i), "health", &v))
					json_object_object_add(ps, name, json_object_get(v));
		}
		json_object_object_add(e, "paths", ps);
		json_object_object_add(o, str_of(h, "name"), e);
	}
	return o;
}

/* "HAGs: a (active): fixed-a up, mobile-a up; s: fixed-s up, mobile-s down" */
static void print_hags(FILE *f, const struct stats *s)
{
	json_object *hags = hags_json(s);
	const char *sep = "\nHAGs: ";

	if (!hags)
		return;
	json_object_object_foreach(hags, name, h)
	{
		json_object *v, *ps;
		const char *comma = ": ";

		fprintf(f, "%s%s%s", sep, name,
			json_object_object_get_ex(h, "active", &v) && json_object_get_boolean(v) ? " (active)" : "");
		if (json_object_object_get_ex(h, "paths", &ps)) {
			json_object_object_foreach(ps, path, health)
			{
				fprintf(f, "%s%s %s", comma, path, str_of(health, "state"));
				comma = ", ";
			}
		}
		sep = "; ";
	}
	fprintf(f, "\n");
	json_object_put(hags);
}

/* Per access device: MPTCP subflow traffic, and the path's name, type and subflows when a daemon says. */
static json_object *paths_json(const struct stats *s)
{
	json_object *o = json_object_new_object();
	unsigned int i;

	for (i = 0; i < s->n_paths; i++) {
		json_object *d = json_object_new_object(), *p = path_of_dev(s, s->paths[i].dev);

		json_object_object_add(d, "rx_packets", json_object_new_int64(s->paths[i].v.rx_packets));
		json_object_object_add(d, "rx_bytes", json_object_new_int64(s->paths[i].v.rx_bytes));
		json_object_object_add(d, "tx_packets", json_object_new_int64(s->paths[i].v.tx_packets));
		json_object_object_add(d, "tx_bytes", json_object_new_int64(s->paths[i].v.tx_bytes));
		json_object_object_add(d, "tx_by_arrival", json_object_new_int64(s->paths[i].v.tx_by_arrival));
		if (p) {
			json_object *h;

			json_object_object_add(d, "path", json_object_new_string(str_of(p, "name")));
			json_object_object_add(d, "access", json_object_new_string(str_of(p, "access")));
			json_object_object_add(d, "subflows", json_object_new_int64(int_of(p, "subflows")));
			if (json_object_object_get_ex(p, "health", &h))
				json_object_object_add(d, "health", json_object_get(h));
		}
		json_object_object_add(o, s->paths[i].dev, d);
	}
	return o;
}

static json_object *classes_json(const struct stats *s)
{
	json_object *o = json_object_new_object(), *classes = summary_list(s, "classes");
	size_t k;

	for (k = 0; classes && k < json_object_array_length(classes); k++) {
		json_object *c = json_object_array_get_idx(classes, k), *d = json_object_new_object();

		json_object_object_add(d, "sessions", json_object_new_int64(int_of(c, "sessions")));
		json_object_object_add(d, "max_sessions", json_object_new_int64(int_of(c, "max_sessions")));
		json_object_object_add(o, str_of(c, "name"), d);
	}
	return o;
}

/* The daemon's relay workers, each {worker, port, pairs_opened, pairs_active}; [] without a daemon. */
static json_object *workers_json(const struct stats *s)
{
	json_object *o = json_object_new_array(), *ws = summary_list(s, "workers");
	size_t k;

	for (k = 0; ws && k < json_object_array_length(ws); k++) {
		json_object *w = json_object_array_get_idx(ws, k), *d = json_object_new_object();

		json_object_object_add(d, "worker", json_object_new_int64(int_of(w, "worker")));
		json_object_object_add(d, "port", json_object_new_int64(int_of(w, "port")));
		json_object_object_add(d, "pairs_opened", json_object_new_int64(int_of(w, "pairs_opened")));
		json_object_object_add(d, "pairs_active", json_object_new_int64(int_of(w, "pairs_active")));
		json_object_array_add(o, d);
	}
	return o;
}

/* The daemon's announcement, if it makes one: an MCP's under "anycast", a HAG's under "announce". */
static json_object *announcement(const struct stats *s, const char **key)
{
	static const char *const keys[] = { "anycast", "announce" };
	json_object *o;
	unsigned int i;

	for (i = 0; s->summary && i < 2; i++)
		if (json_object_object_get_ex(s->summary, keys[i], &o)) {
			*key = keys[i];
			return o;
		}
	return NULL;
}

static json_object *stats_json(const struct stats *s)
{
	json_object *root = json_object_new_object(), *cls = json_object_new_object(),
		    *mf = json_object_new_object(), *any;
	const char *key;
	unsigned int i;

	for (i = 0; i < XMCP_CLASS_MAX; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "packets", json_object_new_int64(field(&s->xdp.packets, i)));
		json_object_object_add(c, "bytes", json_object_new_int64(field(&s->xdp.bytes, i)));
		json_object_object_add(c, "tc", json_object_new_int64(field(&s->tc.meta, i)));
		json_object_object_add(cls, xmcp_class_name(i), c);
	}
	for (i = 1; i < XMCP_MF_MAX; i++)
		json_object_object_add(mf, xmcp_malformed_name(i),
				       json_object_new_int64(((const __u64 *)&s->xdp.malformed)[i - 1]));
	json_object_object_add(root, "classes", cls);
	json_object_object_add(root, "malformed", mf);
	for (i = 0; i < N_SCALARS; i++)
		json_object_object_add(root, scalars[i].name, json_object_new_int64(scalar(s, &scalars[i])));
	json_object_object_add(root, "paths", paths_json(s));
	json_object_object_add(root, "subscriber_classes", classes_json(s));
	json_object_object_add(root, "workers", workers_json(s));
	/* an HCPE's HAGs, each with its paths' health: a device may carry a path to each */
	if ((any = hags_json(s)))
		json_object_object_add(root, "hags", any);
	/* an anycast MCP's or a HAG's announcement (the daemon's summary has it only then) */
	if ((any = announcement(s, &key)))
		json_object_object_add(root, key, json_object_get(any));
	return root;
}

/* "relay workers (pairs open/opened): 0: 3/10, 1: 2/12" */
static void print_workers(FILE *f, const struct stats *s)
{
	json_object *ws = summary_list(s, "workers");
	size_t k;

	if (!ws || !json_object_array_length(ws))
		return;
	fprintf(f, "\nrelay workers (pairs open/opened):");
	for (k = 0; k < json_object_array_length(ws); k++) {
		json_object *w = json_object_array_get_idx(ws, k);

		fprintf(f, "%s %llu: %llu/%llu", k ? "," : "", (unsigned long long)int_of(w, "worker"),
			(unsigned long long)int_of(w, "pairs_active"), (unsigned long long)int_of(w, "pairs_opened"));
	}
	fprintf(f, "\n");
}

/* ", up since 10:02:03, RTT 0.4 ms, 0% of probes lost": a path's health, when the daemon has it */
static void print_health(FILE *f, json_object *p)
{
	json_object *h, *rtt;
	time_t since;
	char when[16];

	if (!p || !json_object_object_get_ex(p, "health", &h))
		return;
	since = int_of(h, "since");
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&since));
	fprintf(f, ", %s since %s", str_of(h, "state"), when);
	if (json_object_object_get_ex(h, "rtt_ms", &rtt))
		fprintf(f, ", RTT %.1f ms", json_object_get_double(rtt));
	fprintf(f, ", %llu%% of probes lost", (unsigned long long)int_of(h, "loss_percent"));
}

static void print_paths_table(FILE *f, const struct stats *s)
{
	json_object *classes = summary_list(s, "classes");
	unsigned int i;
	size_t k;

	if (s->n_paths)
		fprintf(f, "\nMPTCP subflows of converted connections, by access device:\n");
	for (i = 0; i < s->n_paths; i++) {
		json_object *p = path_of_dev(s, s->paths[i].dev);
		const struct xmcp_path_stats *v = &s->paths[i].v;

		fprintf(f, "  %-8s in %llu packets %llu bytes, out %llu packets %llu bytes", s->paths[i].dev,
			(unsigned long long)v->rx_packets, (unsigned long long)v->rx_bytes,
			(unsigned long long)v->tx_packets, (unsigned long long)v->tx_bytes);
		if (v->tx_by_arrival)
			fprintf(f, " (%llu sent back by arrival)", (unsigned long long)v->tx_by_arrival);
		if (p)
			fprintf(f, "; path %s (%s), %llu subflows now", str_of(p, "name"), str_of(p, "access"),
				(unsigned long long)int_of(p, "subflows"));
		print_health(f, p);
		fprintf(f, "\n");
	}
	if (classes && json_object_array_length(classes))
		fprintf(f, "\nsessions by subscriber class:");
	for (k = 0; classes && k < json_object_array_length(classes); k++) {
		json_object *c = json_object_array_get_idx(classes, k);

		fprintf(f, " %s=%llu", str_of(c, "name"), (unsigned long long)int_of(c, "sessions"));
		if (int_of(c, "max_sessions"))
			fprintf(f, "/%llu", (unsigned long long)int_of(c, "max_sessions"));
	}
	if (classes && json_object_array_length(classes))
		fprintf(f, "\n");
	print_hags(f, s);
	print_workers(f, s);
}

/* "anycast: device xmcp-anycast, announced" (or "withdrawn, draining"; "announce: ..." on a HAG) */
static void print_anycast(FILE *f, const struct stats *s)
{
	json_object *any, *v;
	const char *key;

	if (!(any = announcement(s, &key)))
		return;
	fprintf(f, "\n%s: device %s, %s%s\n", key, str_of(any, "device"),
		json_object_object_get_ex(any, "announced", &v) && json_object_get_boolean(v) ? "announced" : "withdrawn",
		json_object_object_get_ex(any, "draining", &v) && json_object_get_boolean(v) ? ", draining" : "");
}

static void print_table(FILE *f, const struct stats *s)
{
	unsigned int i;

	fprintf(f, "%-24s %12s %14s %12s\n", "class", "packets", "bytes", "seen by tc");
	for (i = 0; i < XMCP_CLASS_MAX; i++)
		fprintf(f, "%-24s %12llu %14llu %12llu\n", xmcp_class_name(i),
		       (unsigned long long)field(&s->xdp.packets, i),
		       (unsigned long long)field(&s->xdp.bytes, i),
		       (unsigned long long)field(&s->tc.meta, i));
	fprintf(f, "\nmalformed, by reason:");
	for (i = 1; i < XMCP_MF_MAX; i++)
		fprintf(f, " %s=%llu", xmcp_malformed_name(i),
		       (unsigned long long)((const __u64 *)&s->xdp.malformed)[i - 1]);
	fprintf(f, "\n\n");
	for (i = 0; i < N_SCALARS; i++)
		fprintf(f, "%-20s %12llu  %s\n", scalars[i].name, (unsigned long long)scalar(s, &scalars[i]),
		       scalars[i].help);
	print_paths_table(f, s);
	print_anycast(f, s);
}

/* One counter family: HELP and TYPE, then its samples (label NULL: a single sample). */
static void prom_family(FILE *f, const char *name, const char *help, const char *type)
{
	fprintf(f, "# HELP xmcp_%s %s\n# TYPE xmcp_%s %s\n", name, help, name, type);
}

/* label="value", the value escaped as the text format wants (names come from the policy) */
static void prom_label(FILE *f, const char *label, const char *value)
{
	fprintf(f, "%s=\"", label);
	for (; *value; value++)
		if (*value == '\\' || *value == '"')
			fprintf(f, "\\%c", *value);
		else if (*value == '\n')
			fputs("\\n", f);
		else
			fputc(*value, f);
	fputc('"', f);
}

static void prom_sample(FILE *f, const char *name, const char *label, const char *value, __u64 v)
{
	fprintf(f, "xmcp_%s", name);
	if (label) {
		fputc('{', f);
		prom_label(f, label, value);
		fputc('}', f);
	}
	fprintf(f, " %llu\n", (unsigned long long)v);
}

/* A sample with two labels. */
static void prom_sample2(FILE *f, const char *name, const char *l1, const char *v1, const char *l2,
			 const char *v2, __u64 v)
{
	fprintf(f, "xmcp_%s{", name);
	prom_label(f, l1, v1);
	fputc(',', f);
	prom_label(f, l2, v2);
	fprintf(f, "} %llu\n", (unsigned long long)v);
}

/* Each relay worker's pairs: how evenly the steering spreads them. */
static void prom_workers(FILE *f, const struct stats *s)
{
	json_object *ws = summary_list(s, "workers");
	char id[16];
	size_t k;

	if (!ws)
		return;
	prom_family(f, "worker_pairs_opened_total", "Pairs opened, by relay worker.", "counter");
	for (k = 0; k < json_object_array_length(ws); k++) {
		json_object *w = json_object_array_get_idx(ws, k);

		snprintf(id, sizeof(id), "%llu", (unsigned long long)int_of(w, "worker"));
		prom_sample(f, "worker_pairs_opened_total", "worker", id, int_of(w, "pairs_opened"));
	}
	prom_family(f, "worker_pairs_active", "Pairs open now, by relay worker.", "gauge");
	for (k = 0; k < json_object_array_length(ws); k++) {
		json_object *w = json_object_array_get_idx(ws, k);

		snprintf(id, sizeof(id), "%llu", (unsigned long long)int_of(w, "worker"));
		prom_sample(f, "worker_pairs_active", "worker", id, int_of(w, "pairs_active"));
	}
}

/* HCPE with "health": each path's state (0 up, 1 demoted, 2 down), probes and loss. */
static void prom_health(FILE *f, json_object *paths)
{
	static const char *const states[] = { "up", "demoted", "down" };
	const struct {
		const char *name, *help, *type, *key;
	} m[] = {
		{ "path_probes_total", "Probes sent out of the path.", "counter", "probes" },
		{ "path_probes_lost_total", "Probes unanswered within the timeout.", "counter", "probes_lost" },
		{ "path_loss_percent", "Share of the path's last probes lost.", "gauge", "loss_percent" },
		{ "path_state_since_seconds", "When the path's state last changed (Unix time).", "gauge", "since" },
	};
	json_object *h;
	size_t k, j, n = paths ? json_object_array_length(paths) : 0;

	for (k = 0; k < n && !json_object_object_get_ex(json_object_array_get_idx(paths, k), "health", &h); k++)
		;
	if (k == n)
		return;
	prom_family(f, "path_state", "The path's health: 0 up, 1 demoted, 2 down.", "gauge");
	for (k = 0; k < n; k++) {
		json_object *p = json_object_array_get_idx(paths, k);

		for (j = 0; j < 3 && json_object_object_get_ex(p, "health", &h) && strcmp(str_of(h, "state"), states[j]); j++)
			;
		if (j < 3)
			prom_sample(f, "path_state", "path", str_of(p, "name"), j);
	}
	for (j = 0; j < sizeof(m) / sizeof(m[0]); j++) {
		prom_family(f, m[j].name, m[j].help, m[j].type);
		for (k = 0; k < n; k++) {
			json_object *p = json_object_array_get_idx(paths, k);

			if (json_object_object_get_ex(p, "health", &h))
				prom_sample(f, m[j].name, "path", str_of(p, "name"), int_of(h, m[j].key));
		}
	}
}

/* An HCPE with several HAGs: which one new connections go to. */
static void prom_hags(FILE *f, const struct stats *s)
{
	json_object *hags = hags_json(s), *v;

	if (!hags)
		return;
	prom_family(f, "hag_active", "HCPE: 1 for the HAG new connections go to, 0 for the others.", "gauge");
	json_object_object_foreach(hags, name, h)
		prom_sample(f, "hag_active", "hag", name,
			    json_object_object_get_ex(h, "active", &v) && json_object_get_boolean(v));
	json_object_put(hags);
}

/* An anycast MCP: whether its shared addresses are announced, whether it drains; a HAG: its prefixes. */
static void prom_anycast(FILE *f, const struct stats *s)
{
	json_object *any, *v;
	const char *key;

	if (!(any = announcement(s, &key)))
		return;
	if (!strcmp(key, "announce")) {
		prom_family(f, "announced", "HAG: 1 while the subscriber prefixes are announced.", "gauge");
		prom_sample(f, "announced", NULL, NULL,
			    json_object_object_get_ex(any, "announced", &v) && json_object_get_boolean(v));
		return;
	}
	prom_family(f, "anycast_announced", "MCP: 1 while the shared addresses are announced.", "gauge");
	prom_sample(f, "anycast_announced", NULL, NULL,
		    json_object_object_get_ex(any, "announced", &v) && json_object_get_boolean(v));
	prom_family(f, "draining", "MCP: 1 from SIGTERM until the open pairs end (the addresses withdrawn).", "gauge");
	prom_sample(f, "draining", NULL, NULL, json_object_object_get_ex(any, "draining", &v) && json_object_get_boolean(v));
}

static void prom_paths(FILE *f, const struct stats *s)
{
	json_object *paths = summary_list(s, "paths"), *classes = summary_list(s, "classes");
	unsigned int i;
	size_t k;

	prom_family(f, "path_packets_total", "Segments of MPTCP subflows of converted connections, by access device and direction.", "counter");
	for (i = 0; i < s->n_paths; i++) {
		prom_sample2(f, "path_packets_total", "device", s->paths[i].dev, "direction", "in", s->paths[i].v.rx_packets);
		prom_sample2(f, "path_packets_total", "device", s->paths[i].dev, "direction", "out", s->paths[i].v.tx_packets);
	}
	prom_family(f, "path_bytes_total", "Bytes of MPTCP subflows of converted connections, by access device and direction.", "counter");
	for (i = 0; i < s->n_paths; i++) {
		prom_sample2(f, "path_bytes_total", "device", s->paths[i].dev, "direction", "in", s->paths[i].v.rx_bytes);
		prom_sample2(f, "path_bytes_total", "device", s->paths[i].dev, "direction", "out", s->paths[i].v.tx_bytes);
	}
	prom_family(f, "path_packets_by_arrival_total",
		    "HAG: segments sent out of this device, the one their flow arrived by, where the route said another.",
		    "counter");
	for (i = 0; i < s->n_paths; i++)
		prom_sample(f, "path_packets_by_arrival_total", "device", s->paths[i].dev, s->paths[i].v.tx_by_arrival);
	prom_health(f, paths);
	if (paths) {
		prom_family(f, "path_subflows", "MPTCP subflows open now, by path.", "gauge");
		for (k = 0; k < json_object_array_length(paths); k++) {
			json_object *p = json_object_array_get_idx(paths, k);

			prom_sample2(f, "path_subflows", "path", str_of(p, "name"), "access", str_of(p, "access"),
				     int_of(p, "subflows"));
		}
	}
	prom_workers(f, s);
	prom_anycast(f, s);
	prom_hags(f, s);
	if (classes) {
		prom_family(f, "class_sessions", "Sessions open now, by subscriber class.", "gauge");
		for (k = 0; k < json_object_array_length(classes); k++) {
			json_object *c = json_object_array_get_idx(classes, k);

			prom_sample(f, "class_sessions", "class", str_of(c, "name"), int_of(c, "sessions"));
		}
	}
}

static void prom_classes(FILE *f, const char *name, const char *help, const struct xmcp_class_counts *c)
{
	unsigned int i;

	prom_family(f, name, help, "counter");
	for (i = 0; i < XMCP_CLASS_MAX; i++)
		prom_sample(f, name, "class", xmcp_class_name(i), field(c, i));
}

static void print_prometheus(FILE *f, const struct stats *s)
{
	char name[64];
	unsigned int i;

	prom_classes(f, "xdp_packets_total", "Packets the XDP classifier saw, by class.", &s->xdp.packets);
	prom_classes(f, "xdp_bytes_total", "Bytes the XDP classifier saw, by class.", &s->xdp.bytes);
	prom_classes(f, "tc_packets_total", "Packets tc read the XDP class of, by class.", &s->tc.meta);
	prom_family(f, "malformed_total", "Malformed packets, by reason.", "counter");
	for (i = 1; i < XMCP_MF_MAX; i++)
		prom_sample(f, "malformed_total", "reason", xmcp_malformed_name(i),
			    ((const __u64 *)&s->xdp.malformed)[i - 1]);
	for (i = 0; i < N_SCALARS; i++) {
		bool gauge = !strcmp(scalars[i].name, "pairs_active");

		snprintf(name, sizeof(name), "%s%s", scalars[i].name, gauge ? "" : "_total");
		prom_family(f, name, scalars[i].help, gauge ? "gauge" : "counter");
		prom_sample(f, name, NULL, NULL, scalar(s, &scalars[i]));
	}
	prom_paths(f, s);
}

/* The daemon's counters as a JSON object, by their names in `xmcp stats -j` (the daemon's summary carries it). */
json_object *stats_daemon_json(const struct xmcp_daemon_stats *v)
{
	json_object *o = json_object_new_object();
	unsigned int i;

	for (i = 0; i < N_SCALARS; i++)
		if (scalars[i].src == DAEMON)
			json_object_object_add(o, scalars[i].name,
					       json_object_new_uint64(*(const __u64 *)((const char *)v + scalars[i].off)));
	return o;
}

/* The daemon's counters from its summary's "counters" (stats_daemon_json); those missing stay 0. */
static void daemon_stats_from(json_object *summary, struct xmcp_daemon_stats *out)
{
	json_object *counters, *v;
	unsigned int i;

	if (!summary || !json_object_object_get_ex(summary, "counters", &counters))
		return;
	for (i = 0; i < N_SCALARS; i++)
		if (scalars[i].src == DAEMON && json_object_object_get_ex(counters, scalars[i].name, &v) &&
		    json_object_is_type(v, json_type_int))
			*(__u64 *)((char *)out + scalars[i].off) = json_object_get_uint64(v);
}

/*
 * The daemon's counters: its pinned map, else (no program uses that map,
 * so it is not found through the devices) what the daemon said in its
 * summary over the control socket; all 0 without a daemon.
 */
static void read_daemon_stats(const struct stats *s, struct xmcp_daemon_stats *out, json_object *summary)
{
	int fd = s->pins_here ? pins_open_map_quiet(xmcp_pin_dir, XMCP_STR(XMCP_MAP_DAEMON_STATS)) : -ENOENT;
	__u32 key = 0;

	memset(out, 0, sizeof(*out));
	if (fd >= 0 && check_layout(fd, XMCP_STR(XMCP_MAP_DAEMON_STATS), sizeof(key), sizeof(*out))) {
		close(fd);
		fd = -EPROTO;
	}
	if (fd < 0) {
		daemon_stats_from(summary, out);
		return;
	}
	/* a slot per relay worker: the daemon's account is their sum */
	for (key = 0; key < XMCP_MAX_WORKERS; key++) {
		struct xmcp_daemon_stats slot;
		__u64 *sum = (__u64 *)out, *add = (__u64 *)&slot;
		unsigned int i;

		if (bpf_map_lookup_elem(fd, &key, &slot))
			break;
		for (i = 0; i < sizeof(slot) / sizeof(__u64); i++)
			sum[i] += add[i];
	}
	close(fd);
}

/* The device's name from the interface registry, else its name now, else "ifN". */
static void dev_name(int reg_fd, __u32 ifindex, char *out, size_t len)
{
	struct xmcp_iface rec;
	char name[IF_NAMESIZE];

	if (reg_fd >= 0 && !bpf_map_lookup_elem(reg_fd, &ifindex, &rec))
		snprintf(out, len, "%.15s", rec.name);
	else if (if_indextoname(ifindex, name))
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "if%u", ifindex);
}

static int cmp_path_dev(const void *a, const void *b)
{
	return strcmp(((const struct path_bytes *)a)->dev, ((const struct path_bytes *)b)->dev);
}

/* XMCP_MAP_PATH_STATS, summed over CPUs, one entry per device, by device name. */
static void read_path_stats(struct stats *s)
{
	int ncpu = libbpf_num_possible_cpus(), fd, reg;
	struct xmcp_path_stats *vals;
	__u32 key, *prev = NULL;
	int c;

	s->n_paths = 0;
	fd = open_map(s, XMCP_STR(XMCP_MAP_PATH_STATS), sizeof(key), sizeof(*vals), true);
	if (fd < 0 || ncpu <= 0 || !(vals = calloc(ncpu, sizeof(*vals)))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	reg = open_map(s, XMCP_STR(XMCP_MAP_IFACES), sizeof(key), sizeof(struct xmcp_iface), true);
	while (s->n_paths < XMCP_MAX_IFACES && !bpf_map_get_next_key(fd, prev, &key)) {
		struct path_bytes *pb = &s->paths[s->n_paths];

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		memset(&pb->v, 0, sizeof(pb->v));
		for (c = 0; c < ncpu; c++) {
			pb->v.rx_packets += vals[c].rx_packets;
			pb->v.rx_bytes += vals[c].rx_bytes;
			pb->v.tx_packets += vals[c].tx_packets;
			pb->v.tx_bytes += vals[c].tx_bytes;
			pb->v.tx_by_arrival += vals[c].tx_by_arrival;
		}
		dev_name(reg, key, pb->dev, sizeof(pb->dev));
		s->n_paths++;
	}
	/* hash order changes from run to run; operators diff and scripts compare */
	qsort(s->paths, s->n_paths, sizeof(s->paths[0]), cmp_path_dev);
	if (reg >= 0)
		close(reg);
	free(vals);
	close(fd);
}

/* The daemon's paths whose devices have carried nothing yet: shown too, with zero counters. */
static void add_idle_paths(struct stats *s)
{
	json_object *paths = summary_list(s, "paths");
	size_t k;
	unsigned int i;

	for (k = 0; paths && k < json_object_array_length(paths) && s->n_paths < XMCP_MAX_IFACES; k++) {
		const char *dev = str_of(json_object_array_get_idx(paths, k), "interface");

		for (i = 0; i < s->n_paths && strcmp(s->paths[i].dev, dev); i++)
			;
		if (i < s->n_paths)
			continue;
		memset(&s->paths[s->n_paths], 0, sizeof(s->paths[0]));
		snprintf(s->paths[s->n_paths].dev, sizeof(s->paths[0].dev), "%s", dev);
		s->n_paths++;
	}
	qsort(s->paths, s->n_paths, sizeof(s->paths[0]), cmp_path_dev);
}

int stats_print(FILE *f, enum stats_format fmt, json_object *summary)
{
	static struct stats s; /* large: not on the stack */

	/* once per reading: every map comes from the same place */
	s.pins_here = pins_here();
	if (read_percpu_u64s(&s, XMCP_STR(XMCP_MAP_XDP_STATS), &s.xdp, sizeof(s.xdp)) ||
	    read_percpu_u64s(&s, XMCP_STR(XMCP_MAP_TC_STATS), &s.tc, sizeof(s.tc)))
		return -1;
	read_daemon_stats(&s, &s.daemon, summary);
	read_path_stats(&s);
	s.summary = summary;
	add_idle_paths(&s);
	if (fmt == STATS_PROMETHEUS) {
		print_prometheus(f, &s);
	} else if (fmt == STATS_JSON) {
		json_object *o = stats_json(&s);

		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		print_table(f, &s);
	}
	return 0;
}
