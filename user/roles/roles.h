/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the daemon's roles, behind one table: the core
 * (user/daemon/) calls these and never asks which role it runs.
 *
 *   hcpe.c  customer side: plain TCP in, MPTCP out (to the HAG, or to an
 *           off-path MCP with an MP_CONVERT head)
 *   hag.c   network side: MPTCP in, plain TCP out, transparent; modes,
 *           the marker, terminate_tcp
 *   mcp.c   MP_CONVERT plain mode: MPTCP in with a head naming the server
 *
 * Required: listen_proto, steer_mode, setup (it allocates d->rs, which
 * the other hooks use) and on_accept; any other hook left NULL does
 * nothing.
 */
#ifndef XMCP_ROLES_H
#define XMCP_ROLES_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "policy/policy.h"

struct daemon;
struct worker;
struct session;
struct xmcp;

/* The device groups of a policy's "interfaces", in the order steer_mode takes them. */
enum dev_group { DEV_LAN, DEV_ACCESS, DEV_WAN, DEV_GROUPS };

struct role_ops {
	/* the listeners' protocol: IPPROTO_TCP or IPPROTO_MPTCP */
	int listen_proto;
	/* what tc does with SYNs on a device of group g (XMCP_STEER_*) */
	__u32 (*steer_mode)(const struct policy *p, enum dev_group g);
	/* the role's settings of the BPF programs (their rodata), before load */
	void (*configure)(const struct policy *p, struct xmcp *skel);
	/* the listeners take SYN data (an MP_CONVERT head or the marker) */
	bool (*takes_syn_data)(const struct policy *p);
	/* what needs TCP Fast Open on MPTCP sockets in this policy, or NULL */
	const char *(*syn_data_user)(const struct policy *p);
	/* the server is named after accept (the MCP's head): no destination check at accept */
	bool names_server_later;

	/* the role's own modules in w->rs (calloc'd here, once per worker), once the relay and admission are there; 0 or -1 */
	int (*setup)(struct worker *w);
	/* an accepted, admitted client to server: make the pair, or hand it on */
	void (*on_accept)(struct worker *w, int cfd, const struct sockaddr_storage *client,
			  const struct sockaddr_storage *server, struct session *sess);
	/* every second: the role's deadlines */
	void (*tick)(struct worker *w);
	/* after each batch of events: what ended is freed (user/lib/evloop.h) */
	void (*after_batch)(struct worker *w);
	/* how long the loop may sleep for the role (ms; -1: no limit) */
	int (*wait_ms)(const struct worker *w);
	/* a reload swapped the policy in: nothing may keep pointing at the old one */
	void (*set_policy)(struct worker *w, const struct policy *p);
	/* connections reset before their head or marker came */
	unsigned long long (*no_head)(const struct worker *w);
	/* connections accepted and not yet a pair (an MCP's waiting for their head): a drain waits for them too */
	unsigned int (*waiting)(const struct worker *w);
	/* the role's lines of the summary on the way out, every worker's counted */
	void (*log_summary)(const struct daemon *d, FILE *f);
	/* connections without a valid marker (the summary's "without their marker") */
	unsigned long long (*bad_marker)(const struct worker *w);
	/* free the role's modules (w->rs may be NULL: setup failed); the core frees w->rs after */
	void (*free)(struct worker *w);
};

extern const struct role_ops hcpe_role, hag_role, mcp_role;

static inline const struct role_ops *role_of(enum pol_role r)
{
	return r == POL_ROLE_HCPE ? &hcpe_role : r == POL_ROLE_HAG ? &hag_role : &mcp_role;
}

#endif
