/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The HCPE's upstream side of the plain mode toward an off-path MCP
 * (draft-boucadair section 6, deng 6.5): each LAN connection becomes an
 * MPTCP connection to an MCP whose SYN data is an MP_CONVERT naming the
 * original destination. The MCP candidates are tried in the policy's order;
 * one that fails, or does not answer within the connect timeout, is passed
 * over for retry_after seconds and the next one is tried at once.
 */
#ifndef XMCP_UPSTREAM_H
#define XMCP_UPSTREAM_H

#include <stdbool.h>
#include <sys/socket.h>

#include "mp_convert.h"
#include "policy/policy.h"
#include "relay/relay.h"

struct upstream;

struct upstream_cand_stats {
	unsigned long long tried, connected, failed;
};

struct upstream *upstream_new(const struct policy *p, int epfd, struct relay *relay);
/* A reload swapped the policy in (p is kept; its MCPs are the same: a reload can't change them). */
void upstream_set_policy(struct upstream *u, const struct policy *p);
/* Take an accepted LAN client whose original destination is server; -1: it was reset. */
int upstream_add(struct upstream *u, int client_fd, const struct sockaddr_storage *server);
/* Give up on attempts past their deadline; while upstream_busy(), call every few ms. */
bool upstream_busy(const struct upstream *u);
void upstream_expire(struct upstream *u);
void upstream_free(struct upstream *u);
/* Candidate i of the policy's list (i < the list's length). */
const struct upstream_cand_stats *upstream_stats(const struct upstream *u, unsigned int i);


#endif
