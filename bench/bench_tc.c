// SPDX-License-Identifier: GPL-2.0
/*
 * bench_tc: the cost per packet of xmcp's tc programs (ingress steering,
 * egress path accounting) on live traffic, against an empty tc program.
 *
 * CMD (a bulk transfer) is run twice in the current network namespace:
 *   1. xmcp's programs alone, as the gateway runs them: their time per run;
 *   2. an empty program attached in front of xmcp's, at xmcp's priority with
 *      another handle, wherever xmcp has a tc filter: the empty one's time.
 * In each run the program measured is the first BPF program the packet
 * meets, so neither is timed on caches the other one warmed. cls_bpf runs
 * the newest filter of a priority first, and the empty one returns
 * TC_ACT_UNSPEC (checked with BPF_PROG_TEST_RUN before it is attached), so
 * in run 2 xmcp's program still sees, and steers, every packet: its run
 * count must match the empty one's. BPF_PROG_TEST_RUN cannot time xmcp's
 * programs: the steering program reads the XDP classifier's metadata, which
 * only a real packet carries.
 *
 * Run-time statistics are turned on (BPF_ENABLE_STATS: off again when this
 * process exits) and each program's runs and nanoseconds are read back
 * from the kernel before and after each run. The statistics' own clock
 * reads are in both figures alike.
 *
 * Usage: bench_tc [-c CSV] -- CMD [ARG...]
 * Prints a Markdown table; with -c also writes the figures as CSV.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "lib/util.h"
#include "xdp_empty.skel.h"
#include "xmcp_maps.h"

#define EMPTY_HANDLE (XMCP_TC_HANDLE + 1)
#define MAX_HOOKS 64

/* A program's runs and nanoseconds: a snapshot, or the delta over one run of CMD. */
struct counts {
	__u64 runs, ns;
};

/* One direction: xmcp's program there and an empty one of our own. */
struct direction {
	const char *name, *xmcp_role;
	enum bpf_tc_attach_point point;
	struct xdp_empty *empty;
	__u32 xmcp_id;
	int xmcp_fd;
	struct counts alone;  /* xmcp's program, run 1 */
	struct counts base;   /* the empty program, run 2 */
	struct counts behind; /* xmcp's program behind it, run 2: its count only */
};

struct hook {
	int ifindex;
	struct direction *dir;
	int attached;
};

static struct hook hooks[MAX_HOOKS];
static int nhooks;

static void detach_empties(void)
{
	int i;

	for (i = 0; i < nhooks; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = hooks[i].ifindex,
			    .attach_point = hooks[i].dir->point);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = EMPTY_HANDLE, .priority = XMCP_TC_PRIORITY);

		if (hooks[i].attached)
			bpf_tc_detach(&hook, &opts);
		hooks[i].attached = 0;
	}
}

/* xmcp's program id at one hook, 0 if it has none there. */
static __u32 xmcp_prog_at(int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XMCP_TC_HANDLE, .priority = XMCP_TC_PRIORITY);

	return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

/* Every hook of this direction where xmcp has a program; one program per direction. */
static int find_xmcp(struct direction *d)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int err = 0;

	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index && !err; i++) {
		__u32 id = xmcp_prog_at(i->if_index, d->point);

		if (!id)
			continue;
		if (d->xmcp_id && d->xmcp_id != id) {
			xmcp_err("%s: two xmcp programs (ids %u, %u) in one direction", i->if_name,
				 d->xmcp_id, id);
			err = -EEXIST;
		} else if (nhooks == MAX_HOOKS) {
			xmcp_err("xmcp has tc programs on more than %d devices", MAX_HOOKS);
			err = -E2BIG;
		} else {
			d->xmcp_id = id;
			hooks[nhooks++] = (struct hook){ i->if_index, d, 0 };
		}
	}
	if_freenameindex(ifs);
	if (!err && d->xmcp_id && (d->xmcp_fd = bpf_prog_get_fd_by_id(d->xmcp_id)) < 0) {
		err = -errno;
		xmcp_err("cannot open xmcp's %s program (id %u): %s", d->name, d->xmcp_id,
			 strerror(errno));
	}
	return err;
}

/* Put each direction's empty program in front of xmcp's at every hook found. */
static int attach_empties(void)
{
	int i, err;

	for (i = 0; i < nhooks; i++) {
		struct direction *d = hooks[i].dir;
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = hooks[i].ifindex, .attach_point = d->point);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = EMPTY_HANDLE, .priority = XMCP_TC_PRIORITY,
			    .prog_fd = bpf_program__fd(d->empty->progs.xmcp_empty_tc));

		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			xmcp_err("cannot attach the empty program to ifindex %d: %s", hooks[i].ifindex,
				 strerror(-err));
			return err;
		}
		hooks[i].attached = 1;
	}
	return 0;
}

/*
 * The empty program must pass every packet on to xmcp's (TC_ACT_UNSPEC), or
 * run 2 would time a gateway that no longer steers: one test run on a
 * minimal Ethernet frame shows what it returns.
 */
static int check_empty_verdict(struct xdp_empty *e)
{
	unsigned char frame[64] = { [12] = 0x08, [13] = 0x00 }; /* EtherType IPv4 */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(e->progs.xmcp_empty_tc), &opts)) {
		xmcp_err("BPF_PROG_TEST_RUN of the empty tc program failed: %s", strerror(errno));
		return -1;
	}
	if ((int)opts.retval != TC_ACT_UNSPEC) {
		xmcp_err("the empty tc program returned %d, not TC_ACT_UNSPEC (%d)", (int)opts.retval,
			 TC_ACT_UNSPEC);
		return -1;
	}
	return 0;
}

static int prog_stats(int fd, struct counts *c)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	c->runs = info.run_cnt;
	c->ns = info.run_time_ns;
	return 0;
}

/* Add sign times the program's current counts to c: -1 before CMD, +1 after leaves the delta. */
static int sample(int fd, struct counts *c, int sign)
{
	struct counts now = {};

	if (prog_stats(fd, &now)) {
		xmcp_err("reading a program's statistics: %s", strerror(errno));
		return -1;
	}
	c->runs += sign * now.runs;
	c->ns += sign * now.ns;
	return 0;
}

/* Counts read one after the other while stray packets pass may differ a little. */
static int same_packets(__u64 a, __u64 b)
{
	__u64 d = a > b ? a - b : b - a;

	return d <= a / 1000 + 16;
}

static int run_cmd(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		xmcp_err("cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Snapshot (sign -1) or close (sign +1) the counts of one run; base: run 2. */
static int sample_all(struct direction *dirs, int n, int base, int sign)
{
	int i;

	for (i = 0; i < n; i++) {
		struct direction *d = &dirs[i];

		if (!d->xmcp_id)
			continue;
		if (!base && sample(d->xmcp_fd, &d->alone, sign))
			return -1;
		if (base && (sample(d->xmcp_fd, &d->behind, sign) ||
			     sample(bpf_program__fd(d->empty->progs.xmcp_empty_tc), &d->base, sign)))
			return -1;
	}
	return 0;
}

/* One run of CMD, counted; base: with the empty programs in front. */
static int timed_run(struct direction *dirs, int n, int base, char **cmd)
{
	int rc;

	if (base && attach_empties())
		return -1;
	if (sample_all(dirs, n, base, -1))
		return -1;
	rc = run_cmd(cmd);
	if (rc) {
		xmcp_err("%s exited with %d", cmd[0], rc);
		return -1;
	}
	if (sample_all(dirs, n, base, 1))
		return -1;
	detach_empties();
	return 0;
}

/* Both runs under run-time statistics; the empty programs must have passed every packet on. */
static int measure(struct direction *dirs, int n, char **cmd)
{
	int stats_fd, i, err = -1;

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		xmcp_err("cannot turn on BPF run-time statistics: %s", strerror(errno));
		return -1;
	}
	if (timed_run(dirs, n, 0, cmd) || timed_run(dirs, n, 1, cmd))
		goto out;
	for (i = 0; i < n; i++)
		if (dirs[i].xmcp_id && !same_packets(dirs[i].behind.runs, dirs[i].base.runs)) {
			/* the baseline would be of another gateway */
			xmcp_err("%s: behind the empty program xmcp ran %llu times, the empty one %llu",
				 dirs[i].name, (unsigned long long)dirs[i].behind.runs,
				 (unsigned long long)dirs[i].base.runs);
			goto out;
		}
	err = 0;
out:
	close(stats_fd);
	return err;
}

static double per_run(const struct counts *c)
{
	return c->runs ? (double)c->ns / c->runs : 0;
}

static void report(struct direction *dirs, int n, FILE *csv)
{
	int i;

	printf("| program | packets | empty tc ns/packet | xmcp ns/packet | ratio |\n");
	printf("|---|---:|---:|---:|---:|\n");
	if (csv)
		fprintf(csv, "program,packets,empty_ns,xmcp_ns,ratio,empty_packets\n");
	for (i = 0; i < n; i++) {
		struct direction *d = &dirs[i];
		double e = per_run(&d->base), x = per_run(&d->alone);

		if (!d->xmcp_id)
			continue;
		printf("| %s (%s) | %llu | %.1f | %.1f | %.2fx |\n", d->xmcp_role, d->name,
		       (unsigned long long)d->alone.runs, e, x, e > 0 ? x / e : 0);
		if (csv)
			fprintf(csv, "%s,%llu,%.2f,%.2f,%.3f,%llu\n", d->xmcp_role,
				(unsigned long long)d->alone.runs, e, x, e > 0 ? x / e : 0,
				(unsigned long long)d->base.runs);
	}
}

static void on_signal(int sig)
{
	detach_empties();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	struct direction dirs[2] = {
		{ .name = "ingress", .xmcp_role = "steering", .point = BPF_TC_INGRESS, .xmcp_fd = -1 },
		{ .name = "egress", .xmcp_role = "path accounting", .point = BPF_TC_EGRESS, .xmcp_fd = -1 },
	};
	const char *csv_path = NULL;
	FILE *csv = NULL;
	int opt, i, err = 1;

	while ((opt = getopt(argc, argv, "+c:v")) != -1) {
		if (opt == 'c')
			csv_path = optarg;
		else if (opt == 'v')
			xmcp_verbose = 1;
		else
			return 2;
	}
	if (optind >= argc) {
		xmcp_err("usage: bench_tc [-c CSV] -- CMD [ARG...]");
		return 2;
	}
	xmcp_setup_lib_logging();
	for (i = 0; i < 2; i++) {
		if (!(dirs[i].empty = xdp_empty__open_and_load())) {
			xmcp_explain_load_error("the empty tc program", -errno);
			goto out;
		}
		if (check_empty_verdict(dirs[i].empty) || find_xmcp(&dirs[i]))
			goto out;
	}
	if (!dirs[0].xmcp_id && !dirs[1].xmcp_id) {
		xmcp_err("no xmcp tc program in this network namespace");
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (measure(dirs, 2, &argv[optind]))
		goto out;
	if (csv_path && !(csv = fopen(csv_path, "w"))) {
		xmcp_err("cannot write %s: %s", csv_path, strerror(errno));
		goto out;
	}
	report(dirs, 2, csv);
	err = 0;
out:
	if (csv)
		fclose(csv);
	detach_empties();
	for (i = 0; i < 2; i++) {
		if (dirs[i].xmcp_fd >= 0)
			close(dirs[i].xmcp_fd);
		xdp_empty__destroy(dirs[i].empty);
	}
	return err;
}
