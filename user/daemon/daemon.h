/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon (`xmcp run`): its state, and the interfaces between its
 * parts. A connection goes through them in this order (paths under user/):
 *
 *   daemon/listen.c     tc hands a SYN to a loopback listener; the
 *                       connection is accepted, its destination checked
 *                       (daemon/dest.c), its subscriber admitted
 *                       (daemon/admission.c), then its role takes it
 *   roles/              what differs by role (struct role_ops): hcpe.c,
 *                       hag.c, mcp.c; the on-path HCPE and the HAG open
 *                       the server leg and make a pair at once, the MCP
 *                       once the head names the server (mcp_convert.c), the
 *                       off-path HCPE toward an MCP (upstream.c)
 *   relay/server_leg.c  the server leg, from the client's own address
 *   relay/relay.c       the pair's bytes, both ways, until both ends are done
 *
 * and around them:
 *   daemon/core.c       setup, the event loop, teardown
 *   daemon/maps.c       the policy in the datapath: devices attached,
 *                       subscriber, class and mode maps
 *   install/install.c   ip rules, routes, MPTCP endpoints and limits,
 *                       sysctls; with maps.c (programs, qdiscs) and core.c
 *                       (pins, the control socket's file) every change to
 *                       the system is journaled first; install/journal.c
 *                       undoes them
 *   daemon/reload.c     SIGHUP: a new policy, applied by difference,
 *                       swapped in at one point
 *   daemon/control.c, flows.c, metrics.c: what the daemon tells `xmcp
 *                       flows`, `xmcp stats` and a Prometheus scraper
 *
 * The policy is immutable once loaded: a reload builds a new one and
 * swaps the pointer; nothing keeps a pointer into an old one.
 */
#ifndef XMCP_DAEMON_H
#define XMCP_DAEMON_H

#include <stdbool.h>
#include <sys/socket.h>

#include "kernel/datapath.h"
#include "lib/evloop.h"
#include "install/journal.h"
#include "policy/policy.h"

struct role_ops;
struct role_state;
struct session;

struct daemon {
	const char *config;	    /* the policy file, read again on SIGHUP */
	const struct policy *pol;   /* the running policy, never changed in place */
	const struct role_ops *role;
	struct role_state *rs;	    /* the role's own modules (each role file defines it) */
	struct dp dp;
	bool dp_open;
	struct journal journal;	    /* every change to the system, to undo (user/install/journal.h) */
	bool journaled;
	bool warned_no_meta;
	bool warned_cc; /* the default mptcp_congestion can't be set here */
	bool cc_ok;	/* the policy's mptcp_congestion can be set (daemon_check_mptcp_cc) */
	int listen_fd[2];
	__u16 listen_port;  /* the listeners': the policy's, or the one the kernel chose */
	bool listen_paused; /* out of descriptors: the listeners wait for the next tick */
	int epfd, sigfd, timerfd;
	struct control *control;   /* the control socket (xmcp flows, stats) */
	struct metrics *metrics;   /* GET /metrics, when the policy has "metrics" */
	struct relay *relay;
	struct admission *adm;	   /* HAG, MCP: sessions per subscriber, join budgets */
	struct dest_check *dest;   /* where server legs may go (user/daemon/dest.h) */
	struct ev_handler on_listen4, on_listen6, on_signal, on_timer;
	bool stop;		   /* SIGTERM or SIGINT: leave the loop after this batch */
	bool keep_sys_admin;	   /* an XDP program not ours runs on a device: its detach needs it */
	unsigned long long fd_exhausted; /* times the listeners paused for want of descriptors */
	unsigned long long fd_refused;	 /* clients reset for want of a descriptor (at accept or for their server leg) */
};

/* daemon/listen.c */
int daemon_listen(struct daemon *d);
void daemon_accept(struct daemon *d, int lfd);
void daemon_pause_listeners(struct daemon *d);
void daemon_resume_listeners(struct daemon *d);
/*
 * The server leg for an accepted client (proto IPPROTO_TCP or
 * IPPROTO_MPTCP, and the marker in its SYN when `marked`), and the pair to
 * the relay; the client is reset if that fails.
 */
void daemon_start_pair(struct daemon *d, int cfd, const struct sockaddr_storage *client,
		       const struct sockaddr_storage *server, struct session *sess, int proto, bool marked);
/* Reset a connection (RST, not FIN) and close it. */
void daemon_reset(int fd);


/* install/install.c: each change journaled before it is made; 0, or -1 after saying why. */
int install_routing(struct daemon *d);
int install_mptcp(struct daemon *d);
int install_tfo_server(struct daemon *d);
int install_sync_endpoints(struct daemon *d, const struct policy *old, const struct policy *np);
int install_sync_limits(struct daemon *d, const struct policy *np);

/* daemon/maps.c */
int maps_attach_devices(struct daemon *d);
int maps_load_policy(struct daemon *d);
/* np's subscribers, classes and modes into the maps (old: the ones to take out); 0 or -1 */
int maps_apply(struct daemon *d, const struct policy *old, const struct policy *np);
/* After a failed reload of np: the running policy p's maps again */
void maps_restore(struct daemon *d, const struct policy *np, const struct policy *p);

/* daemon/core.c: the daemon with the policy file config, until SIGTERM; an exit code */
int daemon_run(const char *config);
/* daemon/core.c: the counters into the map `xmcp stats` reads (every second, after accepting, at refusals). */
void daemon_publish_stats(const struct daemon *d);

/* daemon/reload.c: SIGHUP */
void daemon_reload(struct daemon *d);
/*
 * daemon/core.c: whether p's mptcp_congestion can be set on an MPTCP socket
 * (*usable): -1 with the field named when one the policy names can't; the
 * default that can't says so once, and the legs keep the kernel's.
 */
int daemon_check_mptcp_cc(struct daemon *d, const struct policy *p, bool *usable);

#endif
