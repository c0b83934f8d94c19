/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Least privilege for the daemon: once its setup is done it keeps only the
 * capabilities its loop, a reload and its teardown still use, drops every
 * other one from its bounding set (programs it runs, tc among them, get no
 * more) and sets no_new_privs. docs/security.md lists each one kept and why.
 */
#ifndef XMCP_PRIVS_H
#define XMCP_PRIVS_H

#include <stdbool.h>

/*
 * Keep CAP_NET_ADMIN, CAP_BPF and CAP_NET_BIND_SERVICE (CAP_SYS_ADMIN too
 * when keep_sys_admin, or when the kernel has no CAP_BPF). 0, or -1 after
 * saying why (the daemon then runs on with what it has, and says so).
 */
int privs_drop(bool keep_sys_admin);

/* The capabilities in the effective set now, as "cap_net_admin,cap_bpf" (for the log). */
const char *privs_describe(void);

#endif
