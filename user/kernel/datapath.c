// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <bpf/libbpf.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "kernel/datapath.h"
#include "kernel/shaping.h"
#include "lib/util.h"
#include "xmcp.skel.h"

struct xdp_multiprog *dp_our_xdp(int ifindex, int *foreign_id)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *main_prog;

	*foreign_id = 0;
	if (libxdp_get_error(mp) || !mp)
		return NULL;
	main_prog = xdp_multiprog__main_prog(mp);
	if (!main_prog) {
		xdp_multiprog__close(mp);
		return NULL;
	}
	if (xdp_multiprog__is_legacy(mp) &&
	    !strcmp(xdp_program__name(main_prog), XMCP_STR(XMCP_PROG_XDP)))
		return mp;
	*foreign_id = xdp_program__id(main_prog);
	xdp_multiprog__close(mp);
	return NULL;
}

/* dev's driver as ethtool names it ("veth", "virtio_net", "tun", ...), or "" */
static void driver_of(const char *dev, char *out, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&info };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	out[0] = '\0';
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (fd >= 0 && !ioctl(fd, SIOCETHTOOL, &ifr))
		snprintf(out, len, "%s", info.driver);
	if (fd >= 0)
		close(fd);
}

/*
 * Where "auto" runs the classifier on dev, and why (docs/kernels.md has the
 * measurements). Native XDP on a veth device turns TSO and GSO off on its
 * peer (forwarding through three such devices fell to 0.15x with an empty
 * program); generic XDP copies every GRO packet into one linear buffer
 * (and splice then copies it again), while a tc program reads the headers
 * where they are. virtio_net takes native XDP only with the guest's receive
 * offloads off, and a TAP device's native XDP leaves no room for metadata
 * on 6.1. So these get the classifier at tc; any other driver gets native
 * XDP, which drops a flood before an skb exists (dp_attach_dev falls back
 * to tc where the driver has none).
 */
__u32 dp_auto_mode(const char *dev, const char **why)
{
	static const struct {
		const char *driver, *why;
	} at_tc[] = {
		{ "veth", "auto: veth, whose native XDP turns off TSO/GSO on its peer" },
		{ "virtio_net", "auto: virtio_net, whose native XDP needs the guest's offloads off" },
		{ "tun", "auto: tun, whose native XDP may leave no room for metadata" },
	};
	char driver[32];
	size_t i;

	driver_of(dev, driver, sizeof(driver));
	for (i = 0; i < sizeof(at_tc) / sizeof(at_tc[0]); i++)
		if (!strcmp(driver, at_tc[i].driver)) {
			*why = at_tc[i].why;
			return XMCP_IFACE_MODE_TC;
		}
	*why = "auto: the driver's own XDP";
	return XDP_MODE_NATIVE;
}

/* quiet_native: a native attach the driver can't do fails without a word (auto falls back) */
static int attach_xdp(struct xmcp *skel, int ifindex, const char *dev,
		      enum xdp_attach_mode mode, bool quiet_native, __u32 *id)
{
	struct xdp_program *prog;
	int fd, err;

	/* libxdp closes the fd it is given: hand it a copy of the skeleton's. */
	fd = dup(bpf_program__fd(skel->progs.xmcp_xdp));
	if (fd < 0)
		return -errno;
	prog = xdp_program__from_fd(fd);
	err = libxdp_get_error(prog);
	if (err) {
		close(fd);
		return err;
	}
	err = xdp_program__attach(prog, ifindex, mode, 0);
	if (!err)
		*id = xdp_program__id(prog);
	xdp_program__close(prog);
	if (err == -EOPNOTSUPP && mode == XDP_MODE_NATIVE && quiet_native)
		return err;
	if (err == -EOPNOTSUPP && mode == XDP_MODE_NATIVE)
		xmcp_err("%s has no native XDP support; try generic mode (or auto)", dev);
	else if (err)
		xmcp_err("cannot attach XDP to %s: %s", dev, strerror(-err));
	return err;
}

static int attach_tc(int tc_fd, int ifindex, const char *dev, struct xmcp_iface *rec)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XMCP_TC_HANDLE, .priority = XMCP_TC_PRIORITY,
		    .prog_fd = tc_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		xmcp_err("cannot add a clsact qdisc to %s: %s", dev, strerror(-err));
		return err;
	}
	if (!err)
		rec->flags |= XMCP_IFACE_OWN_CLSACT;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		xmcp_err("cannot attach the tc ingress program to %s: %s", dev, strerror(-err));
		return err;
	}
	rec->tc_prog_id = opts.prog_id;
	return 0;
}

static void detach_tc(int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XMCP_TC_HANDLE, .priority = XMCP_TC_PRIORITY);
	int err = bpf_tc_detach(&hook, &opts);

	if (err && err != -ENOENT && err != -EINVAL)
		xmcp_err("could not remove the tc filter from ifindex %d: %s", ifindex, strerror(-err));
	if (flags & XMCP_IFACE_OWN_CLSACT) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
}

/*
 * The XDP program this process loaded, once dp_open() did: the daemon
 * detaches it by that descriptor (the kernel swaps it out only if it is
 * still the one attached), which needs no more than CAP_NET_ADMIN. Looking
 * a program up by its id, as libxdp does, needs CAP_SYS_ADMIN, which the
 * daemon gives up after setup (docs/security.md).
 */
static int own_xdp_fd = -1;

/* 1: ours, found and detached by descriptor; 0: not attached by that one. */
static int detach_own_xdp(int ifindex)
{
	static const __u32 modes[] = { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE };
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = own_xdp_fd);
	unsigned int i;

	if (own_xdp_fd < 0)
		return 0;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!bpf_xdp_detach(ifindex, modes[i] | XDP_FLAGS_REPLACE, &opts))
			return 1;
	return 0;
}

static void detach_xdp(int ifindex, const char *dev)
{
	struct xdp_multiprog *mp;
	int foreign, err;

	if (detach_own_xdp(ifindex))
		return;
	mp = dp_our_xdp(ifindex, &foreign);
	if (!mp) {
		if (foreign)
			xmcp_err("%s runs another XDP program (id %d): left alone", dev, foreign);
		return;
	}
	err = xdp_multiprog__detach(mp);
	if (err)
		xmcp_err("could not detach XDP from %s: %s", dev, strerror(-err));
	xdp_multiprog__close(mp);
}

void dp_detach(int ifindex, const char *dev, __u32 flags)
{
	detach_xdp(ifindex, dev);
	shaping_remove(ifindex, dev); /* before the clsact it may share goes */
	detach_tc(ifindex, flags);
}

int dp_registry_empty(int reg_fd)
{
	__u32 key;

	return bpf_map_get_next_key(reg_fd, NULL, &key) != 0;
}

/* Refuse to mix namespaces in one pin directory: ifindexes would collide. */
static int check_netns(const struct dp *dp)
{
	struct xmcp_iface rec;
	__u32 key, *prev = NULL;

	while (!bpf_map_get_next_key(dp->reg_fd, prev, &key)) {
		if (!bpf_map_lookup_elem(dp->reg_fd, &key, &rec) && rec.netns_ino != dp->netns) {
			xmcp_err("%s is in use by another network namespace; give this one its "
				 "own with --pin-dir", dp->pins.dir);
			return -EBUSY;
		}
		prev = &key;
	}
	return 0;
}

void dp_select_progs(struct xmcp *skel, unsigned int progs)
{
	const struct {
		struct bpf_program *prog;
		unsigned int bit;
	} all[] = {
		{ skel->progs.XMCP_PROG_XDP, DP_XDP },
		{ skel->progs.XMCP_PROG_TC, DP_TC },
		{ skel->progs.XMCP_PROG_STEER, DP_STEER },
		{ skel->progs.XMCP_PROG_PATH, DP_PATH },
		{ skel->progs.XMCP_PROG_TC_CLASSIFY, DP_TC_CLASSIFY },
		{ skel->progs.XMCP_PROG_STEER_CB, DP_STEER_CB },
	};
	unsigned int i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		bpf_program__set_autoload(all[i].prog, progs & all[i].bit);
}

int dp_open(struct dp *dp, const char *pin_dir, unsigned int progs,
	    int (*configure)(struct xmcp *skel, void *arg), void *arg)
{
	int err;

	memset(dp, 0, sizeof(*dp));
	dp->reg_fd = -1;
	if ((err = xmcp_require_root()) || (err = xmcp_require_bpffs(pin_dir)) ||
	    (err = xmcp_netns_ino(&dp->netns)))
		return err;
	if ((err = pins_lock(&dp->pins, pin_dir, true)))
		return err;
	dp->skel = xmcp__open();
	if (!dp->skel) {
		err = -errno;
		xmcp_explain_load_error("xmcp's BPF object", err);
		goto fail;
	}
	if ((err = pins_reuse_maps(&dp->pins, dp->skel->obj)))
		goto fail;
	dp_select_progs(dp->skel, progs);
	if (configure && (err = configure(dp->skel, arg)))
		goto fail;
	if ((err = xmcp__load(dp->skel))) {
		xmcp_explain_load_error("xmcp's BPF programs", err);
		goto fail;
	}
	dp->reg_fd = bpf_map__fd(dp->skel->maps.xmcp_ifaces);
	own_xdp_fd = bpf_program__fd(dp->skel->progs.xmcp_xdp);
	if ((err = check_netns(dp)))
		goto fail;
	return 0;
fail:
	dp_close(dp);
	return err;
}

/*
 * The classifier on dev: XDP in *mode, none for XMCP_IFACE_MODE_TC (the tc
 * program does it), or for XDP_MODE_UNSPEC what auto_mode picks; *mode,
 * *why: what ran.
 */
static int attach_classifier(struct dp *dp, int ifindex, const char *dev, __u32 *mode, const char **why,
			     __u32 *id)
{
	bool chosen = *mode == XDP_MODE_UNSPEC;
	int err;

	*why = "as asked";
	if (chosen)
		*mode = dp_auto_mode(dev, why);
	if (*mode == XMCP_IFACE_MODE_TC)
		return 0;
	err = attach_xdp(dp->skel, ifindex, dev, *mode, chosen, id);
	if (err == -EOPNOTSUPP && chosen && *mode == XDP_MODE_NATIVE) {
		*mode = XMCP_IFACE_MODE_TC;
		*why = "auto: the driver has no native XDP";
		err = 0;
	}
	return err;
}

bool dp_has_our_tc(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XMCP_TC_HANDLE, .priority = XMCP_TC_PRIORITY);

	return !bpf_tc_query(&hook, &opts);
}

/*
 * The tc ingress program of dev: tc_fd behind the classifier's XDP, or in
 * tc mode the classifier, which hands each frame on to next_fd (none, < 0:
 * xmcp attach's classifier counts what it reads itself). The program array
 * is this process's own (pins.c).
 */
static int tc_program(struct dp *dp, __u32 mode, int tc_fd, int next_fd)
{
	__u32 zero = 0;

	if (mode != XMCP_IFACE_MODE_TC)
		return tc_fd;
	if (next_fd >= 0 &&
	    bpf_map_update_elem(bpf_map__fd(dp->skel->maps.XMCP_MAP_TC_NEXT), &zero, &next_fd, BPF_ANY)) {
		xmcp_err("cannot hand the tc classifier's frames on: %s", strerror(errno));
		return -errno;
	}
	return bpf_program__fd(dp->skel->progs.XMCP_PROG_TC_CLASSIFY);
}

int dp_attach_dev(struct dp *dp, const char *dev, __u32 mode, int tc_fd, int next_fd, struct xmcp_iface *out,
		  const char **why)
{
	struct xmcp_iface rec = { .netns_ino = dp->netns };
	const char *reason;
	struct xdp_multiprog *mp;
	int ifindex, foreign, err, ingress_fd;
	__u32 key;

	ifindex = xmcp_ifindex(dev);
	if (ifindex < 0)
		return ifindex;
	key = ifindex;
	snprintf(rec.name, sizeof(rec.name), "%s", dev);
	mp = dp_our_xdp(ifindex, &foreign);
	if (mp || foreign) {
		if (mp)
			xdp_multiprog__close(mp);
		xmcp_err("%s already has %s XDP program; 'xmcp detach %s' first", dev,
			 mp ? "xmcp's" : "another", dev);
		return -EBUSY;
	}
	if (dp_has_our_tc(ifindex)) {
		xmcp_err("%s already has xmcp's tc program; 'xmcp detach %s' first", dev, dev);
		return -EBUSY;
	}
	if ((err = attach_classifier(dp, ifindex, dev, &mode, &reason, &rec.xdp_prog_id)))
		return err;
	rec.xdp_mode = mode;
	if (why)
		*why = reason;
	ingress_fd = tc_program(dp, mode, tc_fd, next_fd);
	if (ingress_fd < 0) {
		err = ingress_fd;
		goto undo;
	}
	if ((err = attach_tc(ingress_fd, ifindex, dev, &rec)) ||
	    (err = pins_publish_maps(&dp->pins, dp->skel->obj)))
		goto undo;
	if (bpf_map_update_elem(dp->reg_fd, &key, &rec, BPF_ANY)) {
		err = -errno;
		xmcp_err("cannot record %s in %s/xmcp_ifaces: %s", dev, dp->pins.dir, strerror(-err));
		goto undo;
	}
	if (out)
		*out = rec;
	return ifindex;
undo:
	dp_detach(ifindex, dev, rec.flags);
	return err;
}

const char *dp_xdp_mode_name(__u32 xdp_mode)
{
	return xdp_mode == XMCP_IFACE_MODE_TC ? "tc" : xdp_mode == XDP_MODE_SKB ? "generic XDP" : "native XDP";
}

void dp_close(struct dp *dp)
{
	/* Nothing recorded (a failed first attach, the last detach): no pins either. */
	if (dp->pins.dir_fd >= 0 && dp->reg_fd >= 0 && dp_registry_empty(dp->reg_fd))
		pins_remove_all(&dp->pins);
	else if (dp->pins.dir_fd >= 0)
		rmdir(dp->pins.dir); /* only succeeds when empty */
	xmcp__destroy(dp->skel);
	dp->skel = NULL;
	own_xdp_fd = -1;
	dp->reg_fd = -1;
	pins_unlock(&dp->pins);
}

static __u32 map_of_prog(__u32 prog_id, const char *name);

/* The program the tc classifier prog_id hands frames on to (XMCP_MAP_TC_NEXT), or 0. */
static __u32 next_of_prog(__u32 prog_id)
{
	__u32 map_id = map_of_prog(prog_id, XMCP_STR(XMCP_MAP_TC_NEXT)), zero = 0, next = 0;
	int fd = map_id ? bpf_map_get_fd_by_id(map_id) : -1;

	/* a program array read from user space gives the program's id */
	if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &next))
		next = 0;
	if (fd >= 0)
		close(fd);
	return next;
}

/*
 * The ids of xmcp's programs on ifindex (at most 4: XDP, tc ingress, the
 * program the tc classifier hands on to, tc egress).
 */
static int our_prog_ids(int ifindex, __u32 ids[4])
{
	static const enum bpf_tc_attach_point hooks[] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	struct xdp_multiprog *mp;
	int n = 0, foreign;
	unsigned int i;

	mp = dp_our_xdp(ifindex, &foreign);
	if (mp) {
		ids[n++] = xdp_program__id(xdp_multiprog__main_prog(mp));
		xdp_multiprog__close(mp);
	}
	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = hooks[i]);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XMCP_TC_HANDLE, .priority = XMCP_TC_PRIORITY);

		if (bpf_tc_query(&hook, &opts))
			continue;
		ids[n++] = opts.prog_id;
		if (hooks[i] == BPF_TC_INGRESS && (ids[n] = next_of_prog(opts.prog_id)))
			n++;
	}
	return n;
}

/* The id of the map NAME among those program prog_id uses, if it is one of xmcp's programs; 0 if none. */
static __u32 map_of_prog(__u32 prog_id, const char *name)
{
	__u32 map_ids[32], len = sizeof(struct bpf_prog_info), i, n, id = 0;
	struct bpf_prog_info info = { .nr_map_ids = 32, .map_ids = (__u64)(unsigned long)map_ids };
	int fd = bpf_prog_get_fd_by_id(prog_id), mfd;

	if (fd < 0)
		return 0;
	i = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	/* another program at xmcp's tc handle is not ours (names are cut at 15 characters) */
	if (i || strncmp(info.name, "xmcp_", 5))
		return 0;
	n = info.nr_map_ids < 32 ? info.nr_map_ids : 32;
	for (i = 0; i < n && !id; i++) {
		struct bpf_map_info mi = { 0 };
		__u32 mlen = sizeof(mi);

		mfd = bpf_map_get_fd_by_id(map_ids[i]);
		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &mlen) && !strncmp(mi.name, name, BPF_OBJ_NAME_LEN - 1))
			id = mi.id;
		close(mfd);
	}
	return id;
}

int dp_find_map(const char *name)
{
	struct if_nameindex *ifs = if_nameindex(), *it;
	__u32 ids[4], id, found = 0;
	int n, i, fd;

	for (it = ifs; it && it->if_index; it++) {
		n = our_prog_ids(it->if_index, ids);
		for (i = 0; i < n; i++) {
			id = map_of_prog(ids[i], name);
			/* two maps of that name: two xmcp instances here, and no telling which is meant */
			if (id && found && id != found) {
				if_freenameindex(ifs);
				return -ENOTUNIQ;
			}
			found = id ?: found;
		}
	}
	if (ifs)
		if_freenameindex(ifs);
	if (!found)
		return -ENOENT;
	fd = bpf_map_get_fd_by_id(found);
	return fd < 0 ? -errno : fd;
}
