// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "lib/evloop.h"
#include "daemon/metrics.h"
#include "kernel/stats.h"
#include "lib/util.h"

/* One client connection, from accept to close, for its overall deadline. */
struct client {
	int fd;
	time_t started;
	struct client *prev, *next;
};

struct metrics {
	struct ev_handler h; /* on libmicrohttpd's epoll descriptor */
	struct MHD_Daemon *mhd;
	json_object *(*summary)(void *arg);
	void *arg;
	struct client *clients;
};

/*
 * libmicrohttpd's own timeout counts silence: a client that trickles a
 * byte a second would hold its connection for ever, and four of them from
 * the scraper's own address would lock the scraper out. Each connection
 * is noted here, from start to close, so metrics_tick can end those past
 * METRICS_DEADLINE_S, however busy.
 */
static void notify(void *cls, struct MHD_Connection *conn, void **ctx, enum MHD_ConnectionNotificationCode toe)
{
	struct metrics *m = cls;
	const union MHD_ConnectionInfo *info;
	struct client *k = *ctx;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!info || !(k = calloc(1, sizeof(*k))))
			return; /* untracked: libmicrohttpd's silence timeout still holds */
		*k = (struct client){ .fd = info->connect_fd, .started = xmcp_now_s(), .next = m->clients };
		if (m->clients)
			m->clients->prev = k;
		m->clients = k;
		*ctx = k;
		return;
	}
	if (!k)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		m->clients = k->next;
	if (k->next)
		k->next->prev = k->prev;
	free(k);
	*ctx = NULL;
}

/* A short plain-text answer; MHD_NO when not even that can be built. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT(s) (char *)(s), sizeof(s) - 1, MHD_RESPMEM_PERSISTENT

/* The Prometheus text of the counters now, or NULL. */
static char *scrape(struct metrics *m, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	json_object *sum;
	int err;

	if (!f)
		return NULL;
	sum = m->summary(m->arg);
	err = stats_print(f, STATS_PROMETHEUS, sum);
	json_object_put(sum);
	if (fclose(f) || err) {
		free(text);
		return NULL;
	}
	return text;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_len, void **state)
{
	struct metrics *m = cls;
	size_t len;
	char *text;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT("GET /metrics only\n"));
	if (*upload_len) /* a GET with a body: not ours to read */
		return MHD_NO;
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, TEXT("only /metrics here\n"));
	text = scrape(m, &len);
	if (!text)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT("cannot read the counters\n"));
	return reply(conn, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE);
}

static void mhd_event(struct ev_handler *h, unsigned int events)
{
	struct metrics *m = container_of(h, struct metrics, h);

	MHD_run(m->mhd);
}

/* Our own socket, so that a port someone else holds is told by name. */
static int listen_socket(const struct sockaddr_storage *sa, socklen_t len)
{
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (const struct sockaddr *)sa, len) || listen(fd, METRICS_MAX_CLIENTS)) {
		xmcp_err("cannot listen for metrics on port %d: %s%s", xmcp_sa_port(sa), strerror(errno),
			 errno == EADDRINUSE ? " (another program holds it: `ss -ltnp` names it)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct metrics *metrics_open(int epfd, const struct sockaddr_storage *sa, socklen_t len,
			     json_object *(*summary)(void *arg), void *arg)
{
	struct metrics *m = calloc(1, sizeof(*m));
	const union MHD_DaemonInfo *info;
	int fd;

	if (!m)
		return NULL;
	*m = (struct metrics){ .h.fn = mhd_event, .summary = summary, .arg = arg };
	fd = listen_socket(sa, len);
	if (fd < 0)
		goto fail;
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | (sa->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				  0, NULL, NULL, handle, m, MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_MAX_CLIENTS,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)METRICS_PER_IP,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MEMORY,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_TIMEOUT_S,
				  MHD_OPTION_NOTIFY_CONNECTION, notify, m, MHD_OPTION_END);
	if (!m->mhd) {
		close(fd);
		xmcp_err("cannot start the metrics listener (libmicrohttpd)");
		goto fail;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || ev_add(epfd, info->epoll_fd, EPOLLIN, &m->h)) {
		xmcp_err("cannot watch the metrics listener: %s", strerror(errno));
		goto fail;
	}
	return m;
fail:
	metrics_close(m);
	return NULL;
}

void metrics_tick(struct metrics *m)
{
	struct client *k;
	time_t t = xmcp_now_s();

	if (!m)
		return;
	/* past the deadline: shut down, and libmicrohttpd closes it (and notify frees k) */
	for (k = m->clients; k; k = k->next)
		if (t - k->started >= METRICS_DEADLINE_S)
			shutdown(k->fd, SHUT_RDWR);
	MHD_run(m->mhd); /* the silence timeouts are checked here too */
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd); /* closes the listening socket too */
	free(m);
}
