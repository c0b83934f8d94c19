// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's core: setup, the event loop, teardown. Setup records every
 * change to the system in the journal before making it; SIGTERM or SIGINT
 * undo them all, newest first. Segments of the flows the daemon owns are
 * marked by tc and routed to the local stack through an fwmark rule and a
 * local default route (install/install.c). What the role does is in roles/.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "daemon/admission.h"
#include "daemon/announce.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/dest.h"
#include "daemon/flows.h"
#include "daemon/health.h"
#include "daemon/metrics.h"
#include "kernel/pktsock.h"
#include "kernel/privs.h"
#include "relay/relay.h"
#include "roles/roles.h"
#include "kernel/shaping.h"
#include "kernel/stats.h"
#include "lib/util.h"
#include "xmcp.skel.h"

#define MAX_EVENTS 64

static int configure_rodata(struct xmcp *skel, void *arg)
{
	const struct daemon *d = arg;
	const struct policy *p = d->pol;

	skel->rodata->cfg_mark = p->fwmark;
	skel->rodata->cfg_listen4 = htonl(INADDR_LOOPBACK);
	for (unsigned int i = 0; i < d->n_workers; i++)
		skel->rodata->cfg_listen_ports[i] = htons(d->workers[i].listen_port);
	skel->rodata->cfg_workers = d->n_workers;
	skel->rodata->cfg_origin_check = p->origin_check;
	skel->rodata->cfg_admission = p->n_classes > 0;
	skel->rodata->cfg_modes = p->has_modes;
	if (d->role->configure)
		d->role->configure(p, skel); /* the marker (HAG), origin checks always on (MCP) */
	return 0;
}

/*
 * What carries an MP_CONVERT in SYN data over MPTCP (the MCP takes heads,
 * the off-path HCPE sends them, the marker mode's HCPE sends the marker
 * and its HAG takes it) can't work without TCP Fast Open on MPTCP sockets:
 * a listener that does not take SYN data turns the client's MPTCP into TCP
 * (see install_tfo_server), and a client cannot put it in its SYN. Refuse
 * up front rather than fail every connection.
 */
static int check_syn_data(const struct daemon *d)
{
	const char *who = d->role->syn_data_user ? d->role->syn_data_user(d->pol) : NULL;

	if (!who || xmcp_mptcp_has_fastopen())
		return 0;
	xmcp_err("this kernel has no TCP Fast Open on MPTCP sockets (Linux 6.2 and later have it): "
		 "%s carries MP_CONVERT in SYN data and cannot run here", who);
	return -1;
}

/*
 * Everything goes, the daemon's own parts first (their sockets close, which
 * ends their connections), then every change to the system, newest first,
 * from the journal, which goes last.
 */
static void teardown(struct daemon *d)
{
	announce_close(d); /* first: the routers stop sending new connections here */
	workers_stop(d); /* they have stopped already, unless setup failed after starting them */
	workers_free(d);
	admission_free(d->adm); /* after the relays: their pairs' sessions end on the way out */
	control_close(d->control);
	metrics_close(d->metrics);
	health_close(d->health);
	/* the journal takes the pin lock itself to empty the pin directory (a setup that failed still holds it) */
	if (d->dp_open)
		pins_unlock(&d->dp.pins);
	if (d->journaled)
		journal_close(&d->journal);
	if (d->dp_open)
		dp_close(&d->dp); /* the pins went with the journal; the object goes now */
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->epfd >= 0)
		close(d->epfd);
	free((void *)d->pol);
	d->pol = NULL;
}

/*
 * A driver whose native XDP leaves no room for metadata (a TAP device on
 * Linux 6.1, for one) lets the classifier count but not tell tc: nothing on
 * that device is steered, connections hang in SYN-SENT. Say so once, with
 * the way out; generic XDP always has the room.
 */
static void warn_no_meta(struct daemon *d)
{
	struct xmcp_xdp_stats xs;

	if (d->warned_no_meta || d->pol->xdp_mode == POL_XDP_GENERIC ||
	    stats_percpu_sum(bpf_map__fd(d->dp.skel->maps.XMCP_MAP_XDP_STATS), &xs, sizeof(xs)) ||
	    !xs.meta_unavailable)
		return;
	xmcp_err("warning: %llu packets got no XDP metadata: the native XDP of an attached device "
		 "has no room for it, so tc steers nothing there; \"xdp_mode\": \"auto\" or \"tc\" works on any device",
		 (unsigned long long)xs.meta_unavailable);
	d->warned_no_meta = true;
}

/*
 * Once a second: an AF_PACKET socket that breaks steering on this kernel
 * (kernel/pktsock.h), said when one appears and when none is left.
 */
static void warn_pktsock(struct daemon *d)
{
	const struct pol_ifs *groups[] = { &d->pol->lan, &d->pol->access, &d->pol->wan };
	int idx[3 * POL_MAX_IFS], n = 0, c;
	unsigned long inode = 0;
	unsigned int g, i;

	for (g = 0; g < 3; g++)
		for (i = 0; i < groups[g]->n; i++)
			if ((idx[n] = if_nametoindex(groups[g]->name[i])) > 0)
				n++;
	c = pktsock_ip_taps(idx, n, &inode);
	if (c > 0 && !d->warned_pktsock)
		xmcp_err("warning: %d AF_PACKET socket%s for IPv4/IPv6 in this namespace (socket inode %lu; FRR's "
			 "bfdd opens one): on Linux 6.18 (measured) the stack then copies each packet after tc, the copy loses "
			 "the listener steering chose, and steered SYNs are reset (docs/kernels.md)",
			 c, c == 1 ? "" : "s", inode);
	else if (!c && d->warned_pktsock)
		fprintf(stderr, "xmcp: no AF_PACKET socket for IPv4/IPv6 is left in this namespace: steering works again\n");
	if (c >= 0)
		d->warned_pktsock = c > 0;
}

/* A worker's counters now (in its thread, or once it has stopped). */
static void worker_counters(const struct worker *w, struct xmcp_daemon_stats *v)
{
	const struct relay_stats *st = relay_stats(w->relay);

	*v = (struct xmcp_daemon_stats){
		.pairs_opened = st->pairs_opened,
		.pairs_closed = st->pairs_closed,
		.pairs_aborted = st->pairs_aborted,
		.pairs_active = relay_active(w->relay),
		.connect_failed = st->connect_failed,
		.idle_expired = st->idle_expired,
		.sessions_refused = w->sessions_refused,
		.bytes_up = st->bytes[0],
		.bytes_down = st->bytes[1],
		.dest_refused = dest_check_refused(w->dest),
		.fd_exhausted = w->fd_exhausted,
		/* relayed clients only, not control clients */
		.fd_refused = w->fd_refused,
		.no_head = w->role->no_head ? w->role->no_head(w) : 0,
	};
}

void worker_publish_stats(const struct worker *w)
{
	struct xmcp_daemon_stats v;
	__u32 key = w->id;

	worker_counters(w, &v);
	bpf_map_update_elem(bpf_map__fd(w->d->dp.skel->maps.XMCP_MAP_DAEMON_STATS), &key, &v, BPF_ANY);
}

/* What the main thread gathers from every worker, one after the other (workers_call). */
struct gather {
	struct xmcp_daemon_stats sum;
	json_object *workers; /* each worker's own pairs, when asked */
	int path_subflows[POL_MAX_PATHS];
	json_object *flows;   /* every pair, for `xmcp flows` */
};

static void gather_one(struct worker *w, void *arg)
{
	struct gather *g = arg;
	struct xmcp_daemon_stats v;
	__u64 *sum = (__u64 *)&g->sum, *add = (__u64 *)&v;
	unsigned int i;

	worker_counters(w, &v);
	for (i = 0; i < sizeof(v) / sizeof(__u64); i++)
		sum[i] += add[i];
	if (g->workers) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "worker", json_object_new_int(w->id));
		json_object_object_add(o, "port", json_object_new_int(w->listen_port));
		json_object_object_add(o, "pairs_opened", json_object_new_int64(v.pairs_opened));
		json_object_object_add(o, "pairs_active", json_object_new_int64(v.pairs_active));
		json_object_array_add(g->workers, o);
		summary_count_paths(w->relay, w->pol, g->path_subflows);
	}
	if (g->flows)
		flows_add(g->flows, w->relay, w->pol, w->id);
}

/*
 * SIGTERM, SIGINT and SIGHUP go to a signalfd, blocked from the first
 * moment: a signal that came while the system is being changed would
 * otherwise kill the daemon between a change and its record. An ignored
 * signal is dropped before signalfd could see it, and a parent (a test
 * harness, a shell script) may have left SIGTERM or SIGINT ignored: take
 * the defaults back first.
 */
static int block_signals(struct daemon *d)
{
	sigset_t sigs;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	d->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0) {
		xmcp_err("cannot take signals through a signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void count_open(struct worker *w, void *arg)
{
	*(unsigned long long *)arg += relay_active(w->relay) + (w->role->waiting ? w->role->waiting(w) : 0);
}

/* The pairs open in every worker now, and the connections on their way to be one. */
static unsigned long long open_pairs(struct daemon *d)
{
	unsigned long long n = 0;

	workers_call(d, count_open, &n);
	return n;
}

/*
 * SIGTERM on an anycast MCP: the shared addresses are withdrawn first (the
 * routers send new connections to the other MCPs); new connections that
 * still come are served for drain_min seconds (the routers converging), the
 * open pairs until they end or drain_timeout; a second SIGTERM stops at once.
 */
static void start_drain(struct daemon *d, const char *why)
{
	const struct pol_announce *a = &d->pol->announce;
	__u64 now = xmcp_now_ns();
	bool withdrawn = !announce_withdraw(d);

	d->draining = true;
	d->drain_min_until = now + a->drain_min * 1000000000ull;
	d->drain_until = now + a->drain_timeout * 1000000000ull;
	fprintf(stderr, "xmcp: %s, draining: %s, %llu pairs open, stopping when they end (not before %u s) "
			"or in %u s (again: stop now)\n",
		why, withdrawn ? "shared addresses withdrawn" : "shared addresses NOT all withdrawn",
		open_pairs(d), a->drain_min, a->drain_timeout);
	sd_notify(0, "STATUS=draining");
}

/* Once a second while draining: stop when no pair is left (after drain_min), or at the timeout. */
static void check_drain(struct daemon *d)
{
	unsigned long long left;
	__u64 now = xmcp_now_ns();

	if (!d->draining || d->stop)
		return;
	if (workers_any_dead(d)) {
		d->stop = true;
		return;
	}
	if (now < d->drain_min_until)
		return;
	left = open_pairs(d);
	if (left && now < d->drain_until)
		return;
	fprintf(stderr, "xmcp: drained, %llu pairs still open (reset now), shutting down\n", left);
	d->stop = true;
}

static void on_signal(struct ev_handler *h, unsigned int events)
{
	struct daemon *d = container_of(h, struct daemon, on_signal);
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			daemon_reload(d);
			continue;
		}
		/* (a worker that died sent it: stop, draining would wait for its pairs in vain) */
		if (d->pol->announce.n && d->pol->announce.drain_timeout && !d->draining && !workers_any_dead(d)) {
			start_drain(d, strsignal(si.ssi_signo));
			continue;
		}
		fprintf(stderr, "xmcp: %s, shutting down\n", strsignal(si.ssi_signo));
		d->stop = true;
	}
}

/* Every second: the control clients' and scrapers' deadlines, the warnings. */
static void on_timer(struct ev_handler *h, unsigned int events)
{
	struct daemon *d = container_of(h, struct daemon, on_timer);
	__u64 ticks;

	if (read(d->timerfd, &ticks, sizeof(ticks)) <= 0)
		return;
	control_tick(d->control);
	metrics_tick(d->metrics);
	warn_no_meta(d);
	warn_pktsock(d);
	announce_tick(d);
	install_paths_repair(d);
	check_drain(d);
}

static json_object *control_answer(void *arg, const char *request);
static json_object *daemon_summary(void *arg);

/* The path a leg's mark names (user/daemon/health.h), or -1: a mark of no path. */
static int path_of_mark(const struct policy *p, int fd)
{
	__u32 mark;
	socklen_t len = sizeof(mark);

	return getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) ? -1 : health_path_of(p, mark);
}

/* What the open pairs do when the best path changes: the best path now, and how many were reset. */
struct remark {
	const struct policy *pol;
	unsigned int best;
	unsigned int reset; /* (workers_call runs the workers one after the other) */
};

/*
 * A pair whose leg went to another HAG than the best path's: that HAG is
 * down, or (failback) the primary is back and takes its subscribers'
 * prefixes, so the servers' replies no longer come to where the pair's
 * MPTCP connection lives. It is reset now rather than left to time out.
 */
static bool on_other_hag(void *arg, const struct relay_pair_info *pi)
{
	const struct remark *rm = arg;
	int i = path_of_mark(rm->pol, pi->server_fd);

	return i >= 0 && rm->pol->paths[i].hag_rank != rm->pol->paths[rm->best].hag_rank;
}

/* A pair's server leg on another path than the best goes over to it (SO_MARK: every subflow follows). */
static void remark_leg(void *arg, const struct relay_pair_info *pi)
{
	const struct remark *rm = arg;
	__u32 best = health_mark(rm->pol, rm->best);
	int i = path_of_mark(rm->pol, pi->server_fd);

	if (i >= 0 && (unsigned int)i != rm->best)
		setsockopt(pi->server_fd, SOL_SOCKET, SO_MARK, &best, sizeof(best));
}

static void remark_worker(struct worker *w, void *arg)
{
	struct remark *rm = arg;

	rm->reset += relay_abort_if(w->relay, on_other_hag, rm);
	relay_foreach(w->relay, remark_leg, rm);
}

/*
 * The best path changed (user/daemon/health.c): the connections open now
 * move their first subflow over to it, failover and failback alike. Their
 * joins to the HAG's addresses keep their own lines (connected routes).
 * With several HAGs, a change of HAG resets the pairs on the other one.
 */
static void paths_changed(void *arg)
{
	struct daemon *d = arg;
	unsigned int order[POL_MAX_PATHS];
	struct remark rm = { .pol = d->pol };
	const struct pol_path *best;

	if (!health_order(order))
		return;
	rm.best = order[0];
	best = &d->pol->paths[rm.best];
	workers_call(d, remark_worker, &rm);
	if (d->pol->n_hags && best->hag_rank != d->hag_now) {
		fprintf(stderr, "xmcp: HAG %s: new connections go there now (path %s); %u pairs on the other HAG "
				"reset\n", best->hag, best->name, rm.reset);
		d->hag_now = best->hag_rank;
	}
}

/* The main thread's loop: signals, the tick, control and metrics (the workers have their own). */
static int setup_loop(struct daemon *d)
{
	struct itimerspec tick = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };

	d->on_signal.fn = on_signal;
	d->on_timer.fn = on_timer;
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->timerfd < 0 || timerfd_settime(d->timerfd, 0, &tick, NULL) ||
	    ev_add(d->epfd, d->sigfd, EPOLLIN, &d->on_signal) ||
	    ev_add(d->epfd, d->timerfd, EPOLLIN, &d->on_timer)) {
		xmcp_err("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	/* the control socket's file, journaled: a killed daemon's goes with its other changes */
	struct journal_entry sock = { .op = J_FILE };

	if (xmcp_run_file(sock.text, sizeof(sock.text), "control", "sock") || journal_record(&d->journal, &sock))
		return -1;
	d->control = control_open(d->epfd, d->pol->control_gid, control_answer, d);
	if (!d->control)
		return -1;
	if (d->pol->has_metrics &&
	    !(d->metrics = metrics_open(d->epfd, &d->pol->metrics.sa, d->pol->metrics.len, daemon_summary, d)))
		return -1;
	if (d->pol->health.on && !(d->health = health_open(d->pol, d->epfd, paths_changed, d)))
		return -1;
	return 0;
}

int daemon_check_mptcp_cc(struct daemon *d, const struct policy *p, bool *usable)
{
	int err = xmcp_mptcp_cc_probe(p->mptcp_cc);

	*usable = !err;
	if (err && !p->mptcp_cc_default) {
		xmcp_err("%s: mptcp_congestion: \"%s\" can't be set on an MPTCP socket here: %s%s", d->config,
			 p->mptcp_cc, strerror(-err),
			 err == -ENOENT ? " (net.ipv4.tcp_available_congestion_control lists what can)" : "");
		return -1;
	}
	if (err && !d->warned_cc) {
		xmcp_err("warning: MPTCP legs keep the kernel's congestion control: %s on an MPTCP socket: %s",
			 p->mptcp_cc, strerror(-err));
		d->warned_cc = true;
	}
	return 0;
}

/* The programs xmcp run loads: a classifier only where xdp_mode may put one (auto: either). */
static unsigned int run_progs(const struct policy *p)
{
	if (p->xdp_mode == POL_XDP_TC)
		return DP_FOR_RUN & ~(DP_XDP | DP_STEER);
	if (p->xdp_mode != POL_XDP_AUTO)
		return DP_FOR_RUN & ~(DP_TC_CLASSIFY | DP_STEER_CB);
	return DP_FOR_RUN;
}

/* The parts of the daemon that hold connections: admission, then each worker's relay and role modules. */
static int setup_modules(struct daemon *d)
{
	if (d->pol->n_classes) {
		d->adm = admission_new(d->pol, bpf_map__fd(d->dp.skel->maps.XMCP_MAP_SESSIONS),
				       bpf_map__fd(d->dp.skel->maps.XMCP_MAP_JOINS),
				       bpf_map__fd(d->dp.skel->maps.XMCP_MAP_JOINS_NEW));
		if (!d->adm)
			return -1;
	}
	return workers_setup(d);
}

static int setup(struct daemon *d)
{
	struct journal_entry pins = { .op = J_PINS };

	/* what the policy asks that this kernel may refuse: before anything changes */
	if (block_signals(d) || check_syn_data(d) || daemon_check_mptcp_cc(d, d->pol, &d->cc_ok))
		return -1;
	/* from here on, every change to the system is recorded before it is made */
	if (journal_open(&d->journal, xmcp_pin_dir))
		return -1;
	d->journaled = true;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -1;
	if (workers_listen(d, workers_wanted(d->pol)))
		return -1;
	snprintf(pins.text, sizeof(pins.text), "%s", xmcp_pin_dir);
	if (journal_record(&d->journal, &pins) || dp_open(&d->dp, xmcp_pin_dir, run_progs(d->pol), configure_rodata, d))
		return -1;
	d->dp_open = true;
	if (maps_attach_devices(d) || maps_load_policy(d) || install_routing(d) || install_paths(d) ||
	    install_mptcp(d) ||
	    shaping_apply(d->pol, bpf_program__fd(d->dp.skel->progs.XMCP_PROG_PATH),
			  bpf_map__fd(d->dp.skel->maps.xmcp_steer_ifs)))
		return -1;
	if (d->role->takes_syn_data && d->role->takes_syn_data(d->pol) && install_tfo_server(d))
		return -1;
	if (d->pol->role == POL_ROLE_HCPE && install_no_blackhole(d))
		return -1;
	if (install_announce(d))
		return -1;
	pins_unlock(&d->dp.pins); /* `xmcp detach` may run beside us */
	if (d->pol->role == POL_ROLE_HAG)
		flows_set_arrival_map(bpf_map__fd(d->dp.skel->maps.XMCP_MAP_ARRIVAL));
	if (setup_modules(d)) {
		xmcp_err("cannot set up the daemon: %s", strerror(errno ?: ENOMEM));
		return -1;
	}
	xmcp_accept_reserve();
	if (setup_loop(d))
		return -1;
	/* all set up: what is left to do needs a few capabilities only (docs/security.md) */
	if (privs_drop(d->keep_sys_admin))
		xmcp_err("warning: running on with every capability it had");
	else
		xmcp_dbg("capabilities from now on: %s", privs_describe());
	/* after the drop: a thread has the capabilities of the one that made it */
	if (workers_start(d))
		return -1;
	/* last: routers send connections here only once every part is in place */
	return announce_up(d);
}

/* Paths with their subflows, classes with their sessions, the workers: what `xmcp stats` adds from us. */
static json_object *daemon_summary(void *arg)
{
	struct daemon *d = arg;
	unsigned long long sessions[POL_MAX_CLASSES] = { 0 };
	struct gather g = { .workers = json_object_new_array() };
	unsigned int i;
	json_object *o;

	for (i = 0; d->adm && i < POL_MAX_CLASSES; i++)
		sessions[i] = admission_sessions(d->adm, i);
	workers_call(d, gather_one, &g);
	o = summary_json(g.path_subflows, d->pol, sessions);
	/* for `xmcp stats` where the pinned map is out of sight (ip netns exec) */
	json_object_object_add(o, "counters", stats_daemon_json(&g.sum));
	json_object_object_add(o, "workers", g.workers);
	if (d->pol->announce.n)
		json_object_object_add(o, d->pol->announce.prefixes ? "announce" : "anycast", announce_json(d));
	return o;
}

/* The control socket's requests (user/daemon/control.h): "flows" for `xmcp flows`, "summary" for stats. */
static json_object *control_answer(void *arg, const char *request)
{
	struct daemon *d = arg;

	if (!strcmp(request, "flows")) {
		struct gather g = { .flows = json_object_new_array() };

		workers_call(d, gather_one, &g);
		return flows_json(g.flows, d->pol);
	}
	if (!strcmp(request, "summary"))
		return daemon_summary(d);
	return NULL;
}

/* The main thread's loop: signals, reloads, the control socket, metrics. */
static void loop(struct daemon *d)
{
	struct epoll_event ev[MAX_EVENTS];
	int n, i;

	while (!d->stop) {
		n = epoll_wait(d->epfd, ev, MAX_EVENTS, -1);
		if (n < 0 && errno != EINTR)
			return;
		for (i = 0; i < n; i++) {
			struct ev_handler *h = ev[i].data.ptr;

			h->fn(h, ev[i].events);
		}
		control_reap(d->control);
	}
}

/*
 * One daemon per network namespace: they would share the rule, table and
 * limits. A dead one's journal is undone first (kill -9, a crash): its
 * programs, routes, endpoints, limits and pins are gone before we start.
 */
static int another_daemon(void)
{
	pid_t pid;
	int r = journal_recover(&pid);

	if (r > 0) {
		xmcp_err("xmcp run is already running in this network namespace (pid %d)", pid);
		return 1;
	}
	if (r < 0)
		return 1;
	if (pid)
		xmcp_err("cleaned up after an xmcp run (pid %d) that did not exit cleanly", pid);
	return 0;
}

static void abort_pairs(struct worker *w, void *arg)
{
	relay_abort_all(w->relay);
}

/* The relays' account, on the way out (the workers have stopped): what an operator checks after a run. */
static void log_summary(struct daemon *d)
{
	struct gather g = { 0 };
	unsigned long long fallback = 0, after_reset = 0, bad_marker = 0;
	unsigned int i;

	workers_call(d, gather_one, &g);
	for (i = 0; i < d->n_workers; i++) {
		const struct worker *w = &d->workers[i];

		fallback += relay_stats(w->relay)->fallback;
		after_reset += relay_stats(w->relay)->delivered_after_reset;
		bad_marker += w->role->bad_marker ? w->role->bad_marker(w) : 0;
	}
	fprintf(stderr,
		"xmcp: %llu pairs: %llu closed, %llu aborted, %llu idle, %llu failed to connect, "
		"%llu without their marker, %llu MPTCP fell back to TCP; "
		"%llu bytes client->server, %llu server->client, %llu of them passed on after a reset\n",
		(unsigned long long)g.sum.pairs_opened, (unsigned long long)g.sum.pairs_closed,
		(unsigned long long)g.sum.pairs_aborted, (unsigned long long)g.sum.idle_expired,
		(unsigned long long)g.sum.connect_failed, bad_marker, fallback,
		(unsigned long long)g.sum.bytes_up, (unsigned long long)g.sum.bytes_down, after_reset);
	if (d->role->log_summary)
		d->role->log_summary(d, stderr);
}

/* The workers' ports, "N, M, ...". */
static void describe_ports(const struct daemon *d, char *buf, size_t len)
{
	unsigned int i;
	int off = 0;

	buf[0] = 0;
	for (i = 0; i < d->n_workers && off >= 0 && (size_t)off < len; i++)
		off += snprintf(buf + off, len - off, "%s%u", i ? ", " : "", d->workers[i].listen_port);
}

int daemon_run(const char *config)
{
	struct daemon d = { .epfd = -1, .sigfd = -1, .timerfd = -1, .announce_fd = -1, .probe_fd = -1 };
	char ports[7 * XMCP_MAX_WORKERS];
	struct policy *pol = malloc(sizeof(*pol));
	int failed;

	if (!pol)
		xmcp_err("out of memory");
	if (!pol || policy_load(config, pol)) {
		free(pol);
		return 1;
	}
	d.pol = pol;
	d.role = role_of(pol->role);
	d.config = config;
	if (xmcp_require_root() || another_daemon()) {
		teardown(&d);
		return 1;
	}
	xmcp_raise_nofile();
	if (setup(&d)) {
		teardown(&d);
		return 1;
	}
	/* the first worker's port on the start line, as with one; the others on the next */
	fprintf(stderr, "xmcp: running as %s, listening on 127.0.0.1/[::1] port %u\n",
		policy_role_name(d.pol->role), d.workers[0].listen_port);
	describe_ports(&d, ports, sizeof(ports));
	fprintf(stderr, "xmcp: %u relay worker%s, listening on ports %s\n", d.n_workers,
		d.n_workers == 1 ? "" : "s", ports);
	/* systemd (Type=notify): the datapath is in place now, not when the process started */
	sd_notifyf(0, "READY=1\nSTATUS=running as %s", policy_role_name(d.pol->role));
	loop(&d);
	sd_notify(0, "STOPPING=1");
	announce_close(&d); /* withdrawn before anything stops, drained or not */
	/* a worker that died is a failure: the service manager restarts the daemon */
	failed = workers_any_dead(&d);
	workers_stop(&d);
	/* the pairs still open are reset now: the summary counts them as aborted */
	workers_call(&d, abort_pairs, NULL);
	log_summary(&d);
	teardown(&d);
	return failed;
}
