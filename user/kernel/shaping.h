/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-path rate shares (draft-deng 6.3 e): the kernel here has no
 * pluggable MPTCP scheduler (docs/kernels.md), so a path's share is realised
 * on its egress. An htb root qdisc (handle XMCP_HTB_HANDLE) with one class
 * at the path's rate; the tc egress program XMCP_PROG_PATH puts MPTCP
 * subflow segments in that class, the rest passes unshaped. The qdisc and
 * class are made with tc(8), the canonical tool for them.
 */
#ifndef XMCP_SHAPING_H
#define XMCP_SHAPING_H

#include "policy/policy.h"

/*
 * The path program on the egress of every access device (it counts MPTCP
 * subflow bytes), and each path of p with a rate_mbit shaped (its device
 * flagged XMCP_STEER_SHAPED in steer_fd); 0, or -1 after saying why (what
 * was done stays for shaping_remove).
 */
int shaping_apply(const struct policy *p, int path_prog_fd, int steer_fd);
/* Remove xmcp's egress program and htb root from dev, if there (quietly otherwise). */
void shaping_remove(int ifindex, const char *dev);

#endif
