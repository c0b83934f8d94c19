// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <linux/mptcp.h>

#include "admission.h"
#include "util.h"
#include "xmcp_maps.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

struct admission {
	const struct policy *pol;
	int sessions_fd, joins_fd, joins_new_fd;
	unsigned long long refused;
	unsigned long long sessions[POL_MAX_CLASSES]; /* open now, by class */
};

/* What admission_end has to undo. */
struct session {
	__u8 addr[16]; /* the key of XMCP_MAP_SESSIONS */
	__u32 token;   /* the key of XMCP_MAP_JOINS, when has_budget */
	bool has_budget;
	int cls;
};

struct admission *admission_new(const struct policy *p, int sessions_fd, int joins_fd, int joins_new_fd)
{
	struct admission *a = calloc(1, sizeof(*a));

	if (a) {
		a->pol = p;
		a->sessions_fd = sessions_fd;
		a->joins_fd = joins_fd;
		a->joins_new_fd = joins_new_fd;
	}
	return a;
}

void admission_free(struct admission *a)
{
	free(a);
}

int admission_load_classes(const struct policy *p, int classes_fd)
{
	__u32 i;

	for (i = 0; i < XMCP_MAX_CLASSES; i++) {
		const struct pol_class *k = &p->classes[i];
		struct xmcp_class_cfg v = { 0 };

		if (i < p->n_classes)
			v = (struct xmcp_class_cfg){ .max_sessions = k->max_sessions,
						     .max_subflows = k->max_subflows,
						     .syn_rate = k->syn_rate,
						     .syn_burst = k->syn_burst };
		if (bpf_map_update_elem(classes_fd, &i, &v, BPF_ANY)) {
			xmcp_err("cannot load the subscriber classes: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The session map's key: IPv4 as IPv4-mapped IPv6, as in the datapath. */
static void addr_key(const struct sockaddr_storage *ss, __u8 key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(&key[12], xmcp_sa_addr(ss), 4);
	} else {
		memcpy(key, xmcp_sa_addr(ss), 16);
	}
}

/*
 * The daemon is the only writer of the session counts, so a read, a check
 * and a write are enough; the map is there for bpftool and `xmcp stats`.
 */
static int count_session(struct admission *a, const __u8 key[16], int delta, __u32 max)
{
	__u32 n = 0;

	bpf_map_lookup_elem(a->sessions_fd, key, &n);
	if (delta > 0 && max && n >= max)
		return -1;
	n += delta;
	if (n)
		bpf_map_update_elem(a->sessions_fd, key, &n, BPF_ANY);
	else
		bpf_map_delete_elem(a->sessions_fd, key);
	return 0;
}

/* The connection's MPTCP token (what its MP_JOIN SYNs name); -1 if it has none (fell back). */
static int mptcp_token(int fd, __u32 *token)
{
	struct mptcp_info mi;
	socklen_t len = sizeof(mi);

	if (xmcp_sock_protocol(fd) != IPPROTO_MPTCP ||
	    getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &mi, &len) || len < sizeof(mi))
		return -1;
	*token = mi.mptcpi_token;
	return 0;
}

/*
 * The connection's join budget, from where the datapath put it at the
 * SYN+ACK (XMCP_MAP_JOINS_NEW, an LRU map) into XMCP_MAP_JOINS, where no
 * eviction can take it before the pair ends; a fresh one if it was evicted
 * already. A join counted in the moment between the read and the delete
 * is lost: the budget is exact to within that one join. -1 when the budget
 * can't be recorded (the map is full): the session is refused rather than
 * let through without its limit.
 */
static int take_join_budget(struct admission *a, int cfd, const struct pol_class *k, struct session *s)
{
	struct xmcp_join_budget b = { .max_joins = k->max_subflows - 1 };

	if (!k->max_subflows || mptcp_token(cfd, &s->token))
		return 0; /* no limit, or no MPTCP (fell back): no joins to count */
	bpf_map_lookup_elem(a->joins_new_fd, &s->token, &b);
	if (bpf_map_update_elem(a->joins_fd, &s->token, &b, BPF_ANY)) {
		xmcp_dbg("session refused: cannot record its join budget: %s", strerror(errno));
		return -1;
	}
	bpf_map_delete_elem(a->joins_new_fd, &s->token);
	s->has_budget = true;
	return 0;
}

int admission_admit(struct admission *a, int cfd, const struct sockaddr_storage *client,
		    struct session **out)
{
	const struct policy *p = a->pol;
	const struct pol_class *k;
	struct session *s;
	int cls;

	*out = NULL;
	if (!p->n_classes)
		return 0;
	cls = policy_subscriber_class(p, client->ss_family, xmcp_sa_addr(client));
	if (cls < 0)
		return 0; /* terminate_tcp and the like: not a subscriber prefix's */
	k = &p->classes[cls];
	s = calloc(1, sizeof(*s));
	if (!s)
		return 0;
	addr_key(client, s->addr);
	if (count_session(a, s->addr, 1, k->max_sessions)) {
		a->refused++;
		xmcp_dbg("session refused: the subscriber is at its class %s's max_sessions (%u)",
			 k->name, k->max_sessions);
		free(s);
		return -1;
	}
	if (take_join_budget(a, cfd, k, s)) {
		count_session(a, s->addr, -1, 0);
		a->refused++;
		free(s);
		return -1;
	}
	s->cls = cls;
	a->sessions[cls]++;
	*out = s;
	return 0;
}

void admission_end(struct admission *a, struct session *s)
{
	if (!s)
		return;
	count_session(a, s->addr, -1, 0);
	a->sessions[s->cls]--;
	if (s->has_budget)
		bpf_map_delete_elem(a->joins_fd, &s->token);
	free(s);
}

unsigned long long admission_refused(const struct admission *a)
{
	return a->refused;
}

unsigned long long admission_sessions(const struct admission *a, unsigned int cls)
{
	return cls < POL_MAX_CLASSES ? a->sessions[cls] : 0;
}
