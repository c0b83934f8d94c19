// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <linux/mptcp.h>

#include "daemon/admission.h"
#include "lib/util.h"
#include "xmcp_addr.h"
#include "xmcp_maps.h"

/*
 * One for the daemon, shared by its workers (a subscriber's sessions count
 * across them): every entry point takes the lock, for the count in the map
 * is read, checked and written back.
 */
struct admission {
	pthread_mutex_t lock;
	const struct policy *pol;
	int sessions_fd, joins_fd, joins_new_fd;
	unsigned long long sessions[POL_MAX_CLASSES]; /* open now, by class */
};

/* What admission_end has to undo. */
struct session {
	struct xmcp_addr key; /* of XMCP_MAP_SESSIONS: the address, an IPv6 one's /64 */
	__u32 token;	      /* the key of XMCP_MAP_JOINS, when has_budget */
	bool has_budget;
	int cls;
};

struct admission *admission_new(const struct policy *p, int sessions_fd, int joins_fd, int joins_new_fd)
{
	struct admission *a = calloc(1, sizeof(*a));

	if (a) {
		pthread_mutex_init(&a->lock, NULL);
		a->pol = p;
		a->sessions_fd = sessions_fd;
		a->joins_fd = joins_fd;
		a->joins_new_fd = joins_new_fd;
	}
	return a;
}

void admission_set_policy(struct admission *a, const struct policy *p)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->pol = p;
	pthread_mutex_unlock(&a->lock);
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

/* The session map's key: canonical (include/xmcp_addr.h), an IPv6 subscriber by its /64. */
static void addr_key(const struct sockaddr_storage *ss, struct xmcp_addr *key)
{
	if (ss->ss_family == AF_INET)
		xmcp_addr_from4(key, xmcp_sa_addr(ss));
	else
		xmcp_addr_from6(key, xmcp_sa_addr(ss));
	xmcp_addr_subscriber(key);
}

/*
 * One more session for key, if its class allows (max 0: no limit). The
 * daemon is the only writer of the counts, so a read, a check and a write
 * are enough; the map is there for bpftool and `xmcp stats`. A count that
 * cannot be written (the map is full: XMCP_SYN_BUCKETS subscribers with
 * sessions) refuses the session: a limit that is not recorded would not
 * be enforced. -1: refused; *why says which.
 */
static int session_up(struct admission *a, const struct xmcp_addr *key, __u32 max, const char **why)
{
	__u32 n = 0;

	bpf_map_lookup_elem(a->sessions_fd, key, &n);
	if (max && n >= max) {
		*why = "at its class's max_sessions";
		return -1;
	}
	n++;
	if (bpf_map_update_elem(a->sessions_fd, key, &n, BPF_ANY)) {
		*why = "the session table is full";
		return -1;
	}
	return 0;
}

/* One session less for key: never below zero, the entry gone at zero. */
static void session_down(struct admission *a, const struct xmcp_addr *key)
{
	__u32 n = 0;

	if (bpf_map_lookup_elem(a->sessions_fd, key, &n) || n <= 1) {
		bpf_map_delete_elem(a->sessions_fd, key);
		return;
	}
	n--;
	bpf_map_update_elem(a->sessions_fd, key, &n, BPF_ANY);
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

static int admit(struct admission *a, int cfd, const struct sockaddr_storage *client,
		 struct session **out)
{
	const struct policy *p = a->pol;
	const struct pol_class *k;
	struct session *s;
	const char *why;
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
		return -1; /* no record, no limit: refused, like a full table */
	addr_key(client, &s->key);
	if (session_up(a, &s->key, k->max_sessions, &why)) {
		xmcp_dbg("session refused: the subscriber (class %s, max_sessions %u): %s", k->name,
			 k->max_sessions, why);
		free(s);
		return -1;
	}
	if (take_join_budget(a, cfd, k, s)) {
		session_down(a, &s->key);
		free(s);
		return -1;
	}
	s->cls = cls;
	a->sessions[cls]++;
	*out = s;
	return 0;
}

int admission_admit(struct admission *a, int cfd, const struct sockaddr_storage *client,
		    struct session **out)
{
	int r;

	pthread_mutex_lock(&a->lock);
	r = admit(a, cfd, client, out);
	pthread_mutex_unlock(&a->lock);
	return r;
}

void admission_end(struct admission *a, struct session *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&a->lock);
	session_down(a, &s->key);
	a->sessions[s->cls]--;
	if (s->has_budget)
		bpf_map_delete_elem(a->joins_fd, &s->token);
	pthread_mutex_unlock(&a->lock);
	free(s);
}

unsigned long long admission_sessions(struct admission *a, unsigned int cls)
{
	unsigned long long n;

	pthread_mutex_lock(&a->lock);
	n = cls < POL_MAX_CLASSES ? a->sessions[cls] : 0;
	pthread_mutex_unlock(&a->lock);
	return n;
}
