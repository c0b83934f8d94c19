// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "stats.h"
#include "util.h"

#define METRICS_TIMEOUT_MS 200 /* a scraper that stalls can't hold the daemon's loop longer */

int metrics_listen(const struct sockaddr_storage *sa, socklen_t len)
{
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (const struct sockaddr *)sa, len) || listen(fd, 16)) {
		xmcp_err("cannot listen for metrics on port %d: %s", xmcp_sa_port(sa), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void respond(int fd, const char *status, const char *body, size_t len)
{
	char head[160];

	snprintf(head, sizeof(head),
		 "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, len);
	if (!xmcp_send_all(fd, head, strlen(head)))
		xmcp_send_all(fd, body, len);
}

/* One scrape: the request line decides; headers and body are not needed. */
static void serve(int fd, json_object *(*summary)(void *arg), void *arg)
{
	char req[512], *text = NULL;
	json_object *sum;
	size_t len = 0;
	ssize_t n;
	FILE *f;
	int err;

	xmcp_sock_timeouts(fd, METRICS_TIMEOUT_MS);
	n = recv(fd, req, sizeof(req) - 1, 0);
	if (n <= 0)
		return;
	req[n] = '\0';
	if (strncmp(req, "GET /metrics ", 13) && strncmp(req, "GET /metrics?", 13)) {
		respond(fd, "404 Not Found", "only /metrics here\n", 19);
		return;
	}
	f = open_memstream(&text, &len);
	sum = summary(arg);
	err = !f || stats_print(f, STATS_PROMETHEUS, sum);
	json_object_put(sum);
	if (err) {
		if (f)
			fclose(f);
		free(text);
		respond(fd, "500 Internal Server Error", "cannot read the counters\n", 25);
		return;
	}
	fclose(f);
	respond(fd, "200 OK", text, len);
	free(text);
}

void metrics_accept(int lfd, json_object *(*summary)(void *arg), void *arg)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		serve(fd, summary, arg);
		close(fd);
	}
}
