/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a running daemon installed outside bpffs (ip rule, routes, MPTCP
 * endpoints and limits), written to /run/xmcp/run-<netns inode>.json once
 * setup is done and removed on a clean exit, so that `xmcp detach --all`
 * can undo it after the daemon was killed.
 */
#ifndef XMCP_RUNSTATE_H
#define XMCP_RUNSTATE_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#define RUNSTATE_MAX_ENDPOINTS 8

struct runstate {
	pid_t pid;
	__u32 fwmark, table, rule_priority;
	unsigned int n_endpoints;
	__u8 endpoint_ids[RUNSTATE_MAX_ENDPOINTS];
	bool limits_saved;
	__u32 old_add_addr_accepted, old_subflows;
	bool fastopen_saved; /* the daemon turned on the TFO server: restore this */
	long old_fastopen;
};

#define RUNSTATE_SYSCTL_FASTOPEN "/proc/sys/net/ipv4/tcp_fastopen"
#define RUNSTATE_DIR "/run/xmcp"

/* RUNSTATE_DIR/KIND-<netns inode>.EXT, this namespace's file of that kind; 0 or a negative errno. */
int runstate_file(char *buf, size_t size, const char *kind, const char *ext);
/* Make RUNSTATE_DIR if needed and check that only root can write it; 0, or -1 after saying why. */
int runstate_dir(void);

int runstate_save(const struct runstate *rs);
/* 0 and *rs filled; -ENOENT when no daemon of this namespace left a record. */
int runstate_load(struct runstate *rs);
void runstate_remove(void);
bool runstate_daemon_alive(const struct runstate *rs);

/* Remove the rule, routes and endpoints and restore the limits it records. */
void runstate_undo(const struct runstate *rs);

#endif
