// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "kernel/privs.h"
#include "lib/util.h"

static bool kept(cap_value_t c, const cap_value_t *keep, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (keep[i] == c)
			return true;
	return false;
}

int privs_drop(bool keep_sys_admin)
{
	/*
	 * CAP_NET_ADMIN: IP_TRANSPARENT server legs, SO_PRIORITY on accepted
	 *   connections, MPTCP endpoints and limits on reload, sock_diag, and at
	 *   teardown the XDP/tc programs, qdiscs, rules and routes;
	 * CAP_BPF: the maps (counters, subscribers, classes, join budgets) and
	 *   the pins at teardown;
	 * CAP_NET_BIND_SERVICE: a server leg keeps a client's port below 1024.
	 */
	cap_value_t keep[4] = { CAP_NET_ADMIN, CAP_BPF, CAP_NET_BIND_SERVICE };
	int n = 3, last = cap_max_bits() - 1;
	cap_value_t c;
	cap_t caps;

	if (keep_sys_admin || !CAP_IS_SUPPORTED(CAP_BPF))
		keep[n++] = CAP_SYS_ADMIN;
	/* the bounding set first: dropping from it needs CAP_SETPCAP, which goes next */
	for (c = 0; c <= last; c++)
		if (!kept(c, keep, n) && CAP_IS_SUPPORTED(c) && cap_drop_bound(c) && errno != EINVAL) {
			xmcp_err("cannot drop capability %d from the bounding set: %s", c, strerror(errno));
			return -1;
		}
	caps = cap_init();
	if (!caps || cap_set_flag(caps, CAP_PERMITTED, n, keep, CAP_SET) ||
	    cap_set_flag(caps, CAP_EFFECTIVE, n, keep, CAP_SET) || cap_set_proc(caps)) {
		xmcp_err("cannot drop capabilities: %s", strerror(errno));
		cap_free(caps);
		return -1;
	}
	cap_free(caps);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		xmcp_err("cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

const char *privs_describe(void)
{
	static char buf[256];
	cap_t caps = cap_get_proc();
	char *text = caps ? cap_to_text(caps, NULL) : NULL;

	snprintf(buf, sizeof(buf), "%s", text ? text : "?");
	cap_free(text);
	cap_free(caps);
	return buf;
}
