// SPDX-License-Identifier: GPL-2.0
/*
 * bench_xdp: the classifier's cost per packet against an empty XDP program,
 * both run with BPF_PROG_TEST_RUN in the same process, interleaved round by
 * round so that machine noise hits both alike.
 *
 * The time of a run is the calling thread's CPU time over the whole
 * BPF_PROG_TEST_RUN call divided by the repeat count. The kernel's own
 * figure (opts.duration) is that mean cut to whole nanoseconds, too coarse
 * for a 5 ns baseline; the thread's CPU clock counts in nanoseconds over the
 * whole call, and leaves out the time the hypervisor stole from this VM.
 * The call's fixed cost (copying the frame in) is spread over the repeats.
 * The kernel's whole-ns mean is kept in the CSV beside it, as a cross-check.
 *
 * Every timed call must succeed and return XDP_PASS: the frames are ones the
 * classifier passes, and a drop would time a shorter path than the one
 * named in the table.
 *
 * Usage: bench_xdp [-r REPEAT] [-n ROUNDS] [-c CSV] NAME=FILE.pcap...
 * Prints a Markdown table (picoseconds per run); with -c also writes the
 * figures as CSV (nanoseconds, three decimals).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "lib/pcapio.h"
#include "lib/testrun.h"
#include "lib/util.h"
#include "xdp_empty.skel.h"

#define MAX_ROUNDS 101
#define MAX_SAMPLES 8

/* One program's rounds on one frame: ns per run, and the kernel's whole-ns mean. */
struct timing {
	double ns[MAX_ROUNDS];
	double kernel_ns[MAX_ROUNDS];
};

struct sample {
	const char *name;
	unsigned char frame[2048];
	size_t len;
	struct timing empty, xmcp;
};

/* median, min and max of n values */
struct spread {
	double med, min, max;
};

static int take_first(void *arg, unsigned long n, const unsigned char *pkt, size_t caplen,
		      size_t wirelen)
{
	struct sample *s = arg;

	s->len = caplen < sizeof(s->frame) ? caplen : sizeof(s->frame);
	memcpy(s->frame, pkt, s->len);
	return 1; /* the first frame is enough */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v in place. */
static struct spread spread_of(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return (struct spread){ v[n / 2], v[0], v[n - 1] };
}

static double thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Run prog_fd `repeat` times on the sample's frame; round r of t gets the
 * ns per run. 0, or -1 with the reason printed: the call failed, or the
 * program did not return XDP_PASS.
 */
static int time_run(int prog_fd, const char *prog, const struct sample *s, unsigned int repeat,
		    struct timing *t, int r)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = s->frame,
		.data_size_in = s->len,
		.repeat = repeat,
	);
	double t0 = thread_cpu_ns(), t1;
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	t1 = thread_cpu_ns();
	if (err) {
		xmcp_err("%s on %s: BPF_PROG_TEST_RUN failed: %s", prog, s->name, strerror(errno));
		return -1;
	}
	if (opts.retval != XDP_PASS) {
		xmcp_err("%s on %s: returned %u, not XDP_PASS (%u): the time would be of another path",
			 prog, s->name, opts.retval, XDP_PASS);
		return -1;
	}
	t->ns[r] = (t1 - t0) / repeat;
	t->kernel_ns[r] = opts.duration;
	return 0;
}

static int load_samples(int argc, char **argv, struct sample *samples)
{
	int i, ns = 0;

	for (i = 0; i < argc && ns < MAX_SAMPLES; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq) {
			xmcp_err("expected NAME=FILE.pcap, got %s", argv[i]);
			return -1;
		}
		*eq = '\0';
		samples[ns].name = argv[i];
		samples[ns].len = 0;
		pcap_each_packet(eq + 1, take_first, &samples[ns]);
		if (!samples[ns].len) {
			xmcp_err("%s holds no frame", eq + 1);
			return -1;
		}
		ns++;
	}
	return ns;
}

static void report(struct sample *samples, int ns, int rounds, unsigned int repeat, FILE *csv)
{
	int i;

	if (csv)
		fprintf(csv, "packet,bytes,empty_ns_median,empty_ns_min,empty_ns_max,"
			     "xmcp_ns_median,xmcp_ns_min,xmcp_ns_max,ratio,"
			     "kernel_empty_ns_median,kernel_xmcp_ns_median\n");
	printf("| packet | bytes | empty XDP ps (min-max) | classifier ps (min-max) | ratio |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (i = 0; i < ns; i++) {
		struct sample *s = &samples[i];
		struct spread e = spread_of(s->empty.ns, rounds), x = spread_of(s->xmcp.ns, rounds);
		struct spread ke = spread_of(s->empty.kernel_ns, rounds);
		struct spread kx = spread_of(s->xmcp.kernel_ns, rounds);
		double ratio = e.med > 0 ? x.med / e.med : 0;

		printf("| %s | %zu | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2fx |\n", s->name, s->len,
		       e.med * 1e3, e.min * 1e3, e.max * 1e3, x.med * 1e3, x.min * 1e3, x.max * 1e3,
		       ratio);
		if (csv)
			fprintf(csv, "%s,%zu,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.0f,%.0f\n", s->name,
				s->len, e.med, e.min, e.max, x.med, x.min, x.max, ratio, ke.med, kx.med);
	}
	printf("\n%d rounds of %u runs each, the two programs interleaved; ps (1/1000 ns) per run: the\n"
	       "thread's CPU time over one BPF_PROG_TEST_RUN call / runs; every call returned XDP_PASS.\n"
	       "Ratio = classifier median / empty median. The CSV gives ns, and the kernel's own\n"
	       "whole-ns mean (opts.duration) as a cross-check.\n", rounds, repeat);
}

int main(int argc, char **argv)
{
	unsigned int repeat = 1000000, rounds = 11;
	struct sample samples[MAX_SAMPLES];
	struct xmcp_testrun tr;
	struct xdp_empty *empty;
	const char *csv_path = NULL;
	int opt, ns, i, r, empty_fd, err = 1;
	FILE *csv = NULL;

	while ((opt = getopt(argc, argv, "r:n:c:v")) != -1) {
		if (opt == 'r')
			repeat = strtoul(optarg, NULL, 0);
		else if (opt == 'n')
			rounds = strtoul(optarg, NULL, 0);
		else if (opt == 'c')
			csv_path = optarg;
		else if (opt == 'v')
			xmcp_verbose = 1;
		else
			return 2;
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || repeat < 1) {
		xmcp_err("rounds must be 1..%d and repeat at least 1", MAX_ROUNDS);
		return 2;
	}
	xmcp_setup_lib_logging();
	ns = load_samples(argc - optind, argv + optind, samples);
	if (ns < 0)
		return 2;
	if (testrun_open(&tr, false))
		return 1;
	empty = xdp_empty__open_and_load();
	if (!empty) {
		xmcp_explain_load_error("the empty XDP program", -errno);
		goto out;
	}
	empty_fd = bpf_program__fd(empty->progs.xmcp_empty);

	for (r = 0; r < (int)rounds; r++)
		for (i = 0; i < ns; i++) {
			struct sample *s = &samples[i];

			if (time_run(empty_fd, "the empty program", s, repeat, &s->empty, r) ||
			    time_run(tr.prog_fd, "the classifier", s, repeat, &s->xmcp, r))
				goto out;
		}

	if (csv_path && !(csv = fopen(csv_path, "w"))) {
		xmcp_err("cannot write %s: %s", csv_path, strerror(errno));
		goto out;
	}
	report(samples, ns, rounds, repeat, csv);
	err = 0;
out:
	if (csv)
		fclose(csv);
	xdp_empty__destroy(empty);
	testrun_close(&tr);
	return err;
}
