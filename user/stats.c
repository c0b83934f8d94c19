// SPDX-License-Identifier: GPL-2.0
/* The counters of `xmcp stats`, read from the pinned maps and printed as a table, JSON or Prometheus text. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cmds.h"
#include "pins.h"
#include "stats.h"
#include "util.h"
#include "xmcp_maps.h"

struct stats {
	struct xmcp_xdp_stats xdp;
	struct xmcp_tc_stats tc;
	struct xmcp_daemon_stats daemon;
};

/* Sum a single-slot per-CPU array of u64 fields into out (value_size bytes). */
static int read_percpu_u64s(const char *name, void *out, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	size_t stride = (value_size + 7) & ~(size_t)7, i, w, words = value_size / 8;
	__u64 *vals, *sum = out;
	__u32 key = 0;

	if (ncpu < 0)
		return ncpu;
	fd = pins_open_map(xmcp_pin_dir, name);
	if (fd < 0)
		return fd;
	vals = calloc(ncpu, stride);
	if (!vals) {
		close(fd);
		return -ENOMEM;
	}
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		err = -errno;
		xmcp_err("cannot read %s/%s: %s", xmcp_pin_dir, name, strerror(-err));
	}
	memset(out, 0, value_size);
	for (i = 0; !err && i < (size_t)ncpu; i++)
		for (w = 0; w < words; w++)
			sum[w] += vals[i * stride / 8 + w];
	free(vals);
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
	X("convert_no_mpc", TC, struct xmcp_tc_stats, convert_no_mpc, "MP_CONVERT SYNs without MP_CAPABLE, ignored."),
	X("passed_transparent", TC, struct xmcp_tc_stats, passed_transparent, "HAG: MPTCP SYNs let through by a transparent rule."),
	X("passed_learned", TC, struct xmcp_tc_stats, passed_learned, "HAG: MPTCP SYNs let through to a server learned MPTCP-capable (hybrid)."),
	X("learned", TC, struct xmcp_tc_stats, learned, "HAG: SYN+ACKs with MP_CAPABLE that taught or refreshed a server (hybrid)."),
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

static json_object *stats_json(const struct stats *s)
{
	json_object *root = json_object_new_object(), *cls = json_object_new_object(),
		    *mf = json_object_new_object();
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
	return root;
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
}

/* One counter family: HELP and TYPE, then its samples (label NULL: a single sample). */
static void prom_family(FILE *f, const char *name, const char *help, const char *type)
{
	fprintf(f, "# HELP xmcp_%s %s\n# TYPE xmcp_%s %s\n", name, help, name, type);
}

static void prom_sample(FILE *f, const char *name, const char *label, const char *value, __u64 v)
{
	if (label)
		fprintf(f, "xmcp_%s{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long)v);
	else
		fprintf(f, "xmcp_%s %llu\n", name, (unsigned long long)v);
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
}

/* The daemon's counters: zero when no xmcp run wrote them (xmcp attach alone). */
static int read_daemon_stats(struct xmcp_daemon_stats *out)
{
	int fd = pins_open_map(xmcp_pin_dir, XMCP_STR(XMCP_MAP_DAEMON_STATS));
	__u32 key = 0;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return 0;
	bpf_map_lookup_elem(fd, &key, out);
	close(fd);
	return 0;
}

int stats_print(FILE *f, enum stats_format fmt)
{
	struct stats s;

	if (read_percpu_u64s(XMCP_STR(XMCP_MAP_XDP_STATS), &s.xdp, sizeof(s.xdp)) ||
	    read_percpu_u64s(XMCP_STR(XMCP_MAP_TC_STATS), &s.tc, sizeof(s.tc)) ||
	    read_daemon_stats(&s.daemon))
		return -1;
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
