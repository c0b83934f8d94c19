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

static int setup(struct daemon *d)
{
	if (!(d->rs = calloc(1, sizeof(*d->rs))))
		return -1;
	d->rs->mcp = mcp_new(d->pol, d->epfd, d->relay, d->dest);
	return d->rs->mcp ? 0 : -1;
}

/* The server is named by the MP_CONVERT head, still to come. */
static void on_accept(struct daemon *d, int cfd, const struct sockaddr_storage *client,
		      const struct sockaddr_storage *server, struct session *sess)
{
	mcp_add(d->rs->mcp, cfd, sess);
}

static void tick(struct daemon *d)
{
	mcp_expire(d->rs->mcp);
}

static void after_batch(struct daemon *d)
{
	mcp_reap(d->rs->mcp);
}

static void set_policy(struct daemon *d, const struct policy *p)
{
	mcp_set_policy(d->rs->mcp, p);
}

static unsigned long long no_head(const struct daemon *d)
{
	return mcp_stats(d->rs->mcp)->no_head;
}

static void log_summary(const struct daemon *d, FILE *f)
{
	const struct mcp_stats *m = mcp_stats(d->rs->mcp);

	fprintf(f,
		"xmcp: mcp: %llu converted; reset: %llu without MP_CONVERT, %llu with a broken one, "
		"%llu to a refused destination, %llu without a head, %llu failed to connect; "
		"%llu source options not allowed\n",
		m->converted, m->no_convert, m->bad_convert, m->forbidden, m->no_head, m->connect_error,
		m->source_refused);
}

/* The role's modules (its state itself the core frees). */
static void role_free(struct daemon *d)
{
	if (d->rs)
		mcp_free(d->rs->mcp);
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
	.log_summary = log_summary,
	.free = role_free,
};
