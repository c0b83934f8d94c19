// SPDX-License-Identifier: GPL-2.0
/*
 * delayline: a point-to-point Ethernet link with one-way delay, loss and a
 * rate, for the test lab. This kernel has no netem (docs/kernels.md), so the
 * lab's paths get their delay here: two TAP devices, each created inside its
 * own network namespace, and one process that forwards every frame from one
 * to the other after it has "crossed the wire".
 *
 *   delayline [-d MS] [-l PERCENT] [-r MBIT] [-s SEED] [-R FILE] [-v] NS_A:DEV_A NS_B:DEV_B
 *
 * -R names a file created once both devices are up; -v prints per direction
 * the frames sent, lost and dropped on exit.
 *
 * The link model, per direction: a frame leaves the sender once the frames
 * before it have been serialised at the rate (no rate: at once), then
 * arrives DELAY later; a frame is lost with probability LOSS, and dropped
 * when more than QUEUE_FRAMES wait (a tail-drop buffer). The devices come up
 * without addresses; the caller configures them. The process runs until
 * SIGTERM/SIGINT or until a device goes away (its namespace was deleted).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 2048	  /* MTU 1500 plus headers; the TAP has no GSO, so no bigger */
#define QUEUE_FRAMES 4096 /* per direction: 6 MB, far above any lab path's BDP */

struct frame {
	uint64_t due_ns; /* when it arrives at the other end */
	uint16_t len;
	uint8_t data[FRAME_MAX];
};

/* One direction: frames read from `in`, written to `out` when due. */
struct lane {
	int in, out;
	struct frame *q;
	unsigned int head, count;
	uint64_t wire_free_ns; /* when the sender's serialiser is idle again */
	unsigned long long sent, lost, dropped;
};

struct opts {
	uint64_t delay_ns;
	double loss;	      /* 0..1 */
	double ns_per_byte;   /* 0 = no rate limit */
	unsigned int seed;
	const char *ready;
	int verbose;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int die(const char *what)
{
	fprintf(stderr, "delayline: %s: %s\n", what, strerror(errno));
	return -1;
}

/*
 * Create TAP `dev` in namespace `ns` (a name under /run/netns). The TAP is
 * made here, in our own namespace, then moved: a TAP opened inside `ns`
 * would pin that namespace for as long as we live, while a moved one is
 * deleted with the namespace, which ends this process (its fd reports
 * POLLERR): so `ip netns del` is enough to take a link down for good.
 */
static int tap_in_netns(const char *ns, const char *dev, char side)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	char cmd[256];
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return die("/dev/net/tun");
	snprintf(ifr.ifr_name, IFNAMSIZ, "xdl%d%c", (int)getpid() % 1000000, side);
	if (ioctl(fd, TUNSETIFF, &ifr))
		return die(ifr.ifr_name);
	snprintf(cmd, sizeof(cmd), "ip link set dev %s netns '%s' name '%s' && ip -n '%s' link set '%s' up",
		 ifr.ifr_name, ns, dev, ns, dev);
	if (system(cmd)) {
		fprintf(stderr, "delayline: could not move %s into %s as %s\n", ifr.ifr_name, ns, dev);
		return -1;
	}
	return fd;
}

/* Read every frame waiting on the lane's input; false when the device is gone. */
static int lane_read(struct lane *l, struct opts *o)
{
	for (;;) {
		struct frame *f = &l->q[(l->head + l->count) % QUEUE_FRAMES];
		uint8_t spill[FRAME_MAX];
		int full = l->count == QUEUE_FRAMES;
		ssize_t n = read(l->in, full ? spill : f->data, FRAME_MAX);
		uint64_t t;

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			return -1;
		if (full) {
			l->dropped++;
			continue;
		}
		if (o->loss > 0 && (double)rand_r(&o->seed) / RAND_MAX < o->loss) {
			l->lost++;
			continue;
		}
		t = now_ns();
		if (l->wire_free_ns < t)
			l->wire_free_ns = t;
		l->wire_free_ns += (uint64_t)(o->ns_per_byte * n);
		f->due_ns = l->wire_free_ns + o->delay_ns;
		f->len = n;
		l->count++;
	}
}

/* Deliver the frames that are due; returns ns until the next one (or -1: none queued). */
static int64_t lane_flush(struct lane *l)
{
	uint64_t t = now_ns();

	while (l->count) {
		struct frame *f = &l->q[l->head];

		if (f->due_ns > t)
			return f->due_ns - t;
		/* A full TAP queue on the far side is a drop, as on a wire. */
		if (write(l->out, f->data, f->len) == f->len)
			l->sent++;
		else
			l->dropped++;
		l->head = (l->head + 1) % QUEUE_FRAMES;
		l->count--;
	}
	return -1;
}

static int run(struct lane lanes[2], struct opts *o)
{
	struct pollfd pfd[2] = { { .fd = lanes[0].in, .events = POLLIN },
				 { .fd = lanes[1].in, .events = POLLIN } };

	while (!stop) {
		int64_t wait = -1;
		struct timespec ts, *tsp = NULL;

		for (int i = 0; i < 2; i++) {
			int64_t w = lane_flush(&lanes[i]);

			if (w >= 0 && (wait < 0 || w < wait))
				wait = w;
		}
		if (wait >= 0) {
			ts.tv_sec = wait / 1000000000;
			ts.tv_nsec = wait % 1000000000;
			tsp = &ts;
		}
		if (ppoll(pfd, 2, tsp, NULL) < 0 && errno != EINTR)
			return die("ppoll");
		for (int i = 0; i < 2; i++) {
			if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
				return 0;
			if ((pfd[i].revents & POLLIN) && lane_read(&lanes[i], o))
				return 0;
		}
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: delayline [-d MS] [-l PERCENT] [-r MBIT] [-s SEED] [-R READY_FILE] [-v] "
			"NS_A:DEV_A NS_B:DEV_B\n");
	return 2;
}

static int open_end(char *spec, char side)
{
	char *colon = strchr(spec, ':');

	if (!colon || colon == spec || !colon[1] || strlen(colon + 1) >= IFNAMSIZ) {
		fprintf(stderr, "delayline: '%s' is not NETNS:DEVICE\n", spec);
		return -1;
	}
	*colon = '\0';
	if (strpbrk(spec, "'") || strpbrk(colon + 1, "'")) {
		fprintf(stderr, "delayline: quotes in '%s'\n", spec);
		return -1;
	}
	return tap_in_netns(spec, colon + 1, side);
}

int main(int argc, char **argv)
{
	struct opts o = { .seed = 1 };
	struct lane lanes[2] = { 0 };
	int c, a, b;

	while ((c = getopt(argc, argv, "d:l:r:s:R:v")) != -1) {
		switch (c) {
		case 'd': o.delay_ns = (uint64_t)(atof(optarg) * 1e6); break;
		case 'l': o.loss = atof(optarg) / 100; break;
		case 'r': o.ns_per_byte = atof(optarg) > 0 ? 8e3 / atof(optarg) : 0; break;
		case 's': o.seed = strtoul(optarg, NULL, 0); break;
		case 'R': o.ready = optarg; break;
		case 'v': o.verbose = 1; break;
		default: return usage();
		}
	}
	if (argc - optind != 2 || o.loss < 0 || o.loss > 1)
		return usage();
	a = open_end(argv[optind], 'a');
	b = a < 0 ? -1 : open_end(argv[optind + 1], 'b');
	if (a < 0 || b < 0)
		return 1;
	lanes[0] = (struct lane){ .in = a, .out = b, .q = calloc(QUEUE_FRAMES, sizeof(struct frame)) };
	lanes[1] = (struct lane){ .in = b, .out = a, .q = calloc(QUEUE_FRAMES, sizeof(struct frame)) };
	if (!lanes[0].q || !lanes[1].q)
		return die("calloc"), 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (o.ready) {
		FILE *f = fopen(o.ready, "w");

		if (!f || fclose(f))
			return die(o.ready), 1;
	}
	run(lanes, &o);
	for (int i = 0; i < 2 && o.verbose; i++)
		fprintf(stderr, "delayline: %s: %llu sent, %llu lost, %llu dropped\n",
			i ? "b->a" : "a->b", lanes[i].sent, lanes[i].lost, lanes[i].dropped);
	return 0;
}
