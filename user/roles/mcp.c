// SPDX-License-Identifier: GPL-2.0
/*
 * The MCP of the MP_CONVERT plain mode: MPTCP connections from subscribers
 * arrive with an MP_CONVERT head (SYN data, or the head of the stream)
 * naming the server; user/roles/mcp_convert.c waits for it, checks it and opens the
 * server leg. Origin checks are always on.
 */
#include <netinet/in.h>
#include <stdlib.h>

#include "daemon/daemon.h"
#include "roles/mcp_convert.h"
#include "roles/roles.h"
#include "xmcp.skel.h"

struct role_state {
	struct mcp *mcp; /* connections waiting for their MP_CONVERT head */
};

static __u32 steer_mode(const struct policy *p, enum dev_group g)
{
	return g == DEV_ACCESS ? XMCP_STEER_ACCESS | XMCP_STEER_CONVERT : 0;
}

static void configure(const struct policy *p, struct xmcp *skel)
{
	skel->rodata->cfg_origin_check = 1;
}

static bool takes_syn_data(const struct policy *p)
{
	return true;
}

static const char *syn_data_user(const struct policy *p)
{
	return "the MCP role";
}

static int setup(struct worker *w)
{
	if (!(w->rs = calloc(1, sizeof(*w->rs))))
		return -1;
	w->rs->mcp = mcp_new(w->pol, w->epfd, w->relay, w->dest);
	return w->rs->mcp ? 0 : -1;
}

/* The server is named by the MP_CONVERT head, still to come. */
static void on_accept(struct worker *w, int cfd, const struct sockaddr_storage *client,
		      const struct sockaddr_storage *server, struct session *sess)
{
	mcp_add(w->rs->mcp, cfd, sess);
}

static void tick(struct worker *w)
{
	mcp_expire(w->rs->mcp);
}

static void after_batch(struct worker *w)
{
	mcp_reap(w->rs->mcp);
}

static void set_policy(struct worker *w, const struct policy *p)
{
	mcp_set_policy(w->rs->mcp, p);
}

static unsigned long long no_head(const struct worker *w)
{
	return mcp_stats(w->rs->mcp)->no_head;
}

static unsigned int waiting(const struct worker *w)
{
	return mcp_waiting(w->rs->mcp);
}

/* The conversions' account, summed over the workers. */
static void log_summary(const struct daemon *d, FILE *f)
{
	struct mcp_stats m = { 0 };
	unsigned int k;

	for (k = 0; k < d->n_workers; k++) {
		const struct mcp_stats *s;

		if (!d->workers[k].rs || !d->workers[k].rs->mcp)
			continue;
		s = mcp_stats(d->workers[k].rs->mcp);
		m.converted += s->converted;
		m.no_convert += s->no_convert;
		m.bad_convert += s->bad_convert;
		m.forbidden += s->forbidden;
		m.no_head += s->no_head;
		m.connect_error += s->connect_error;
		m.source_refused += s->source_refused;
	}
	fprintf(f,
		"xmcp: mcp: %llu converted; reset: %llu without MP_CONVERT, %llu with a broken one, "
		"%llu to a refused destination, %llu without a head, %llu failed to connect; "
		"%llu source options not allowed\n",
		m.converted, m.no_convert, m.bad_convert, m.forbidden, m.no_head, m.connect_error,
		m.source_refused);
}

/* The role's modules (its state itself the core frees). */
static void role_free(struct worker *w)
{
	if (w->rs)
		mcp_free(w->rs->mcp);
}

const struct role_ops mcp_role = {
	.listen_proto = IPPROTO_MPTCP,
	.steer_mode = steer_mode,
	.configure = configure,
	.takes_syn_data = takes_syn_data,
	.syn_data_user = syn_data_user,
	.names_server_later = true,
	.setup = setup,
	.on_accept = on_accept,
	.tick = tick,
	.after_batch = after_batch,
	.set_policy = set_policy,
	.no_head = no_head,
	.waiting = waiting,
	.log_summary = log_summary,
	.free = role_free,
};
