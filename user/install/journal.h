/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The undo journal: every change `xmcp run` makes to the system outside its
 * own process, recorded before it is made, in
 * /run/xmcp/run-<netns inode>.json (written whole to a temporary name and
 * renamed: a reader never sees half of it). One journal serves
 *   - teardown (SIGTERM): every change undone, newest first, then the
 *     record removed, last;
 *   - a daemon that died (kill -9, a crash, a signal during setup): the next
 *     `xmcp run`, or `xmcp detach --all`, undoes what its journal says;
 *   - a reload that fails: the changes it made since journal_mark() are
 *     undone, and the running policy stays.
 * An undo never touches what is not xmcp's: an XDP program only if it is
 * xmcp's, a tc filter by xmcp's handle, a root qdisc by xmcp's handle, a
 * clsact qdisc only if xmcp created it, the policy's own endpoint ids.
 */
#ifndef XMCP_JOURNAL_H
#define XMCP_JOURNAL_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#include "kernel/mptcp_pm.h"

#define XMCP_RUN_DIR "/run/xmcp"
#define SYSCTL_TCP_FASTOPEN "/proc/sys/net/ipv4/tcp_fastopen"

enum journal_op {
	J_PINS,		 /* the pin directory of the daemon's maps: emptied when no device is left in it */
	J_DEVICE,	 /* xmcp's programs (XDP, tc ingress and egress) and shaping on a device */
	J_RULE,		 /* ip rule fwmark MARK lookup TABLE pref PRIO [suppress_prefixlength 0] */
	J_ROUTE,	 /* local default dev lo in TABLE, or local ADDRESS (text) dev lo in TABLE */
	J_PATH_ROUTE,	 /* default via NEXT HOP dev DEV in a path's TABLE (HCPE with health) */
	J_ENDPOINT,	 /* an MPTCP endpoint added: undo removes the id */
	J_ENDPOINT_GONE, /* an MPTCP endpoint removed by a reload: undo adds it back */
	J_LIMITS,	 /* the path manager's limits as they were before ours */
	J_SYSCTL,	 /* a sysctl as it was before ours */
	J_FILE,		 /* a file of ours (the control socket): undo removes it */
};

struct journal_entry {
	enum journal_op op;
	int family;		 /* J_RULE, J_ROUTE */
	__u32 a, b, c;		 /* J_RULE: mark, table, prio; J_ROUTE: table; J_LIMITS: add_addr, subflows;
				    J_DEVICE: ifindex, flags (XMCP_IFACE_*); J_PATH_ROUTE: table, ifindex */
	long value;		 /* J_SYSCTL: the old value; J_RULE: 1 with suppress_prefixlength 0 */
	struct pm_endpoint ep;	 /* J_ENDPOINT (id), J_ENDPOINT_GONE (all of it) */
	char text[128];		 /* J_DEVICE: name; J_SYSCTL, J_FILE, J_PINS: path; J_PATH_ROUTE: next hop or "";
				    J_ROUTE: the local address or "" (the default) */
};

struct journal {
	char path[128];
	char pin_dir[128];
	pid_t pid;
	__u64 start;	    /* the pid's start time (/proc/PID/stat): a pid reused is another process */
	__u64 netns_cookie; /* the namespace's (SO_NETNS_COOKIE, never reused; 0: unknown) */
	unsigned int n, cap;
	struct journal_entry *e;
};

/*
 * The directory of the run files (journals, control sockets): always
 * XMCP_RUN_DIR in xmcp; only the unit tests (tests/unit/test_journal.c)
 * point it at a directory of their own, before any other call here.
 */
extern const char *xmcp_run_dir_path;

/* RUN_DIR/KIND-<netns inode>.EXT, this namespace's file of that kind; 0 or a negative errno. */
int xmcp_run_file(char *buf, size_t size, const char *kind, const char *ext);
/* Make XMCP_RUN_DIR if needed and check that only root can write it; 0, or -1 after saying why. */
int xmcp_run_dir(void);

/* A new journal for this process, written at once (empty); 0 or -1 after saying why. */
int journal_open(struct journal *j, const char *pin_dir);
/* Record e before making the change it undoes; 0, or -1 (then do not make it). */
int journal_record(struct journal *j, const struct journal_entry *e);
/* The change of the newest entry was not made after all (it failed): drop it. */
void journal_forget_last(struct journal *j);
/* Rewrite the newest entry (what the change turned out to be, e.g. a clsact xmcp created). */
int journal_update_last(struct journal *j, const struct journal_entry *e);
/* The newest entry of op and key (a, or ep.id for endpoints), or NULL. */
struct journal_entry *journal_find(struct journal *j, enum journal_op op, __u32 key);

/* Whether an entry of op is in the journal. */
bool journal_has(const struct journal *j, enum journal_op op);

/* Where the journal stands now, for journal_undo_to() or journal_commit(). */
unsigned int journal_mark(const struct journal *j);
/* Undo the changes recorded since mark, newest first (a reload that failed). */
void journal_undo_to(struct journal *j, unsigned int mark);
/*
 * Keep the changes made since mark for good (a reload that worked): an
 * endpoint a reload removed is no longer one to add back, nor one of ours
 * to remove at the end.
 */
void journal_commit(struct journal *j, unsigned int mark);
/* Undo everything, newest first, then remove the record (teardown). */
void journal_close(struct journal *j);

/*
 * A journal of this namespace left by a daemon: 1 and *pid when its daemon
 * still runs, 0 when there is none, or when there was one and its changes
 * are undone now (*pid says whose), -1 when it can't be read.
 */
int journal_recover(pid_t *pid);
/* The pid of the daemon of this namespace whose journal is there and that still runs, or 0. */
pid_t journal_daemon(void);

#endif
