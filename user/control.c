// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "util.h"

#define CONTROL_NAME "xmcp-control" /* abstract: no file, per network namespace */
#define CONTROL_TIMEOUT_MS 200	    /* a client that stalls can't hold the daemon's loop longer */
#define CONTROL_MAX_REPLY (16 << 20)

static socklen_t control_addr(struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + 1, CONTROL_NAME, strlen(CONTROL_NAME));
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(CONTROL_NAME);
}

int control_listen(void)
{
	struct sockaddr_un sun;
	socklen_t len = control_addr(&sun);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, len) || listen(fd, 16)) {
		xmcp_err("cannot open the control socket @%s: %s", CONTROL_NAME, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void answer(int fd, json_object *(*handler)(void *arg, const char *request), void *arg)
{
	char req[64];
	ssize_t n;
	json_object *reply;
	const char *text;

	xmcp_sock_timeouts(fd, CONTROL_TIMEOUT_MS);
	n = read(fd, req, sizeof(req) - 1);
	if (n <= 0)
		return;
	req[n] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	reply = handler(arg, req);
	if (!reply) {
		reply = json_object_new_object();
		json_object_object_add(reply, "error", json_object_new_string("unknown request"));
	}
	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	xmcp_send_all(fd, text, strlen(text));
	json_object_put(reply);
}

void control_accept(int lfd, json_object *(*handler)(void *arg, const char *request), void *arg)
{
	int fd;

	/* accepted sockets do not inherit O_NONBLOCK: the timeouts bound them */
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		answer(fd, handler, arg);
		close(fd);
	}
}

int control_request(const char *request, json_object **reply, bool quiet)
{
	struct sockaddr_un sun;
	socklen_t len = control_addr(&sun);
	static char buf[CONTROL_MAX_REPLY];
	char line[64];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, len)) {
		if (!quiet)
			xmcp_err("no xmcp run in this network namespace (control socket @%s: %s)", CONTROL_NAME,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	xmcp_sock_timeouts(fd, 5000);
	/* one write: the daemon answers the first line it reads */
	snprintf(line, sizeof(line), "%s\n", request);
	if (xmcp_send_all(fd, line, strlen(line)))
		goto fail;
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
	*reply = json_tokener_parse(buf);
	if (!*reply) {
		xmcp_err("the daemon's answer to '%s' is not JSON", request);
		return -1;
	}
	return 0;
fail:
	xmcp_err("cannot talk to xmcp run: %s", strerror(errno));
	close(fd);
	return -1;
}
