// SPDX-License-Identifier: GPL-2.0
/* xmcp stats [-j|--prometheus]: the datapath's counters, summed over CPUs, from the pinned maps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cmds.h"
#include "pins.h"
#include "util.h"
#include "xmcp_maps.h"

struct stats {
	struct xmcp_xdp_stats xdp;
	struct xmcp_tc_stats tc;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: xmcp stats [-j | --prometheus]\n"
		   "\n"
		   "Prints the classifier's per-class packet and byte counters, the classes\n"
		   "tc read from the XDP metadata, and why packets were malformed; summed\n"
		   "over every device and CPU since the first attach.\n"
		   "\n"
		   "  -j, --json     one JSON object\n"
		   "  --prometheus   Prometheus text exposition format (counters)\n");
}

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
	json_object_object_add(root, "meta_unavailable", json_object_new_int64(s->xdp.meta_unavailable));
	json_object_object_add(root, "tc_no_meta", json_object_new_int64(s->tc.no_meta));
	json_object_object_add(root, "steered", json_object_new_int64(s->tc.steered));
	json_object_object_add(root, "flow_marked", json_object_new_int64(s->tc.flow_marked));
	json_object_object_add(root, "no_listener", json_object_new_int64(s->tc.no_listener));
	json_object_object_add(root, "not_subscriber", json_object_new_int64(s->tc.not_subscriber));
	json_object_object_add(root, "mcp_invalid", json_object_new_int64(s->xdp.mcp_invalid));
	json_object_object_add(root, "mcp_not_subscriber", json_object_new_int64(s->xdp.mcp_not_subscriber));
	json_object_object_add(root, "convert_no_mpc", json_object_new_int64(s->tc.convert_no_mpc));
	return root;
}

static void print_table(const struct stats *s)
{
	unsigned int i;

	printf("%-24s %12s %14s %12s\n", "class", "packets", "bytes", "seen by tc");
	for (i = 0; i < XMCP_CLASS_MAX; i++)
		printf("%-24s %12llu %14llu %12llu\n", xmcp_class_name(i),
		       (unsigned long long)field(&s->xdp.packets, i),
		       (unsigned long long)field(&s->xdp.bytes, i),
		       (unsigned long long)field(&s->tc.meta, i));
	printf("\nmalformed, by reason:");
	for (i = 1; i < XMCP_MF_MAX; i++)
		printf(" %s=%llu", xmcp_malformed_name(i),
		       (unsigned long long)((const __u64 *)&s->xdp.malformed)[i - 1]);
	printf("\nno room for metadata: %llu, reached tc without metadata: %llu\n",
	       (unsigned long long)s->xdp.meta_unavailable, (unsigned long long)s->tc.no_meta);
	printf("steering (xmcp run): SYNs steered %llu, segments of own flows marked %llu, "
	       "listener missing %llu, MPTCP SYNs from non-subscribers %llu, "
	       "MCP dropped: invalid MP_CONVERT %llu, not a subscriber %llu; "
	       "MP_CONVERT without MP_CAPABLE ignored %llu\n",
	       (unsigned long long)s->tc.steered, (unsigned long long)s->tc.flow_marked,
	       (unsigned long long)s->tc.no_listener, (unsigned long long)s->tc.not_subscriber,
	       (unsigned long long)s->xdp.mcp_invalid, (unsigned long long)s->xdp.mcp_not_subscriber,
	       (unsigned long long)s->tc.convert_no_mpc);
}

/* One counter family: HELP and TYPE, then its samples (label NULL: a single sample). */
static void prom_family(const char *name, const char *help)
{
	printf("# HELP xmcp_%s %s\n# TYPE xmcp_%s counter\n", name, help, name);
}

static void prom_sample(const char *name, const char *label, const char *value, __u64 v)
{
	if (label)
		printf("xmcp_%s{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long)v);
	else
		printf("xmcp_%s %llu\n", name, (unsigned long long)v);
}

static void prom_single(const char *name, const char *help, __u64 v)
{
	prom_family(name, help);
	prom_sample(name, NULL, NULL, v);
}

static void prom_classes(const char *name, const char *help, const struct xmcp_class_counts *c)
{
	unsigned int i;

	prom_family(name, help);
	for (i = 0; i < XMCP_CLASS_MAX; i++)
		prom_sample(name, "class", xmcp_class_name(i), field(c, i));
}

static void print_prometheus(const struct stats *s)
{
	unsigned int i;

	prom_classes("xdp_packets_total", "Packets the XDP classifier saw, by class.", &s->xdp.packets);
	prom_classes("xdp_bytes_total", "Bytes the XDP classifier saw, by class.", &s->xdp.bytes);
	prom_classes("tc_packets_total", "Packets tc read the XDP class of, by class.", &s->tc.meta);
	prom_family("malformed_total", "Malformed packets, by reason.");
	for (i = 1; i < XMCP_MF_MAX; i++)
		prom_sample("malformed_total", "reason", xmcp_malformed_name(i),
			    ((const __u64 *)&s->xdp.malformed)[i - 1]);
	prom_family("mcp_dropped_total", "SYNs the MCP's admission dropped in XDP, by reason.");
	prom_sample("mcp_dropped_total", "reason", "invalid", s->xdp.mcp_invalid);
	prom_sample("mcp_dropped_total", "reason", "not_subscriber", s->xdp.mcp_not_subscriber);
	prom_single("meta_unavailable_total", "Packets the driver gave no room for metadata.",
		    s->xdp.meta_unavailable);
	prom_single("tc_no_meta_total", "Packets that reached tc without metadata.", s->tc.no_meta);
	prom_single("steered_total", "SYNs handed to the daemon's listener.", s->tc.steered);
	prom_single("flow_marked_total", "Segments of the daemon's flows marked for local delivery.",
		    s->tc.flow_marked);
	prom_single("no_listener_total", "SYNs to steer while the daemon's listener was missing.",
		    s->tc.no_listener);
	prom_single("not_subscriber_total", "MPTCP SYNs from outside the subscriber prefixes.",
		    s->tc.not_subscriber);
	prom_single("convert_no_mpc_total", "MP_CONVERT SYNs without MP_CAPABLE, ignored.",
		    s->tc.convert_no_mpc);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		XMCP_COMMON_LONGOPTS,
		{ 0 },
	};
	struct stats s;
	int opt, ret, json = 0, prom = 0;

	while ((opt = getopt_long(argc, argv, "j" XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'j') {
			json = 1;
		} else if (opt == 'p') {
			prom = 1;
		} else if ((ret = xmcp_common_opt(opt, optarg))) {
			usage(ret > 0 ? stdout : stderr);
			return ret > 0 ? 0 : 2;
		}
	}
	if (optind != argc || (json && prom)) {
		usage(stderr);
		return 2;
	}
	if (xmcp_require_root())
		return 1;
	if (read_percpu_u64s(XMCP_STR(XMCP_MAP_XDP_STATS), &s.xdp, sizeof(s.xdp)) ||
	    read_percpu_u64s(XMCP_STR(XMCP_MAP_TC_STATS), &s.tc, sizeof(s.tc)))
		return 1;
	if (prom) {
		print_prometheus(&s);
	} else if (json) {
		json_object *o = stats_json(&s);

		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		print_table(&s);
	}
	return 0;
}
