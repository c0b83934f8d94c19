// SPDX-License-Identifier: GPL-2.0
/*
 * SIGHUP (`xmcp reload`): read the policy file again and apply what can
 * change under established pairs: endpoints and limits (by difference),
 * subscribers and their classes' limits, the modes' rules, forbidden,
 * transparent_source, idle_timeout, connect_timeout, head_timeout,
 * mptcp_congestion (for the pairs from then on). A
 * policy that fails the check, or changes anything else, is refused and
 * the running one stays. The new policy is a new object: the daemon's
 * pointer moves to it at one point (swap_policy), and every module that
 * keeps one is told there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "daemon/admission.h"
#include "daemon/health.h"
#include "daemon/daemon.h"
#include "relay/relay.h"
#include "roles/roles.h"
#include "lib/util.h"

struct new_policy {
	const struct policy *np;
	bool cc_ok;
};

/* In each worker's thread, between two of its events: the pairs from then on see np. */
static void worker_take_policy(struct worker *w, void *arg)
{
	const struct new_policy *n = arg;

	w->pol = n->np;
	relay_set_timeouts(w->relay, n->np->idle_timeout, n->np->connect_timeout);
	relay_set_mptcp_cc(w->relay, n->cc_ok ? n->np->mptcp_cc : NULL);
	if (w->role->set_policy)
		w->role->set_policy(w, n->np);
}

/*
 * The one place a new policy takes over: the admission, then every worker
 * (each between two of its events: no connection sees half of one policy
 * and half of the other); the old one is freed once none points at it.
 * The datapath's maps took np a moment before (maps_apply), while the
 * workers ran on: a connection accepted in between was steered by the new
 * maps and is taken by the old policy, as it would have been had it come a
 * moment sooner.
 */
static void swap_policy(struct daemon *d, struct policy *np, bool cc_ok)
{
	const struct policy *old = d->pol;
	struct new_policy n = { .np = np, .cc_ok = cc_ok };

	admission_set_policy(d->adm, np);
	health_set_policy(d->health, np); /* (its paths and settings are the same: fixed fields) */
	workers_call(d, worker_take_policy, &n);
	d->pol = np;
	d->cc_ok = cc_ok;
	free((void *)old);
}

/* The reload itself: 0 when np took over (it is the daemon's then), -1 when refused. */
static int reload_policy(struct daemon *d, struct policy *np)
{
	const char *fixed;
	unsigned int mark;
	bool cc_ok;

	if (policy_load(d->config, np)) {
		xmcp_err("reload refused: the running policy stays");
		return -1;
	}
	fixed = policy_fixed_field(d->pol, np);
	if (fixed) {
		xmcp_err("reload refused: %s can't change while running (restart xmcp run); "
			 "the running policy stays", fixed);
		return -1;
	}
	if (daemon_check_mptcp_cc(d, np, &cc_ok)) {
		xmcp_err("reload refused: the running policy stays");
		return -1;
	}
	/*
	 * All or nothing: the kernel's state (journaled from mark on), then the
	 * datapath's maps; any step that fails undoes every one before it.
	 */
	mark = journal_mark(&d->journal);
	if (install_sync_endpoints(d, d->pol, np) || install_sync_limits(d, np) ||
	    maps_apply(d, d->pol, np)) {
		journal_undo_to(&d->journal, mark);
		maps_restore(d, np, d->pol);
		xmcp_err("reload refused: the running policy stays");
		return -1;
	}
	journal_commit(&d->journal, mark);
	swap_policy(d, np, cc_ok);
	fprintf(stderr, "xmcp: reloaded %s: %u subscriber prefixes, %u endpoints\n", d->config,
		d->pol->n_subscribers, d->pol->n_endpoints);
	return 0;
}

void daemon_reload(struct daemon *d)
{
	struct policy *np = malloc(sizeof(*np));

	sd_notify(0, "RELOADING=1");
	if (!np)
		xmcp_err("reload refused: the running policy stays");
	else if (reload_policy(d, np))
		free(np);
	sd_notify(0, "READY=1");
}
