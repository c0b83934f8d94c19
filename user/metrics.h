/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's metrics listener ("metrics" in the policy): GET /metrics
 * answers `xmcp stats --prometheus`, over HTTP/1.0, on a loopback address
 * only (a node exporter or Prometheus agent on the same host scrapes it).
 */
#ifndef XMCP_METRICS_H
#define XMCP_METRICS_H

#include <sys/socket.h>

/* The listening socket (non-blocking), or -1 after saying why. */
int metrics_listen(const struct sockaddr_storage *sa, socklen_t len);
#include <json-c/json.h>

/* Answer the waiting scrapes (summary: the daemon's paths and classes); each is bounded by a short timeout. */
void metrics_accept(int lfd, json_object *(*summary)(void *arg), void *arg);

#endif
