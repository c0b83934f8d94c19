// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/control.h"
#include "lib/evloop.h"
#include "install/journal.h"
#include "lib/util.h"

#define CONTROL_MAX_REQUEST 64
#define CONTROL_MAX_REPLY (16 << 20)

struct client {
	struct ev_handler h;
	struct control *c;
	int fd;
	char req[CONTROL_MAX_REQUEST];
	size_t got;
	char *out; /* the reply being written */
	size_t len, off;
	time_t deadline;
	bool dead;
	struct client *prev, *next;
};

struct control {
	struct ev_handler h;
	int epfd, fd;
	gid_t group;
	control_fn fn;
	void *arg;
	bool paused; /* out of descriptors: not accepting until the next tick */
	char path[108];
	unsigned int n;
	struct client *clients, *dead;
	struct control_stats st;
};

/* The socket's address at this namespace's path; its length, or 0. */
static socklen_t control_addr(struct sockaddr_un *sun, char *path, size_t size)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (xmcp_run_file(path, size, "control", "sock") || strlen(path) >= sizeof(sun->sun_path))
		return 0;
	memcpy(sun->sun_path, path, strlen(path));
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static void end_client(struct client *k)
{
	struct control *c = k->c;

	if (k->dead)
		return;
	close(k->fd); /* out of epoll with it: nothing dups it */
	free(k->out);
	k->out = NULL;
	if (k->prev)
		k->prev->next = k->next;
	else
		c->clients = k->next;
	if (k->next)
		k->next->prev = k->prev;
	c->n--;
	k->dead = true;
	k->next = c->dead;
	c->dead = k;
}

/* Write what is left of the reply; the client ends when all of it went, or the peer did. */
static void send_reply(struct client *k)
{
	while (k->off < k->len) {
		ssize_t n = send(k->fd, k->out + k->off, k->len - k->off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				end_client(k);
			return; /* EPOLLOUT says when the peer reads on */
		}
		k->off += n;
	}
	k->c->st.served++;
	end_client(k);
}

/* The request line is in: make the reply, and start sending it. */
static void answer(struct client *k)
{
	json_object *reply = k->c->fn(k->c->arg, k->req);
	const char *text;

	if (!reply) {
		reply = json_object_new_object();
		json_object_object_add(reply, "error", json_object_new_string("unknown request"));
	}
	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	k->len = strlen(text);
	k->out = malloc(k->len);
	if (k->out)
		memcpy(k->out, text, k->len);
	json_object_put(reply);
	if (!k->out || ev_mod(k->c->epfd, k->fd, EPOLLOUT, &k->h)) {
		end_client(k);
		return;
	}
	send_reply(k);
}

static void read_request(struct client *k, unsigned int events)
{
	ssize_t n = recv(k->fd, k->req + k->got, sizeof(k->req) - 1 - k->got, MSG_DONTWAIT);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(events & (EPOLLHUP | EPOLLERR)))
		return;
	if (n <= 0) { /* gone, or closed before a whole line */
		end_client(k);
		return;
	}
	k->got += n;
	k->req[k->got] = '\0';
	nl = strpbrk(k->req, "\r\n");
	if (!nl) {
		if (k->got == sizeof(k->req) - 1)
			end_client(k); /* longer than any request: not one of ours */
		return;
	}
	*nl = '\0';
	answer(k);
}

static void client_event(struct ev_handler *h, unsigned int events)
{
	struct client *k = container_of(h, struct client, h);

	if (k->dead)
		return;
	if (k->out) {
		if (events & (EPOLLHUP | EPOLLERR))
			end_client(k);
		else
			send_reply(k);
		return;
	}
	read_request(k, events);
}

/* Whether the peer had GROUP among its supplementary groups when it connected. */
static bool peer_in_group(int fd, gid_t group)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	/* A peer in more groups than fit is refused rather than half-checked. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		return false;
	for (size_t i = 0; i < len / sizeof(groups[0]); i++)
		if (groups[i] == group)
			return true;
	return false;
}

/*
 * Root, or a member of the policy's control_group (primary or supplementary,
 * as the kernel recorded them at connect): the socket's mode says so too;
 * this is the second lock.
 */
static bool peer_allowed(const struct control *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	if (cred.uid == 0)
		return true;
	if (c->group == (gid_t)-1)
		return false;
	return cred.gid == c->group || peer_in_group(fd, c->group);
}

static void take_client(struct control *c, int fd)
{
	struct client *k;

	if (!peer_allowed(c, fd)) {
		c->st.refused_peer++;
		close(fd);
		return;
	}
	if (c->n >= CONTROL_MAX_CLIENTS || !(k = calloc(1, sizeof(*k)))) {
		c->st.refused_busy++;
		close(fd);
		return;
	}
	*k = (struct client){ .h.fn = client_event, .c = c, .fd = fd, .deadline = xmcp_now_s() + CONTROL_DEADLINE_S,
			      .next = c->clients };
	if (ev_add(c->epfd, fd, EPOLLIN | EPOLLRDHUP, &k->h)) {
		close(fd);
		free(k);
		return;
	}
	if (c->clients)
		c->clients->prev = k;
	c->clients = k;
	c->n++;
}

static void listener_event(struct ev_handler *h, unsigned int events)
{
	struct control *c = container_of(h, struct control, h);
	int i, fd;

	/* a bounded number per wakeup: a flood of clients can't hold the loop */
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		fd = xmcp_accept(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC, NULL);
		if (fd >= 0) {
			take_client(c, fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE) {
			c->paused = !ev_mod(c->epfd, c->fd, 0, &c->h);
			c->st.refused_busy++;
		}
		return;
	}
}

/*
 * The path is in a directory only root writes, so a socket already there
 * is a daemon's of this namespace: a live one (another_daemon() refused to
 * start over it before we get here), or a dead one's, which goes.
 */
static int bind_path(int fd, const struct sockaddr_un *sun, socklen_t len, const char *path)
{
	if (!bind(fd, (const struct sockaddr *)sun, len))
		return 0;
	if (errno != EADDRINUSE)
		return -1;
	unlink(path);
	return bind(fd, (const struct sockaddr *)sun, len);
}

struct control *control_open(int epfd, gid_t group, control_fn fn, void *arg)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun;
	socklen_t len;
	mode_t old;

	if (!c)
		return NULL;
	*c = (struct control){ .h.fn = listener_event, .epfd = epfd, .fd = -1, .group = group, .fn = fn,
			       .arg = arg };
	len = control_addr(&sun, c->path, sizeof(c->path));
	if (!len || xmcp_run_dir())
		goto fail;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* created 0600 (no window with a wider mode), then opened to the group if there is one */
	old = umask(0177);
	if (c->fd < 0 || bind_path(c->fd, &sun, len, c->path)) {
		umask(old);
		xmcp_err("cannot open the control socket %s: %s", c->path, strerror(errno));
		goto fail;
	}
	umask(old);
	if (group != (gid_t)-1 && (chown(c->path, 0, group) || chmod(c->path, 0660))) {
		xmcp_err("cannot give the control socket %s to group %u: %s", c->path, group, strerror(errno));
		goto fail;
	}
	if (listen(c->fd, CONTROL_MAX_CLIENTS) || ev_add(epfd, c->fd, EPOLLIN, &c->h)) {
		xmcp_err("cannot listen on the control socket %s: %s", c->path, strerror(errno));
		goto fail;
	}
	return c;
fail:
	control_close(c);
	return NULL;
}

void control_tick(struct control *c)
{
	struct client *k = c->clients, *next;
	time_t t = xmcp_now_s();

	for (; k; k = next) {
		next = k->next;
		if (t >= k->deadline) {
			c->st.timed_out++;
			end_client(k);
		}
	}
	if (c->paused && !ev_mod(c->epfd, c->fd, EPOLLIN, &c->h))
		c->paused = false;
}

void control_reap(struct control *c)
{
	struct client *k;

	while ((k = c->dead)) {
		c->dead = k->next;
		free(k);
	}
}

void control_close(struct control *c)
{
	if (!c)
		return;
	while (c->clients)
		end_client(c->clients);
	control_reap(c);
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path);
	}
	free(c);
}

const struct control_stats *control_stats(const struct control *c)
{
	return &c->st;
}

/* Is what answers at path the daemon (root's socket, root's process)? Says why not. */
static int trusted(int fd, const char *path)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat st;

	if (lstat(path, &st) || !S_ISSOCK(st.st_mode) || st.st_uid != 0) {
		xmcp_err("%s is not root's socket: refusing to trust what it says", path);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
		xmcp_err("%s is answered by uid %u, not by root's xmcp run: refusing to trust it", path,
			 cred.uid);
		return -1;
	}
	return 0;
}

int control_request(const char *request, json_object **reply, bool quiet)
{
	struct sockaddr_un sun;
	char path[108], line[64];
	socklen_t len = control_addr(&sun, path, sizeof(path));
	static char buf[CONTROL_MAX_REPLY];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || !len || connect(fd, (struct sockaddr *)&sun, len)) {
		if (!quiet && errno == EACCES)
			xmcp_err("%s: permission denied (root only, or the policy's control_group)", path);
		else if (!quiet)
			xmcp_err("no xmcp run in this network namespace (control socket %s: %s)", path,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (trusted(fd, path)) {
		close(fd);
		return -1;
	}
	xmcp_sock_timeouts(fd, CONTROL_DEADLINE_S * 1000);
	/* one write: the daemon answers the first line it reads */
	snprintf(line, sizeof(line), "%s\n", request);
	if (xmcp_send_all(fd, line, strlen(line)))
		goto fail;
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
	if (!got) {
		xmcp_err("xmcp run hung up without an answer (it answers root and the policy's "
			 "control_group, %d clients at a time)", CONTROL_MAX_CLIENTS);
		return -1;
	}
	*reply = json_tokener_parse(buf);
	if (!*reply || !json_object_is_type(*reply, json_type_object)) {
		xmcp_err("the daemon's answer to '%s' is not a JSON object", request);
		json_object_put(*reply);
		*reply = NULL;
		return -1;
	}
	return 0;
fail:
	xmcp_err("cannot talk to xmcp run: %s%s", strerror(errno),
		 errno == EPIPE || errno == ECONNRESET ? " (it answers root and the policy's control_group)" : "");
	close(fd);
	return -1;
}
