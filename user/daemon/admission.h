/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Admission by subscriber class, the daemon's half (the datapath's half,
 * the SYN rate and the subflow budget, is in bpf/classify.bpf.c): concurrent
 * M-sessions per subscriber address, counted in XMCP_MAP_SESSIONS, and the
 * join budget of each terminated MPTCP connection in XMCP_MAP_JOINS.
 */
#ifndef XMCP_ADMISSION_H
#define XMCP_ADMISSION_H

#include <sys/socket.h>

#include "policy/policy.h"

struct admission;
struct session;

/* The maps of the loaded object; the policy is read at each admit (reloads change it). */
struct admission *admission_new(const struct policy *p, int sessions_fd, int joins_fd, int joins_new_fd);
/* A reload swapped the policy in (p is kept); a NULL a is no admission. */
void admission_set_policy(struct admission *a, const struct policy *p);
void admission_free(struct admission *a);
/* Load the classes' limits into the datapath's class map; 0 or -1. */
int admission_load_classes(const struct policy *p, int classes_fd);

/*
 * A client connection from `client` was accepted. 0: admitted, *s is its
 * session (NULL when its class counts nothing), to end with admission_end.
 * -1: its subscriber address is at its class's max_sessions; reset it.
 */
int admission_admit(struct admission *a, int cfd, const struct sockaddr_storage *client,
		    struct session **s);
void admission_end(struct admission *a, struct session *s);
/* Sessions of class cls open now. */
unsigned long long admission_sessions(struct admission *a, unsigned int cls);

#endif
