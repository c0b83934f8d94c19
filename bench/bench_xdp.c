// SPDX-License-Identifier: GPL-2.0
/*
 * bench_xdp: the classifier's cost per packet against an empty XDP program,
 * both run with BPF_PROG_TEST_RUN in the same process, interleaved round by
 * round so that machine noise hits both alike.
 *
 * Usage: bench_xdp [-r REPEAT] [-n ROUNDS] [-c CSV] NAME=FILE.pcap...
 * Prints a Markdown table; with -c also writes the figures as CSV.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "pcapio.h"
#include "testrun.h"
#include "util.h"
#include "xdp_empty.skel.h"

#define MAX_ROUNDS 101

struct sample {
	const char *name;
	unsigned char frame[2048];
	size_t len;
	__u32 empty[MAX_ROUNDS], xmcp[MAX_ROUNDS];
};

static int take_first(void *arg, unsigned long n, const unsigned char *pkt, size_t caplen,
		      size_t wirelen)
{
	struct sample *s = arg;

	s->len = caplen < sizeof(s->frame) ? caplen : sizeof(s->frame);
	memcpy(s->frame, pkt, s->len);
	return 1; /* the first frame is enough */
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static __u32 median(__u32 *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	unsigned int repeat = 1000000, rounds = 11;
	struct sample samples[8];
	struct xmcp_testrun tr;
	struct xdp_empty *empty;
	const char *csv_path = NULL;
	int opt, ns = 0, i, r, empty_fd;
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
	for (i = optind; i < argc && ns < 8; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq) {
			xmcp_err("expected NAME=FILE.pcap, got %s", argv[i]);
			return 2;
		}
		*eq = '\0';
		samples[ns].name = argv[i];
		samples[ns].len = 0;
		pcap_each_packet(eq + 1, take_first, &samples[ns]);
		if (!samples[ns].len) {
			xmcp_err("%s holds no frame", eq + 1);
			return 1;
		}
		ns++;
	}
	if (testrun_open(&tr))
		return 1;
	empty = xdp_empty__open_and_load();
	if (!empty) {
		xmcp_explain_load_error("the empty XDP program", -errno);
		return 1;
	}
	empty_fd = bpf_program__fd(empty->progs.xmcp_empty);

	for (r = 0; r < (int)rounds; r++)
		for (i = 0; i < ns; i++) {
			struct sample *s = &samples[i];

			if (testrun_time(empty_fd, s->frame, s->len, repeat, &s->empty[r]) ||
			    testrun_time(tr.prog_fd, s->frame, s->len, repeat, &s->xmcp[r])) {
				xmcp_err("BPF_PROG_TEST_RUN failed: %s", strerror(errno));
				return 1;
			}
		}

	if (csv_path && !(csv = fopen(csv_path, "w"))) {
		xmcp_err("cannot write %s: %s", csv_path, strerror(errno));
		return 1;
	}
	if (csv)
		fprintf(csv, "packet,bytes,empty_ns_median,empty_ns_min,empty_ns_max,"
			     "xmcp_ns_median,xmcp_ns_min,xmcp_ns_max,ratio\n");
	printf("| packet | bytes | empty XDP ns (min-max) | classifier ns (min-max) | ratio |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (i = 0; i < ns; i++) {
		struct sample *s = &samples[i];
		__u32 em = median(s->empty, rounds), xm = median(s->xmcp, rounds);
		double ratio = em ? (double)xm / em : 0;

		printf("| %s | %zu | %u (%u-%u) | %u (%u-%u) | %.2fx |\n", s->name, s->len, em,
		       s->empty[0], s->empty[rounds - 1], xm, s->xmcp[0], s->xmcp[rounds - 1], ratio);
		if (csv)
			fprintf(csv, "%s,%zu,%u,%u,%u,%u,%u,%u,%.3f\n", s->name, s->len, em, s->empty[0],
				s->empty[rounds - 1], xm, s->xmcp[0], s->xmcp[rounds - 1], ratio);
	}
	printf("\n%u rounds of %u runs each; ns per run as BPF_PROG_TEST_RUN reports it; "
	       "ratio = classifier median / empty median.\n", rounds, repeat);
	if (csv)
		fclose(csv);
	xdp_empty__destroy(empty);
	testrun_close(&tr);
	return 0;
}
