/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running packets through the real classifier with BPF_PROG_TEST_RUN:
 * used by `xmcp classify` and the benchmark. The object is loaded with
 * private, unpinned maps, so it never touches a running gateway's state.
 */
#ifndef XMCP_TESTRUN_H
#define XMCP_TESTRUN_H

#include <stdbool.h>
#include <stddef.h>
#include "xmcp_maps.h"

struct xmcp;

struct xmcp_testrun {
	struct xmcp *skel;
	int prog_fd;
	bool tc; /* the classifier at tc (XMCP_PROG_TC_CLASSIFY), not XDP */
};

/* Load the classifier alone: the XDP program, or with tc its tc twin. */
int testrun_open(struct xmcp_testrun *t, bool tc);
void testrun_close(struct xmcp_testrun *t);

/* Classify one frame; returns 0 and fills *meta, or a negative errno. */
int testrun_classify(const struct xmcp_testrun *t, const void *pkt, size_t len,
		     struct xmcp_meta *meta);

/* Run prog_fd `repeat` times on pkt; *ns gets the kernel's mean time per run. */
int testrun_time(int prog_fd, const void *pkt, size_t len, unsigned int repeat, __u32 *ns);

#endif
