/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon (`xmcp run`): its state, and the interfaces between its
 * parts. A connection goes through them in this order (paths under user/):
 *
 *   daemon/listen.c     tc hands a SYN to a loopback listener of one
 *                       of the relay workers (daemon/worker.c: each a
 *                       thread with all that follows of its own); the
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
 *   daemon/core.c       setup, the main thread's loop (signals, control,
 *                       metrics), teardown
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
 * swaps the pointer: the admission's, each worker's (worker_call), then
 * the daemon's; the old one is freed once no worker can point into it.
 */
#ifndef XMCP_DAEMON_H
#define XMCP_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "kernel/datapath.h"
#include "lib/evloop.h"
#include "install/journal.h"
#include "policy/policy.h"

struct role_ops;
struct role_state;
struct session;
struct daemon;


/*
 * A relay worker: a thread with its own epoll loop, listeners, relay (and
 * its pipes), destination check, role modules and counters. tc picks the
 * worker of a new connection by a hash of its addresses and ports and
 * hands the SYN to that worker's listener (bpf/steer.bpf.c), so a pair
 * lives and dies in one thread and relaying its bytes takes no lock.
 * The main thread (struct daemon) keeps signals, reload, the control
 * socket, metrics and the journal; it reaches a worker only through
 * worker_call(), which runs a function in the worker's thread between two
 * of its events. Admission is the one module the workers share (sessions
 * per subscriber count across workers): it takes its own lock.
 */
struct worker {
	unsigned int id;
	struct daemon *d;	    /* the daemon: dp, the role, shared settings */
	const struct policy *pol;   /* this worker's policy: moves at a reload (worker_call) */
	const struct role_ops *role;
	struct role_state *rs;	    /* the role's own modules (each role file defines it) */
	struct relay *relay;
	struct admission *adm;	    /* HAG, MCP: shared by every worker, locked inside */
	struct dest_check *dest;    /* where server legs may go (user/daemon/dest.h): its own rtnetlink socket */
	int listen_fd[2];
	__u16 listen_port;	    /* the worker's listeners': kernel-chosen, or listen_port + id */
	bool listen_paused;	    /* out of descriptors: the listeners wait for the next tick */
	int epfd, timerfd, wakefd;
	struct ev_handler on_listen4, on_listen6, on_timer, on_wake;
	unsigned long long fd_exhausted; /* times the listeners paused for want of descriptors */
	unsigned long long fd_refused;	 /* clients reset for want of a descriptor (at accept or for their server leg) */
	unsigned long long sessions_refused; /* admission said no */
	/* the thread, and worker_call()'s mailbox (under lock) */
	pthread_t thread;
	bool running;	/* a thread was started and not joined yet */
	bool stop;	/* set in the thread (worker_call): leave the loop */
	bool dead;	/* under lock: the thread's loop failed and it has ended */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void (*call)(struct worker *w, void *arg);
	void *call_arg;
};

struct daemon {
	const char *config;	    /* the policy file, read again on SIGHUP */
	const struct policy *pol;   /* the running policy, never changed in place */
	const struct role_ops *role;
	struct dp dp;
	bool dp_open;
	struct journal journal;	    /* every change to the system, to undo (user/install/journal.h) */
	bool journaled;
	bool warned_no_meta;
	bool warned_pktsock; /* an AF_PACKET socket breaks steering (kernel/pktsock.h), said */
	bool warned_cc; /* the default mptcp_congestion can't be set here */
	bool cc_ok;	/* the policy's mptcp_congestion can be set (daemon_check_mptcp_cc) */
	int epfd, sigfd, timerfd;  /* the main thread's loop */
	struct control *control;   /* the control socket (xmcp flows, stats) */
	struct metrics *metrics;   /* GET /metrics, when the policy has "metrics" */
	struct health *health;	   /* HCPE with "health": the paths' probes (daemon/health.h) */
	struct admission *adm;	   /* HAG, MCP: sessions per subscriber, join budgets */
	struct worker *workers;
	unsigned int n_workers;
	struct ev_handler on_signal, on_timer;
	bool stop;		   /* SIGTERM or SIGINT: leave the loop after this batch */
	int announce_fd;		   /* "anycast" (MCP), "announce" (HAG): the announcing TUN device (-1: none) */
	int announce_ifindex;
	int probe_fd;			   /* HAG with announce.probe_port: the HCPEs' probes' listener (-1: none) */
	struct ev_handler on_probe;
	bool probe_paused;		   /* out of descriptors: the probe listener waits for the next tick */
	bool announced;		   /* its addresses are on it */
	bool announce_lost;	   /* HAG: a prefix or the device's link could not be kept (announce_tick) */
	unsigned int hag_now;	   /* HCPE with several HAGs: the rank of the one new connections go to */
	bool draining;		   /* SIGTERM with anycast: withdrawn, waiting for the pairs to end */
	__u64 drain_min_until;	   /* xmcp_now_ns() before which a drain does not stop */
	__u64 drain_until;	   /* xmcp_now_ns() at which draining gives up */
	bool keep_sys_admin;	   /* an XDP program not ours runs on a device: its detach needs it */
};

/* daemon/worker.c */
/* n workers and their listeners, before the datapath is loaded; 0 or -1 after saying why. */
int workers_listen(struct daemon *d, unsigned int n);
/* Their loops, relays and role modules, once the datapath and admission are there; 0 or -1. */
int workers_setup(struct daemon *d);
/* Their threads (after the capabilities are dropped: a thread keeps the ones it was made with). */
int workers_start(struct daemon *d);
/* A worker's loop died (it then SIGTERMs the daemon, which must stop, not drain, and fail). */
bool workers_any_dead(struct daemon *d);
/* Stop and join every thread; the workers' state stays for the summary and teardown. */
void workers_stop(struct daemon *d);
void workers_free(struct daemon *d);
/* fn(w, arg) in w's thread, between two of its events; returns when it has run. */
void worker_call(struct worker *w, void (*fn)(struct worker *w, void *arg), void *arg);
/* The same on every worker, one after the other. */
void workers_call(struct daemon *d, void (*fn)(struct worker *w, void *arg), void *arg);
/* The number of workers a policy asks for: its "workers", else the CPUs this process may run on. */
unsigned int workers_wanted(const struct policy *p);

/* daemon/listen.c */
/* w's IPv4 and IPv6 listeners on one port (port 0: the kernel picks) */
int worker_listen(struct worker *w, __u16 port);
void worker_accept(struct worker *w, int lfd);
void worker_pause_listeners(struct worker *w);
void worker_resume_listeners(struct worker *w);
/*
 * The server leg for an accepted client (proto IPPROTO_TCP or
 * IPPROTO_MPTCP, and the marker in its SYN when `marked`), and the pair to
 * the relay; the client is reset if that fails.
 */
void worker_start_pair(struct worker *w, int cfd, const struct sockaddr_storage *client,
		       const struct sockaddr_storage *server, struct session *sess, int proto, bool marked);
/* Reset a connection (RST, not FIN) and close it. */
void daemon_reset(int fd);


/* install/install.c: each change journaled before it is made; 0, or -1 after saying why. */
int install_routing(struct daemon *d);
/* HCPE with "health": each path's table and rules (install.c's comment) */
int install_paths(struct daemon *d);
/* Once a second: a path's default route put back if the kernel flushed it. */
void install_paths_repair(struct daemon *d);
int install_mptcp(struct daemon *d);
int install_tfo_server(struct daemon *d);
/* HCPE: the kernel's MPTCP blackhole detection off (a line's outage must not turn MPTCP off for an hour) */
int install_no_blackhole(struct daemon *d);
/* MCP with "anycast": the C flag and the shared addresses' local routes (daemon/announce.h); nothing for a HAG */
int install_announce(struct daemon *d);
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
/*
 * daemon/core.c: a worker's counters into its slot (its id) of the map
 * `xmcp stats` reads and adds up (every second, after accepting, at
 * refusals).
 */
void worker_publish_stats(const struct worker *w);

/* daemon/reload.c: SIGHUP */
void daemon_reload(struct daemon *d);
/*
 * daemon/core.c: whether p's mptcp_congestion can be set on an MPTCP socket
 * (*usable): -1 with the field named when one the policy names can't; the
 * default that can't says so once, and the legs keep the kernel's.
 */
int daemon_check_mptcp_cc(struct daemon *d, const struct policy *p, bool *usable);

#endif
