/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The off-path MCP (draft-boucadair-mptcp-plain-mode, section 5): an MPTCP
 * connection accepted on the MCP's own address starts with one or two
 * MP_CONVERT options and an EOL (SYN data, or the head of the stream);
 * they name the server. This module holds such connections until that head
 * has arrived, checks it, opens TCP to the server from the MCP's own
 * address, drops the head and hands both legs to the relay.
 */
#ifndef XMCP_MCP_H
#define XMCP_MCP_H

#include <stdbool.h>

#include "policy/policy.h"
#include "relay/relay.h"

struct session; /* user/daemon/admission.h */

struct mcp;

struct mcp_stats {
	unsigned long long converted;  /* server leg opened, pair handed to the relay */
	unsigned long long no_convert; /* the stream did not start with MP_CONVERT */
	unsigned long long bad_convert; /* broken framing, or no destination option */
	unsigned long long forbidden;  /* destination refused (user/daemon/dest.h): special, forbidden, local */
	unsigned long long no_head;    /* closed, reset, or silent for head_timeout, before its head */
	unsigned long long connect_error; /* the server leg could not even be started */
	unsigned long long source_refused; /* a source option the policy does not allow: own address used */
};

struct dest_check;
/* dest: the check every destination passes (user/daemon/dest.h), kept, not owned. */
struct mcp *mcp_new(const struct policy *p, int epfd, struct relay *relay, struct dest_check *dest);
/* A reloaded policy: its forbidden prefixes, transparent_source and head_timeout (p is kept). */
void mcp_set_policy(struct mcp *m, const struct policy *p);
/*
 * Take an accepted client (user/roles/head.h waits for its head); -1 (and it is
 * reset) when it can't be watched. sess goes with it to relay_add, or to
 * relay_end_session if it never gets there.
 */
int mcp_add(struct mcp *m, int client_fd, struct session *sess);
/* End the clients whose head is late (head_timeout); every second or so. */
void mcp_expire(struct mcp *m);
/* Free what ended during a batch of events; after each batch. */
void mcp_reap(struct mcp *m);
void mcp_free(struct mcp *m);
const struct mcp_stats *mcp_stats(const struct mcp *m);
/* Connections waiting for their MP_CONVERT head now. */
unsigned int mcp_waiting(const struct mcp *m);

#endif
