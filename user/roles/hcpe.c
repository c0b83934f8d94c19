// SPDX-License-Identifier: GPL-2.0
/*
 * The HCPE: plain TCP SYNs arriving on the LAN are steered by tc into a
 * transparent TCP listener; each connection is carried on as MPTCP to the
 * original destination, from the original source (IP_TRANSPARENT). With
 * the marker, its SYN says so to the HAG; off-path, it goes to an MCP with
 * an MP_CONVERT head naming the server (user/roles/upstream.c).
 */
#include <netinet/in.h>
#include <stdlib.h>

#include "daemon/daemon.h"
#include "relay/relay.h"
#include "roles/roles.h"
#include "roles/race.h"
#include "roles/upstream.h"
#include "xmcp_maps.h"

struct role_state {
	struct upstream *upstream; /* off-path: connections on their way to an MCP */
	struct race *race;	   /* on-path with "health": legs racing across the paths */
};

static __u32 steer_mode(const struct policy *p, enum dev_group g)
{
	if (g == DEV_LAN)
		return XMCP_STEER_PLAIN_SYN;
	/* elsewhere only the segments of its own flows are marked */
	return g == DEV_ACCESS ? XMCP_STEER_ACCESS : 0;
}

static const char *syn_data_user(const struct policy *p)
{
	if (p->off_path)
		return "the off-path HCPE";
	return p->marker ? "the mp_convert marker" : NULL;
}

static int setup(struct worker *w)
{
	if (!(w->rs = calloc(1, sizeof(*w->rs))))
		return -1;
	if (w->pol->off_path && !(w->rs->upstream = upstream_new(w->pol, w->epfd, w->relay)))
		return -1;
	if (!w->pol->off_path && w->pol->health.on && !(w->rs->race = race_new(w->pol, w->epfd, w->relay)))
		return -1;
	return 0;
}

static void on_accept(struct worker *w, int cfd, const struct sockaddr_storage *client,
		      const struct sockaddr_storage *server, struct session *sess)
{
	/* to an off-path MCP, the server named in the SYN's MP_CONVERT */
	if (w->rs->upstream)
		upstream_add(w->rs->upstream, cfd, server);
	else if (w->rs->race)
		race_start(w->rs->race, cfd, client, server, sess);
	else
		worker_start_pair(w, cfd, client, server, sess, IPPROTO_MPTCP, w->pol->marker);
}

static void after_batch(struct worker *w)
{
	if (w->rs->upstream && upstream_busy(w->rs->upstream))
		upstream_expire(w->rs->upstream);
	if (w->rs->race) {
		if (race_busy(w->rs->race))
			race_expire(w->rs->race);
		race_reap(w->rs->race);
	}
}

/* Connects to an MCP, and races, have deadlines: look at them every 20 ms while there are. */
static int wait_ms(const struct worker *w)
{
	if (w->rs->race && race_busy(w->rs->race))
		return 20;
	return w->rs->upstream && upstream_busy(w->rs->upstream) ? 20 : -1;
}

static void set_policy(struct worker *w, const struct policy *p)
{
	if (w->rs->upstream)
		upstream_set_policy(w->rs->upstream, p);
	if (w->rs->race)
		race_set_policy(w->rs->race, p);
}

/* Each MCP's attempts, summed over the workers. */
static void log_summary(const struct daemon *d, FILE *f)
{
	unsigned int i, k;
	struct race_stats rs = { 0 };

	for (k = 0; k < d->n_workers; k++)
		if (d->workers[k].rs && d->workers[k].rs->race) {
			rs.raced += race_stats(d->workers[k].rs->race)->raced;
			rs.failed += race_stats(d->workers[k].rs->race)->failed;
			rs.rerun += race_stats(d->workers[k].rs->race)->rerun;
		}
	if (d->pol->health.on && !d->pol->off_path)
		fprintf(f, "xmcp: %llu connections raced a second path, %llu found none answering\n", rs.raced,
			rs.failed);
	if (d->pol->n_hags)
		fprintf(f, "xmcp: %llu connections raced again on the HAG the HCPE went over to while they raced\n",
			rs.rerun);

	for (i = 0; d->pol->off_path && i < d->pol->n_mcps; i++) {
		struct upstream_cand_stats sum = { 0 };

		for (k = 0; k < d->n_workers; k++) {
			const struct worker *w = &d->workers[k];
			const struct upstream_cand_stats *c;

			if (!w->rs || !w->rs->upstream)
				continue;
			c = upstream_stats(w->rs->upstream, i);
			sum.tried += c->tried;
			sum.connected += c->connected;
			sum.failed += c->failed;
		}
		fprintf(f, "xmcp: MCP %s: %llu tried, %llu connected, %llu failed\n", d->pol->mcps[i].text,
			sum.tried, sum.connected, sum.failed);
	}
}

/* The role's modules (its state itself the core frees). */
static void role_free(struct worker *w)
{
	if (w->rs) {
		upstream_free(w->rs->upstream);
		race_free(w->rs->race);
	}
}

const struct role_ops hcpe_role = {
	.listen_proto = IPPROTO_TCP,
	.steer_mode = steer_mode,
	.syn_data_user = syn_data_user,
	.setup = setup,
	.on_accept = on_accept,
	.after_batch = after_batch,
	.wait_ms = wait_ms,
	.set_policy = set_policy,
	.log_summary = log_summary,
	.free = role_free,
};
