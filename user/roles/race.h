/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The on-path HCPE's server legs when the policy has "health"
 * (user/daemon/health.h): a LAN connection's MPTCP SYN leaves by the best
 * path (its mark, so its routing table); if no answer comes within
 * failover_ms, a second leg leaves by the next path, and so on, all of them
 * racing (happy eyeballs across lines, RFC 8305's idea): the first to
 * connect becomes the pair's server leg, the others are reset. A leg that
 * fails at once (unreachable) hands over to the next path at once. The
 * client waits at most connect_timeout, as without health.
 */
#ifndef XMCP_RACE_H
#define XMCP_RACE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "policy/policy.h"

struct relay;
struct session;
struct race;

struct race_stats {
	unsigned long long raced;  /* connections that needed a second path */
	unsigned long long failed; /* no path answered: the client was reset */
	unsigned long long rerun;  /* raced again on the HAG the HCPE went over to meanwhile */
};

struct race *race_new(const struct policy *p, int epfd, struct relay *relay);
void race_set_policy(struct race *r, const struct policy *p);
/* Take an accepted LAN client whose original destination is server. */
void race_start(struct race *r, int cfd, const struct sockaddr_storage *client,
		const struct sockaddr_storage *server, struct session *sess);
/* Races under way: call race_expire() every few ms while there are. */
bool race_busy(const struct race *r);
void race_expire(struct race *r);
/* Free the races that ended in this batch of events (after each batch). */
void race_reap(struct race *r);
const struct race_stats *race_stats(const struct race *r);
void race_free(struct race *r);

#endif
