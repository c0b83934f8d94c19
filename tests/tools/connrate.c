// SPDX-License-Identifier: GPL-2.0
/*
 * Short connections and idle connections for bench/conns.sh.
 *
 *   connrate serve ADDR PORT         answer each connection's request byte with
 *                                    one byte, then wait for the client to close
 *   connrate rate ADDR PORT SECS CONC  CONC connections at a time, each: connect,
 *                                    one byte each way, close; prints connections/s
 *   connrate hold ADDR PORT N SECS   open N connections, one byte each way, keep them
 *                                    SECS seconds (or until killed); prints how many
 *                                    stood, and on stderr why others did not
 *
 * One epoll loop, non-blocking sockets; plain TCP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in dst;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void raise_nofile(void)
{
	struct rlimit rl = { .rlim_cur = 1 << 20, .rlim_max = 1 << 20 };

	if (setrlimit(RLIMIT_NOFILE, &rl) && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int serve(void)
{
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, evs[256];
	char b;

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&dst, sizeof(dst)) || listen(lfd, 4096)) {
		perror("connrate: listen");
		return 1;
	}
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1), i, fd;

		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd) {
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					ev.data.fd = fd;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			fd = evs[i].data.fd;
			if (read(fd, &b, 1) == 1)
				(void)!write(fd, &b, 1); /* the reply; the client closes */
			else
				close(fd);
		}
	}
}

/* A new connection under way, registered for its connect's end. */
static int start(int ep)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return fd;
}

/* An event on a connection: connected -> send the request; readable -> the reply came. 1 when done. */
static int step(int ep, struct epoll_event *e)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = e->data.fd };
	char b = 'x';

	if (e->events & EPOLLOUT) {
		if ((e->events & (EPOLLERR | EPOLLHUP)) || write(e->data.fd, &b, 1) != 1)
			return -1;
		epoll_ctl(ep, EPOLL_CTL_MOD, e->data.fd, &ev);
		return 0;
	}
	return read(e->data.fd, &b, 1) == 1 ? 1 : -1;
}

static int rate(double secs, int conc)
{
	struct epoll_event evs[256];
	int ep = epoll_create1(0), i;
	long done = 0, failed = 0;
	double t0 = now();

	for (i = 0; i < conc; i++)
		start(ep);
	while (now() - t0 < secs) {
		int n = epoll_wait(ep, evs, 256, 100);

		for (i = 0; i < n; i++) {
			int r = step(ep, &evs[i]);

			if (!r)
				continue;
			r > 0 ? done++ : failed++;
			close(evs[i].data.fd);
			start(ep);
		}
	}
	printf("%.0f\n", done / (now() - t0));
	if (failed)
		fprintf(stderr, "connrate: %ld connections failed\n", failed);
	return 0;
}

/* At most this many handshakes in flight: a burst of thousands would overflow the backlog. */
#define HOLD_INFLIGHT 256

static int hold(long n, double secs)
{
	struct epoll_event evs[256];
	int ep = epoll_create1(0), i;
	long standing = 0, failed = 0, started = 0, refused = 0;
	double t0 = now();

	while ((started < n || standing + failed < started) && now() - t0 < 120) {
		int k;

		for (; started < n && started - standing - failed < HOLD_INFLIGHT; started++)
			if (start(ep) < 0) {
				refused++; /* EMFILE, no port: counted, not retried */
				failed++;
			}
		k = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < k; i++) {
			int r = step(ep, &evs[i]);

			if (r > 0) {
				standing++;
				epoll_ctl(ep, EPOLL_CTL_DEL, evs[i].data.fd, NULL); /* idle from here */
			} else if (r < 0) {
				failed++;
				epoll_ctl(ep, EPOLL_CTL_DEL, evs[i].data.fd, NULL);
				close(evs[i].data.fd);
			}
		}
	}
	printf("%ld\n", standing);
	fflush(stdout);
	if (standing < n)
		fprintf(stderr, "connrate: %ld of %ld stood: %ld could not start, %ld failed, %ld no reply in 120 s\n",
			standing, n, refused + n - started, failed - refused, started - standing - failed);
	sleep((unsigned)secs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: connrate serve|rate|hold ADDR PORT ...\n");
		return 2;
	}
	raise_nofile();
	dst.sin_family = AF_INET;
	dst.sin_port = htons(atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
		return 2;
	if (!strcmp(argv[1], "serve"))
		return serve();
	if (!strcmp(argv[1], "rate") && argc == 6)
		return rate(atof(argv[4]), atoi(argv[5]));
	if (!strcmp(argv[1], "hold") && argc == 6)
		return hold(atol(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: connrate serve|rate|hold ADDR PORT ...\n");
	return 2;
}
