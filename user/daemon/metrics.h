/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's metrics listener ("metrics" in the policy): GET /metrics
 * answers `xmcp stats --prometheus`, on a loopback address only (a node
 * exporter or Prometheus agent on the same host scrapes it).
 *
 * HTTP is libmicrohttpd's, run from the daemon's own event loop (its epoll
 * descriptor inside ours, no thread of its own), so a scrape is answered
 * with no lock and never blocks relaying: at most METRICS_MAX_CLIENTS
 * connections (METRICS_PER_IP from one address), a request of at most
 * METRICS_MEMORY bytes, METRICS_TIMEOUT_S of silence before a connection
 * is dropped, and METRICS_DEADLINE_S for a whole connection, however busy.
 */
#ifndef XMCP_METRICS_H
#define XMCP_METRICS_H

#include <sys/socket.h>

#include <json-c/json.h>

#define METRICS_MAX_CLIENTS 16
#define METRICS_PER_IP 4
#define METRICS_MEMORY (32 << 10)
#define METRICS_TIMEOUT_S 2
#define METRICS_DEADLINE_S 5

struct metrics;

/*
 * Listen at sa (a port taken by another socket is an error that says so);
 * summary gives the daemon's paths and classes for each scrape. NULL after
 * saying why.
 */
struct metrics *metrics_open(int epfd, const struct sockaddr_storage *sa, socklen_t len,
			     json_object *(*summary)(void *arg), void *arg);
/* Drop connections silent past their timeout or open past their deadline; every second or so. */
void metrics_tick(struct metrics *m);
void metrics_close(struct metrics *m);

#endif
