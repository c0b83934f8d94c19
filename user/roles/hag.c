// SPDX-License-Identifier: GPL-2.0
/*
 * The HAG: subscribers' MP_CAPABLE SYNs arriving from the access side are
 * steered into a transparent MPTCP listener; each connection is carried on
 * as plain TCP to the original destination, from the original source. A
 * destination in hybrid mode gets an MPTCP server leg (the datapath learns
 * from its SYN+ACK whether the server speaks MPTCP); with the marker, an
 * MPTCP client's stream must begin with it (user/roles/head.c) before its pair
 * is made; with terminate_tcp, subscribers' plain TCP is taken too.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "daemon/daemon.h"
#include "roles/head.h"
#include "mp_convert.h"
#include "roles/roles.h"
#include "daemon/admission.h"
#include "lib/util.h"
#include "xmcp.skel.h"

struct role_state {
	struct heads *heads;	       /* with the marker: clients whose marker has not come yet */
	unsigned long long bad_marker; /* ... and did not bring it */
	unsigned long long no_head;    /* ... of those, closed or late */
};

static __u32 steer_mode(const struct policy *p, enum dev_group g)
{
	if (g != DEV_ACCESS)
		return 0; /* only mark the segments of its own flows */
	/* answers go back by the line a flow arrived on (bpf/path.bpf.c): several lines reach a subscriber */
	return XMCP_STEER_ACCESS | XMCP_STEER_MPTCP_SYN | XMCP_STEER_ARRIVAL |
	       (p->terminate_tcp ? XMCP_STEER_PLAIN_SYN : 0);
}

static void configure(const struct policy *p, struct xmcp *skel)
{
	skel->rodata->cfg_marker = p->marker;
	/* the arrival map's room, which only the HAG uses (the object's own is one entry) */
	bpf_map__set_max_entries(skel->maps.XMCP_MAP_ARRIVAL, XMCP_MAX_ARRIVALS);
}

static bool takes_syn_data(const struct policy *p)
{
	return p->marker;
}

static const char *syn_data_user(const struct policy *p)
{
	return p->marker ? "the mp_convert marker" : NULL;
}

/*
 * A hybrid destination: its server leg offers MPTCP, so that an
 * MPTCP-capable server says so in its SYN+ACK (the datapath learns it from
 * there and later connections to it pass natively); a TCP-only server makes
 * the kernel fall back to TCP on its own, which costs nothing.
 */
static int server_proto(const struct policy *p, const struct sockaddr_storage *server)
{
	return p->has_modes && policy_mode_for(p, server->ss_family, xmcp_sa_addr(server),
					       xmcp_sa_port(server)) == XMCP_MODE_HYBRID
		       ? IPPROTO_MPTCP
		       : IPPROTO_TCP;
}

/* The head of a client's stream was the marker (now read off it), or was not (the head module resets it). */
static void marker_done(void *arg, int fd, enum head_result r, const struct mpc_frame *f, int err, struct session *sess)
{
	struct worker *w = arg;
	struct sockaddr_storage client, server;
	socklen_t clen = sizeof(client), slen = sizeof(server);

	if (r == HEAD_LATE)
		w->rs->no_head++;
	if (r != HEAD_OK) {
		w->rs->bad_marker++;
		xmcp_dbg("marked connection without a valid marker at its head (%s)",
			 r == HEAD_BAD ? mpc_strerror(err) : r == HEAD_NONE ? "no MP_CONVERT" : "closed or late");
		admission_end(w->adm, sess);
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&client, &clen) ||
	    getsockname(fd, (struct sockaddr *)&server, &slen)) {
		admission_end(w->adm, sess);
		daemon_reset(fd);
		return;
	}
	worker_start_pair(w, fd, &client, &server, sess, server_proto(w->pol, &server), false);
}

static int setup(struct worker *w)
{
	if (!(w->rs = calloc(1, sizeof(*w->rs))))
		return -1;
	if (w->pol->marker && !(w->rs->heads = heads_new(w->epfd, w->pol->head_timeout, marker_done, w)))
		return -1;
	return 0;
}

static void on_accept(struct worker *w, int cfd, const struct sockaddr_storage *client,
		      const struct sockaddr_storage *server, struct session *sess)
{
	/* the marker mode's MPTCP clients: the marker first (terminate_tcp's plain TCP has none) */
	if (w->rs->heads && xmcp_sock_protocol(cfd) == IPPROTO_MPTCP)
		heads_add(w->rs->heads, cfd, sess);
	else
		worker_start_pair(w, cfd, client, server, sess, server_proto(w->pol, server), false);
}

static void tick(struct worker *w)
{
	if (w->rs->heads)
		heads_expire(w->rs->heads);
}

static void after_batch(struct worker *w)
{
	if (w->rs->heads)
		heads_reap(w->rs->heads);
}

static void set_policy(struct worker *w, const struct policy *p)
{
	if (w->rs->heads)
		heads_set_timeout(w->rs->heads, p->head_timeout);
}

static unsigned long long no_head(const struct worker *w)
{
	return w->rs->no_head;
}

static unsigned long long bad_marker(const struct worker *w)
{
	return w->rs->bad_marker;
}

/* The role's modules (its state itself the core frees). */
static void role_free(struct worker *w)
{
	if (w->rs)
		heads_free(w->rs->heads); /* its connections are the relay's to be, their sessions the admission's */
}

const struct role_ops hag_role = {
	.listen_proto = IPPROTO_MPTCP,
	.steer_mode = steer_mode,
	.configure = configure,
	.takes_syn_data = takes_syn_data,
	.syn_data_user = syn_data_user,
	.setup = setup,
	.on_accept = on_accept,
	.tick = tick,
	.after_batch = after_batch,
	.set_policy = set_policy,
	.no_head = no_head,
	.bad_marker = bad_marker,
	.free = role_free,
};
