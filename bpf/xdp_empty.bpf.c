// SPDX-License-Identifier: GPL-2.0
/*
 * The baselines of `make bench`: programs that do nothing but pass.
 * Measured in the same run as the classifier, the XDP one cancels out the
 * cost of BPF_PROG_TEST_RUN itself; the tc one runs on the same live
 * packets as xmcp's tc programs (bench/bench_tc.c). The tests also use the
 * XDP one as "someone else's" XDP program that xmcp must not replace.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xmcp_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* TC_ACT_UNSPEC: cls_bpf goes on to the next filter, xmcp's, on every packet. */
SEC("tc")
int xmcp_empty_tc(struct __sk_buff *skb)
{
	return -1;
}
