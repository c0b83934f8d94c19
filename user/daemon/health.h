/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Path health (the HCPE's policy "health"): which access path a new
 * connection tries first, and which next.
 *
 * Each path is probed every interval: a TCP SYN to each probe target, sent
 * out of the path only (the path's mark, so its routing table, and the
 * path's device bound); a SYN+ACK or a RST is an answer (both prove the line
 * carries packets both ways), nothing within the timeout is a loss. With
 * paths naming HAGs, each path probes its HAG's probe port instead, and
 * only a SYN+ACK answers; new connections go to one HAG (the first with a
 * path not down) and the ranking holds only its paths. The
 * legs of real connections count too (health_leg_result). A path is
 *   up       answered, loss and RTT within the policy's limits;
 *   demoted  answered, but losing more than max_loss_percent of the last
 *            20 probes, or slower than max_rtt_ms: used when no path is up;
 *   down     down_after probes lost in a row; up again after up_after
 *            answered in a row (its earlier losses forgotten).
 * The ranking (up primaries in policy order, up backups, demoted ones, down
 * ones last) is published for the workers in one atomic word. The main
 * thread runs the probes; the workers only read and report.
 */
#ifndef XMCP_HEALTH_H
#define XMCP_HEALTH_H

#include <stdbool.h>
#include <linux/types.h>
#include <json-c/json.h>

#include "policy/policy.h"

enum path_state { PATH_UP, PATH_DEMOTED, PATH_DOWN };

struct health;

/*
 * Probes of p's paths on epfd (the main thread's loop); on_change(arg) runs
 * there whenever the best path changes. NULL when p has no "health" (then
 * nothing else here is needed), or on failure (errno set).
 */
struct health *health_open(const struct policy *p, int epfd, void (*on_change)(void *arg), void *arg);
void health_close(struct health *h);
/* A reload's policy, in the main thread (health and paths are the same: a reload can't change them). */
void health_set_policy(struct health *h, const struct policy *p);

/*
 * Any thread: the paths (policy indexes) in the order new connections try
 * them, with several HAGs only the active HAG's; their number (0 when
 * health is off).
 */
unsigned int health_order(unsigned int order[POL_MAX_PATHS]);
/* Any thread: a leg's SYN on path i was answered, or was not in time. */
void health_leg_result(unsigned int i, bool answered);
/* The mark of path i's sockets (its routing rules, user/install/install.c). */
__u32 health_mark(const struct policy *p, unsigned int i);
/* The path whose mark that is (health_mark's inverse), or -1: a mark of no path. */
int health_path_of(const struct policy *p, __u32 mark);
/* Path i's health for the summary (`xmcp stats`, metrics); NULL when health is off. */
json_object *health_json(unsigned int i);

#endif
