// SPDX-License-Identifier: GPL-2.0
/*
 * bench_tc: the cost per packet of xmcp's tc programs (ingress steering,
 * egress path accounting) on live traffic, against an empty tc program run
 * on the very same packets.
 *
 * In the current network namespace, wherever xmcp has a tc filter, an empty
 * program is attached at xmcp's priority with another handle. cls_bpf runs
 * the newest filter of a priority first, and the empty one returns
 * TC_ACT_UNSPEC, so xmcp's still sees every packet. BPF_PROG_TEST_RUN cannot
 * stand in here: the steering program reads the XDP classifier's metadata,
 * which only a real packet carries.
 *
 * Run-time statistics are turned on (BPF_ENABLE_STATS: off again when this
 * process exits), CMD is run, and each program's runs and nanoseconds per
 * run are read back from the kernel. The statistics' own clock reads are in
 * both figures alike.
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

#include "util.h"
#include "xdp_empty.skel.h"
#include "xmcp_maps.h"

#define EMPTY_HANDLE (XMCP_TC_HANDLE + 1)
#define MAX_HOOKS 64

/* One direction: xmcp's program there and an empty one of our own. */
struct direction {
	const char *name, *xmcp_role;
	enum bpf_tc_attach_point point;
	struct xdp_empty *empty;
	__u32 xmcp_id;
	__u64 runs[2], ns[2]; /* [0] xmcp, [1] empty: deltas once measured */
};

struct hook {
	int ifindex;
	enum bpf_tc_attach_point point;
};

static struct hook hooks[MAX_HOOKS];
static int nhooks;

static void detach_empties(void)
{
	int i;

	for (i = 0; i < nhooks; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = hooks[i].ifindex,
			    .attach_point = hooks[i].point);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = EMPTY_HANDLE, .priority = XMCP_TC_PRIORITY);

		bpf_tc_detach(&hook, &opts);
	}
	nhooks = 0;
}

/* xmcp's program id at one hook, 0 if it has none there. */
static __u32 xmcp_prog_at(int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XMCP_TC_HANDLE, .priority = XMCP_TC_PRIORITY);

	return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

/* Put the direction's empty program in front of xmcp's at every hook where xmcp has one. */
static int attach_empties(struct direction *d)
{
	int fd = bpf_program__fd(d->empty->progs.xmcp_empty_tc), err;
	struct if_nameindex *ifs = if_nameindex(), *i;

	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = i->if_index, .attach_point = d->point);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = EMPTY_HANDLE, .priority = XMCP_TC_PRIORITY,
			    .prog_fd = fd);
		__u32 id = xmcp_prog_at(i->if_index, d->point);

		if (!id)
			continue;
		if (d->xmcp_id && d->xmcp_id != id) {
			xmcp_err("%s: two xmcp programs (ids %u, %u) in one direction", i->if_name,
				 d->xmcp_id, id);
			err = -EEXIST;
			goto out;
		}
		d->xmcp_id = id;
		if (nhooks == MAX_HOOKS || (err = bpf_tc_attach(&hook, &opts))) {
			xmcp_err("cannot attach the empty program to %s: %s", i->if_name,
				 nhooks == MAX_HOOKS ? "too many devices" : strerror(-err));
			err = err ? err : -E2BIG;
			goto out;
		}
		hooks[nhooks++] = (struct hook){ i->if_index, d->point };
	}
	err = 0;
out:
	if_freenameindex(ifs);
	return err;
}

static int prog_stats(int fd, __u64 *runs, __u64 *ns)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*runs = info.run_cnt;
	*ns = info.run_time_ns;
	return 0;
}

/* Both programs' counters; sign -1 before CMD, +1 after: the deltas remain. */
static int sample(struct direction *d, int xmcp_fd, int sign)
{
	__u64 r[2], n[2];
	int i;

	if (prog_stats(xmcp_fd, &r[0], &n[0]) ||
	    prog_stats(bpf_program__fd(d->empty->progs.xmcp_empty_tc), &r[1], &n[1]))
		return -1;
	for (i = 0; i < 2; i++) {
		d->runs[i] += sign * r[i];
		d->ns[i] += sign * n[i];
	}
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

static void report(struct direction *dirs, int n, FILE *csv)
{
	int i;

	printf("| program | packets | empty tc ns/packet | xmcp ns/packet | ratio |\n");
	printf("|---|---:|---:|---:|---:|\n");
	if (csv)
		fprintf(csv, "program,packets,empty_ns,xmcp_ns,ratio\n");
	for (i = 0; i < n; i++) {
		struct direction *d = &dirs[i];
		double e = d->runs[1] ? (double)d->ns[1] / d->runs[1] : 0;
		double x = d->runs[0] ? (double)d->ns[0] / d->runs[0] : 0;

		if (!d->xmcp_id)
			continue;
		printf("| %s (%s) | %llu | %.1f | %.1f | %.2fx |\n", d->xmcp_role, d->name,
		       (unsigned long long)d->runs[0], e, x, e > 0 ? x / e : 0);
		if (csv)
			fprintf(csv, "%s,%llu,%.2f,%.2f,%.3f\n", d->xmcp_role,
				(unsigned long long)d->runs[0], e, x, e > 0 ? x / e : 0);
	}
}

static void on_signal(int sig)
{
	detach_empties();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Attach, turn the statistics on, run CMD, read the deltas. */
static int measure(struct direction *dirs, int n, char **cmd)
{
	int fds[2] = { -1, -1 }, stats_fd, i, rc, err = 1;

	for (i = 0; i < n; i++)
		if (attach_empties(&dirs[i]))
			return 1;
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		xmcp_err("cannot turn on BPF run-time statistics: %s", strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++)
		if (dirs[i].xmcp_id && ((fds[i] = bpf_prog_get_fd_by_id(dirs[i].xmcp_id)) < 0 ||
					sample(&dirs[i], fds[i], -1)))
			goto out;
	rc = run_cmd(cmd);
	if (rc) {
		xmcp_err("%s exited with %d", cmd[0], rc);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (dirs[i].xmcp_id && sample(&dirs[i], fds[i], 1))
			goto out;
	errno = 0;
	for (i = 0; i < n; i++)
		if (!same_packets(dirs[i].runs[0], dirs[i].runs[1])) {
			/* the comparison would mean nothing */
			xmcp_err("%s: xmcp ran %llu times, the empty program %llu", dirs[i].name,
				 (unsigned long long)dirs[i].runs[0], (unsigned long long)dirs[i].runs[1]);
			goto out;
		}
	err = 0;
out:
	if (err && errno)
		xmcp_err("reading the programs' statistics: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(stats_fd);
	return err;
}

int main(int argc, char **argv)
{
	struct direction dirs[2] = {
		{ .name = "ingress", .xmcp_role = "steering", .point = BPF_TC_INGRESS },
		{ .name = "egress", .xmcp_role = "path accounting", .point = BPF_TC_EGRESS },
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
	for (i = 0; i < 2; i++)
		if (!(dirs[i].empty = xdp_empty__open_and_load())) {
			xmcp_explain_load_error("the empty tc program", -errno);
			goto out;
		}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (measure(dirs, 2, &argv[optind]))
		goto out;
	if (!dirs[0].xmcp_id && !dirs[1].xmcp_id) {
		xmcp_err("no xmcp tc program in this network namespace");
		goto out;
	}
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
	for (i = 0; i < 2; i++)
		xdp_empty__destroy(dirs[i].empty);
	return err;
}
