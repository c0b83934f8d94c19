// SPDX-License-Identifier: GPL-2.0
/*
 * The baseline of `make bench`: an XDP program that does nothing but pass.
 * Measured in the same run as the classifier, it cancels out the cost of
 * BPF_PROG_TEST_RUN itself. The tests also use it as "someone else's" XDP
 * program that xmcp must not replace.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xmcp_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}
