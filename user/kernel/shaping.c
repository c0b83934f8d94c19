// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/shaping.h"
#include "lib/util.h"
#include "xmcp_maps.h"

extern char **environ;

/* Run tc with argv (NULL-terminated, argv[0] "tc"); its exit status, or -1. quiet: stderr to /dev/null. */
static int run_tc(char *const argv[], bool quiet)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status = -1, err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawnp(&pid, "tc", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		xmcp_err("cannot run tc (iproute2): %s", strerror(err));
		return -1;
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define HTB_HANDLE_ARG "786d:" /* XMCP_HTB_HANDLE */
#define HTB_CLASS_ARG "786d:" STR(XMCP_HTB_CLASS)
_Static_assert(XMCP_HTB_HANDLE == 0x786d, "HTB_HANDLE_ARG follows XMCP_HTB_HANDLE");

static int attach_egress(int prog_fd, int ifindex, const char *dev)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XMCP_TC_HANDLE, .priority = XMCP_TC_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err = bpf_tc_hook_create(&hook); /* the clsact the ingress program already made */

	if (err && err != -EEXIST) {
		xmcp_err("cannot add a clsact qdisc to %s: %s", dev, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		xmcp_err("cannot attach the path program to %s's egress: %s", dev, strerror(-err));
	return err;
}

/* The path's device gets the htb root and class; the path program puts MPTCP segments in it. */
static int shape_path(const struct pol_path *pp, int steer_fd)
{
	char rate[32], dev[POL_IFNAMSIZ];
	char *qdisc[] = { "tc", "qdisc", "add", "dev", dev, "root", "handle", HTB_HANDLE_ARG, "htb", NULL };
	char *class[] = { "tc", "class", "add", "dev", dev, "parent", HTB_HANDLE_ARG, "classid", HTB_CLASS_ARG,
			  "htb", "rate", rate, "ceil", rate, "quantum", "60000", NULL };
	/* (one class: its quantum only silences tc's warning about r2q) */
	int ifindex = xmcp_ifindex(pp->ifname);
	__u32 mode = 0;

	if (ifindex < 0)
		return -1;
	snprintf(dev, sizeof(dev), "%s", pp->ifname);
	snprintf(rate, sizeof(rate), "%umbit", pp->rate_mbit);
	if (run_tc(qdisc, false)) {
		xmcp_err("cannot shape path %s: no htb root on %s (a root qdisc there already? "
			 "'tc qdisc show dev %s')", pp->name, dev, dev);
		return -1;
	}
	if (run_tc(class, false)) {
		xmcp_err("cannot shape path %s: no htb class on %s", pp->name, dev);
		return -1;
	}
	bpf_map_lookup_elem(steer_fd, &ifindex, &mode);
	mode |= XMCP_STEER_SHAPED;
	if (bpf_map_update_elem(steer_fd, &ifindex, &mode, BPF_ANY))
		return -1;
	xmcp_dbg("path %s: MPTCP subflows leaving by %s shaped to %u Mbit/s", pp->name, dev, pp->rate_mbit);
	return 0;
}

/* An earlier path (the same line to another HAG) shaped this one's device already, at the same rate. */
static bool device_shaped(const struct policy *p, unsigned int i)
{
	unsigned int k;

	for (k = 0; k < i; k++)
		if (!strcmp(p->paths[k].ifname, p->paths[i].ifname))
			return true;
	return false;
}

int shaping_apply(const struct policy *p, int path_prog_fd, int steer_fd)
{
	unsigned int i;
	int ifindex;

	/* every access device counts its MPTCP bytes out; shaped ones also classify them */
	for (i = 0; i < p->access.n; i++) {
		ifindex = xmcp_ifindex(p->access.name[i]);
		if (ifindex < 0 || attach_egress(path_prog_fd, ifindex, p->access.name[i]))
			return -1;
	}
	for (i = 0; i < p->n_paths; i++)
		if (p->paths[i].rate_mbit && !device_shaped(p, i) && shape_path(&p->paths[i], steer_fd))
			return -1;
	return 0;
}

void shaping_remove(int ifindex, const char *dev)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XMCP_TC_HANDLE, .priority = XMCP_TC_PRIORITY);
	char name[POL_IFNAMSIZ];
	/* "root handle 786d:" deletes the root only if it is ours */
	char *del[] = { "tc", "qdisc", "del", "dev", name, "root", "handle", HTB_HANDLE_ARG, NULL };

	bpf_tc_detach(&hook, &opts);
	snprintf(name, sizeof(name), "%s", dev);
	run_tc(del, true);
}
