// SPDX-License-Identifier: GPL-2.0
/* The announcing device of an anycast MCP: see anycast.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/anycast.h"
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
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || !(d->anycast_ifindex = if_nametoindex(name))) {
		err = -errno;
		close(fd);
		return err;
	}
	d->anycast_fd = fd;
	return link_up(name);
}

int anycast_announce(struct daemon *d)
{
	const struct pol_anycast *a = &d->pol->anycast;
	char text[INET6_ADDRSTRLEN];
	unsigned int i;
	int err;

	if (!a->n)
		return 0;
	err = open_device(d, a->device);
	if (err) {
		xmcp_err("anycast.device %s: cannot create it as this daemon's TUN device: %s%s", a->device,
			 strerror(-err),
			 err == -EBUSY || err == -EINVAL || err == -EEXIST ? " (a device of that name exists)"
			 : err == -ENOENT || err == -EPERM ? " (no /dev/net/tun here; under systemd, the unit needs "
							     "contrib/xmcp-anycast.conf)"
							   : "");
		return -1;
	}
	for (i = 0; i < a->n; i++) {
		err = nl_host_addr(true, d->anycast_ifindex, a->addr[i].family, a->addr[i].addr);
		if (err) {
			inet_ntop(a->addr[i].family, a->addr[i].addr, text, sizeof(text));
			xmcp_err("anycast: cannot add %s to %s: %s", text, a->device, strerror(-err));
			return -1;
		}
	}
	d->announced = true;
	return 0;
}

int anycast_withdraw(struct daemon *d)
{
	const struct pol_anycast *a = &d->pol->anycast;
	char text[INET6_ADDRSTRLEN];
	unsigned int i;
	int err, failed = 0;

	for (i = 0; d->announced && i < a->n; i++) {
		err = nl_host_addr(false, d->anycast_ifindex, a->addr[i].family, a->addr[i].addr);
		if (err && err != -EADDRNOTAVAIL) {
			inet_ntop(a->addr[i].family, a->addr[i].addr, text, sizeof(text));
			xmcp_err("anycast: cannot withdraw %s from %s: %s", text, a->device, strerror(-err));
			failed = -1;
		}
	}
	d->announced = d->announced && failed;
	return failed;
}

void anycast_close(struct daemon *d)
{
	if (d->anycast_fd >= 0)
		close(d->anycast_fd);
	d->anycast_fd = -1;
	d->announced = false;
}

json_object *anycast_json(const struct daemon *d)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "device", json_object_new_string(d->pol->anycast.device));
	json_object_object_add(o, "announced", json_object_new_boolean(d->announced));
	json_object_object_add(o, "draining", json_object_new_boolean(d->draining));
	return o;
}
