// SPDX-License-Identifier: GPL-2.0
/* The announcing device of an anycast MCP or a HAG: see announce.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/announce.h"
#include "daemon/daemon.h"
#include "kernel/netlink.h"
#include "lib/util.h"

/* name up (IFF_UP): its addresses become routes the routing daemon sees */
static int link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(s);
	return err;
}

/*
 * A TUN device of this process's (not persistent: it lives as long as the
 * descriptor). It carries no route: its addresses are added without one,
 * and nothing is ever sent to it.
 */
static int open_device(struct daemon *d, const char *name)
{
	/* EXCL: never another's (or a persistent leftover) device of that name */
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || !(d->announce_ifindex = if_nametoindex(name))) {
		err = -errno;
		close(fd);
		return err;
	}
	d->announce_fd = fd;
	return link_up(name);
}

/* One of the kernel's routes off: 1 if it was there, 0 if not, or -errno. */
static int drop(int family, unsigned char type, const void *dst, int ifindex)
{
	int err = nl_del_kernel_route(family, type, dst, ifindex);

	return err == -ESRCH ? 0 : err ?: 1;
}

/*
 * A subscriber prefix is set as an address (its network address, with the
 * prefix's length) only for the routing daemon to see; the kernel still
 * takes that address as the host's own (a local route) and, for IPv4, adds
 * the prefix's broadcast: both go, or the HAG would answer for a
 * subscriber's address. IPv4 before 5.x also had a broadcast for the
 * network address itself; IPv6 with forwarding an anycast route for it.
 * How many it removed, or -errno.
 */
static int drop_kernel_routes(int ifindex, const struct pol_prefix *x)
{
	__u32 bcast;
	int a, b = 0, c = 0;

	if (x->family == AF_INET6) {
		a = drop(AF_INET6, RTN_LOCAL, x->addr, ifindex);
		b = drop(AF_INET6, RTN_ANYCAST, x->addr, ifindex);
	} else {
		memcpy(&bcast, x->addr, 4);
		if (x->len < 32)
			bcast |= htonl(0xffffffffu >> x->len);
		a = drop(AF_INET, RTN_LOCAL, x->addr, ifindex);
		if (x->len < 31) {
			b = drop(AF_INET, RTN_BROADCAST, &bcast, ifindex);
			c = drop(AF_INET, RTN_BROADCAST, x->addr, ifindex);
		}
	}
	return a < 0 ? a : b < 0 ? b : c < 0 ? c : a + b + c;
}

/*
 * Right after the address is set: IPv6 adds its local route from a work
 * queue, even without DAD, so wait for it (1 s at most; the tick would
 * find it later anyway: announce_tick).
 */
static int drop_new_routes(int ifindex, const struct pol_prefix *x)
{
	int n, i;

	for (i = 0; i < 100; i++) {
		n = drop_kernel_routes(ifindex, x);
		if (n || x->family == AF_INET)
			return n < 0 ? n : 0;
		usleep(10000);
	}
	return 0;
}

/* One address or prefix onto (add) or off the device; 0 or -1 after saying why. */
static int put(struct daemon *d, bool add, const struct pol_prefix *x)
{
	const struct pol_announce *a = &d->pol->announce;
	char text[INET6_ADDRSTRLEN];
	int err = nl_dev_addr(add, d->announce_ifindex, x->family, x->addr, x->len);

	if (!err && add && a->prefixes)
		err = drop_new_routes(d->announce_ifindex, x);
	if (!err || (!add && err == -EADDRNOTAVAIL))
		return 0;
	inet_ntop(x->family, x->addr, text, sizeof(text));
	xmcp_err("%s: cannot %s %s/%u %s %s: %s", a->prefixes ? "announce" : "anycast", add ? "add" : "withdraw",
		 text, x->len, add ? "to" : "from", a->device, strerror(-err));
	return -1;
}

/* An HCPE's probe: its SYN got the SYN+ACK that says this HAG serves; nothing more to it. */
static void on_probe(struct ev_handler *h, unsigned int events)
{
	struct daemon *d = container_of(h, struct daemon, on_probe);
	int fd, n = 0;

	(void)events;
	/*
	 * A bounded batch: a flood of connections must not hold up the main
	 * loop (level-triggered: the rest next time). Out of descriptors,
	 * xmcp_accept resets the one at the head instead of leaving it there.
	 */
	while (n++ < 64 && (fd = xmcp_accept(d->probe_fd, NULL, NULL, SOCK_CLOEXEC, NULL)) >= 0)
		close(fd);
	/* still out of descriptors (the reserve taken): pause until the next tick, not spin */
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && !ev_mod(d->epfd, d->probe_fd, 0, &d->on_probe))
		d->probe_paused = true;
}

/* A listener on the wildcard address of family at port (IPv6: IPv4 too); its fd or -errno. */
static int listen_any(int family, __u16 port)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0, on = 1, err;

	if (fd < 0)
		return -errno;
	if ((family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off))) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    (family == AF_INET6 ? bind(fd, (struct sockaddr *)&sa6, sizeof(sa6))
				: bind(fd, (struct sockaddr *)&sa4, sizeof(sa4))) ||
	    /* a full queue drops SYNs, and HCPEs would take this HAG for dead: as long as net.core.somaxconn allows */
	    listen(fd, INT_MAX)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * The probe port (announce.probe_port), on every address of the host, both
 * families: the kernel answers SYNs while this process has it open, so an
 * HCPE that follows the HAG that answers (health.hag_port) leaves this one
 * as soon as it stops or dies, though its box still routes.
 */
static int open_probe_port(struct daemon *d, __u16 port)
{
	int fd = listen_any(AF_INET6, port);

	if (fd == -EAFNOSUPPORT) /* no IPv6 on this host: IPv4 alone */
		fd = listen_any(AF_INET, port);
	if (fd < 0)
		return fd;
	d->on_probe.fn = on_probe;
	if (ev_add(d->epfd, fd, EPOLLIN, &d->on_probe)) {
		close(fd);
		return -errno;
	}
	d->probe_fd = fd;
	return 0;
}

static void close_probe_port(struct daemon *d)
{
	if (d->probe_fd >= 0)
		close(d->probe_fd); /* and out of epoll with it: nothing dups it */
	d->probe_fd = -1;
	d->probe_paused = false;
}

/*
 * Below net.ipv4.ip_unprivileged_port_start, no user but root can listen
 * on the probe port once xmcp has stopped, and answer HCPEs in its place;
 * a host that lowered it (containers often set 0) loses that.
 */
static void warn_unprivileged(__u16 port)
{
	long start;

	if (!xmcp_sysctl_get("/proc/sys/net/ipv4/ip_unprivileged_port_start", &start) && start <= port)
		fprintf(stderr, "xmcp: warning: announce.probe_port %u is not privileged here "
				"(net.ipv4.ip_unprivileged_port_start is %ld): any local user could answer "
				"HCPEs' probes there once xmcp has stopped\n", port, start);
}

int announce_up(struct daemon *d)
{
	const struct pol_announce *a = &d->pol->announce;
	const char *key = a->prefixes ? "announce" : "anycast";
	unsigned int i;
	int err;

	if (!a->n)
		return 0;
	err = open_device(d, a->device);
	if (err) {
		xmcp_err("%s.device %s: cannot create it as this daemon's TUN device: %s%s", key, a->device,
			 strerror(-err),
			 err == -EBUSY || err == -EINVAL || err == -EEXIST ? " (a device of that name exists)"
			 : err == -ENOENT || err == -EPERM ? " (no /dev/net/tun here; under systemd, the unit needs "
							     "contrib/xmcp-anycast.conf, for anycast and announce alike)"
							   : "");
		return -1;
	}
	/* the port first: if it is taken, nothing was announced (no flap of the shard) */
	if (a->probe_port && (err = open_probe_port(d, a->probe_port))) {
		xmcp_err("announce.probe_port %u: cannot listen there: %s%s", a->probe_port, strerror(-err),
			 err == -EADDRINUSE ? " (another process holds it: HCPEs would take it for this HAG's xmcp)" : "");
		return -1;
	}
	if (a->probe_port)
		warn_unprivileged(a->probe_port);
	for (i = 0; i < a->n; i++)
		if (put(d, true, &a->addr[i]))
			return -1;
	d->announced = true;
	return 0;
}

int announce_withdraw(struct daemon *d)
{
	const struct pol_announce *a = &d->pol->announce;
	unsigned int i;
	int failed = 0;

	close_probe_port(d); /* the HCPEs leave with the routers */
	d->announce_lost = false;
	for (i = 0; d->announced && i < a->n; i++)
		failed |= put(d, false, &a->addr[i]);
	d->announced = d->announced && failed;
	return failed;
}

/*
 * A prefix still on the device and still not the host's own: the device set
 * down (by someone else: it is this daemon's) takes IPv6 addresses off it,
 * and set up again, or forwarding turned on, gives the kernel's local,
 * broadcast and anycast routes back. 0 when it is on the device, or -errno
 * (written to why) when it cannot be set again (IPv6 disabled on the device).
 */
static int keep_prefix(struct daemon *d, const struct pol_prefix *x, char *why, size_t size)
{
	const struct pol_announce *a = &d->pol->announce;
	char text[INET6_ADDRSTRLEN];
	int err = nl_dev_addr(true, d->announce_ifindex, x->family, x->addr, x->len);

	inet_ntop(x->family, x->addr, text, sizeof(text));
	if (!err) {
		fprintf(stderr, "xmcp: announce: %s/%u had gone from %s: set again\n", text, x->len, a->device);
		drop_new_routes(d->announce_ifindex, x);
		return 0;
	}
	if (err != -EEXIST) {
		snprintf(why, size, "cannot set %s/%u on %s again: %s", text, x->len, a->device, strerror(-err));
		return err;
	}
	if (drop_kernel_routes(d->announce_ifindex, x) > 0)
		fprintf(stderr, "xmcp: announce: the kernel had made %s this host's own again (a local or "
				"broadcast route on %s): removed\n", text, a->device);
	return 0;
}

/*
 * The probe port answers only while every prefix is announced: a HAG that
 * lost one (or its device's link) is no longer where the routers send that
 * shard's replies, and its HCPEs must leave it as they would a dead one.
 * why: what is wrong ("" when nothing is). Each change said once.
 */
static void set_lost(struct daemon *d, const char *why)
{
	int err;

	if (*why && !d->announce_lost) {
		close_probe_port(d);
		d->announce_lost = true;
		xmcp_err("announce: %s: probe port %u closed until it is back (HCPEs go to another HAG)", why,
			 d->pol->announce.probe_port);
	} else if (!*why && d->announce_lost) {
		err = d->pol->announce.probe_port ? open_probe_port(d, d->pol->announce.probe_port) : 0;
		if (err) { /* (taken meanwhile: the next tick tries again) */
			xmcp_dbg("announce: probe port %u: %s", d->pol->announce.probe_port, strerror(-err));
			return;
		}
		d->announce_lost = false;
		fprintf(stderr, "xmcp: announce: every prefix is on %s again: probe port %u open\n",
			d->pol->announce.device, d->pol->announce.probe_port);
	}
}

void announce_tick(struct daemon *d)
{
	const struct pol_announce *a = &d->pol->announce;
	char why[160] = "";
	unsigned int i;
	int err;

	if (d->probe_paused && !ev_mod(d->epfd, d->probe_fd, EPOLLIN, &d->on_probe))
		d->probe_paused = false;
	if (!d->announced || !a->prefixes)
		return;
	/* (set down, it would carry nothing the routing daemon announces) */
	if ((err = link_up(a->device)))
		snprintf(why, sizeof(why), "cannot set %s up: %s", a->device, strerror(-err));
	for (i = 0; i < a->n; i++) { /* every prefix, whatever came first */
		char one[sizeof(why)];

		if (keep_prefix(d, &a->addr[i], one, sizeof(one)) && !*why)
			snprintf(why, sizeof(why), "%s", one);
	}
	set_lost(d, why);
}

void announce_close(struct daemon *d)
{
	close_probe_port(d);
	if (d->announce_fd >= 0)
		close(d->announce_fd);
	d->announce_fd = -1;
	d->announced = d->announce_lost = false;
}

json_object *announce_json(const struct daemon *d)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "device", json_object_new_string(d->pol->announce.device));
	json_object_object_add(o, "announced", json_object_new_boolean(d->announced && !d->announce_lost));
	if (d->pol->announce.prefixes) /* a HAG: no drain */
		json_object_object_add(o, "probe_port", json_object_new_int(d->pol->announce.probe_port));
	else
		json_object_object_add(o, "draining", json_object_new_boolean(d->draining));
	return o;
}
