// SPDX-License-Identifier: GPL-2.0
/*
 * xmcp attach DEV / xmcp detach DEV|--all.
 *
 * attach puts the classifier on the device's XDP hook (through libxdp) and
 * the metadata reader on its tc ingress hook, shares the counters pinned
 * under the pin directory, and records the device in the xmcp_ifaces map.
 * detach undoes exactly that; the last detach removes the pins too.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "cmds.h"
#include "pins.h"
#include "util.h"
#include "xmcp_maps.h"
#include "xmcp.skel.h"

struct attach_opts {
	const char *dev;
	enum xdp_attach_mode mode;
	int all;
};

static void attach_usage(FILE *f)
{
	fprintf(f, "Usage: xmcp attach DEV [--mode native|generic]\n"
		   "\n"
		   "Attaches the XDP classifier to DEV and the tc ingress program that reads\n"
		   "its verdict, with counters pinned under the pin directory (%s).\n"
		   "Every verdict is XDP_PASS for now: attaching changes no traffic.\n"
		   "\n"
		   "  --mode native   XDP in the driver (default)\n"
		   "  --mode generic  XDP in the kernel's generic path, for any device\n",
		   xmcp_pin_dir);
}

static void detach_usage(FILE *f)
{
	fprintf(f, "Usage: xmcp detach DEV | --all\n"
		   "\n"
		   "Removes xmcp's XDP and tc programs from DEV (or from every device it is\n"
		   "attached to in this network namespace, with --all). The last detach also\n"
		   "removes the pinned maps and the pin directory.\n");
}

/* The XDP program on ifindex, if it is one of ours; NULL otherwise. */
static struct xdp_multiprog *our_xdp(int ifindex, int *foreign_id)
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

static int attach_xdp(struct xmcp *skel, int ifindex, const struct attach_opts *o, __u32 *id)
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
	err = xdp_program__attach(prog, ifindex, o->mode, 0);
	if (!err)
		*id = xdp_program__id(prog);
	xdp_program__close(prog);
	if (err == -EOPNOTSUPP && o->mode == XDP_MODE_NATIVE)
		xmcp_err("%s has no native XDP support; try --mode generic", o->dev);
	else if (err)
		xmcp_err("cannot attach XDP to %s: %s", o->dev, strerror(-err));
	return err;
}

static int attach_tc(struct xmcp *skel, int ifindex, const char *dev, struct xmcp_iface *rec)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XMCP_TC_HANDLE, .priority = XMCP_TC_PRIORITY,
		    .prog_fd = bpf_program__fd(skel->progs.xmcp_tc_ingress),
		    .flags = BPF_TC_F_REPLACE);
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

/* Remove our tc filter, and the clsact qdisc if we were the ones to add it. */
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

static void detach_xdp(int ifindex, const char *dev)
{
	struct xdp_multiprog *mp;
	int foreign, err;

	mp = our_xdp(ifindex, &foreign);
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

/* Refuse to mix namespaces in one pin directory: ifindexes would collide. */
static int check_netns(int reg_fd, __u64 netns)
{
	struct xmcp_iface rec;
	__u32 key, *prev = NULL;

	while (!bpf_map_get_next_key(reg_fd, prev, &key)) {
		if (!bpf_map_lookup_elem(reg_fd, &key, &rec) && rec.netns_ino != netns) {
			xmcp_err("%s is in use by another network namespace; give this one its "
				 "own with --pin-dir", xmcp_pin_dir);
			return -EBUSY;
		}
		prev = &key;
	}
	return 0;
}

static int registry_empty(int reg_fd)
{
	__u32 key;

	return bpf_map_get_next_key(reg_fd, NULL, &key) != 0;
}

static int do_attach(const struct attach_opts *o)
{
	struct xmcp_iface rec = { .xdp_mode = o->mode };
	struct xmcp_pins pins;
	struct xmcp *skel = NULL;
	struct xdp_multiprog *mp;
	int ifindex, reg_fd, foreign, err;
	__u32 key;

	if ((err = xmcp_require_root()) || (err = xmcp_require_bpffs(xmcp_pin_dir)))
		return err;
	ifindex = xmcp_ifindex(o->dev);
	if (ifindex < 0)
		return ifindex;
	key = ifindex;
	if ((err = xmcp_netns_ino(&rec.netns_ino)))
		return err;
	snprintf(rec.name, sizeof(rec.name), "%s", o->dev);

	mp = our_xdp(ifindex, &foreign);
	if (mp || foreign) {
		if (mp)
			xdp_multiprog__close(mp);
		xmcp_err("%s already has %s XDP program; 'xmcp detach %s' first", o->dev,
			 mp ? "xmcp's" : "another", o->dev);
		return -EBUSY;
	}

	if ((err = pins_lock(&pins, xmcp_pin_dir, true)))
		return err;
	skel = xmcp__open();
	if (!skel) {
		err = -errno;
		xmcp_explain_load_error("xmcp's BPF object", err);
		goto out;
	}
	if ((err = pins_reuse_maps(&pins, skel->obj)))
		goto out;
	if ((err = xmcp__load(skel))) {
		xmcp_explain_load_error("xmcp's BPF programs", err);
		goto out;
	}
	reg_fd = bpf_map__fd(skel->maps.xmcp_ifaces);
	if ((err = check_netns(reg_fd, rec.netns_ino)))
		goto out;
	if ((err = attach_xdp(skel, ifindex, o, &rec.xdp_prog_id)))
		goto out;
	if ((err = attach_tc(skel, ifindex, o->dev, &rec)) ||
	    (err = pins_publish_maps(&pins, skel->obj))) {
		detach_tc(ifindex, rec.flags);
		detach_xdp(ifindex, o->dev);
		goto out;
	}
	if (bpf_map_update_elem(reg_fd, &key, &rec, BPF_ANY)) {
		err = -errno;
		xmcp_err("cannot record %s in %s/xmcp_ifaces: %s", o->dev, xmcp_pin_dir, strerror(-err));
		detach_tc(ifindex, rec.flags);
		detach_xdp(ifindex, o->dev);
		goto out;
	}
	printf("xmcp: attached to %s (%s XDP, tc ingress), counters in %s\n", o->dev,
	       o->mode == XDP_MODE_SKB ? "generic" : "native", xmcp_pin_dir);
out:
	/* A failed first attach must not leave pins or an empty directory behind. */
	if (err && skel && bpf_map__fd(skel->maps.xmcp_ifaces) >= 0 &&
	    registry_empty(bpf_map__fd(skel->maps.xmcp_ifaces)))
		pins_remove_all(&pins);
	else if (err)
		rmdir(xmcp_pin_dir);
	xmcp__destroy(skel);
	pins_unlock(&pins);
	return err;
}

/* Detach from one registered (or merely attached) ifindex; drop its record. */
static void detach_one(int reg_fd, __u32 ifindex, const struct xmcp_iface *rec)
{
	char name[IF_NAMESIZE];
	const char *dev = if_indextoname(ifindex, name);

	if (dev && rec && strncmp(dev, rec->name, sizeof(rec->name)))
		dev = NULL; /* the index was reused by another device since */
	if (dev) {
		detach_xdp(ifindex, dev);
		/* Without a record we can't know the clsact qdisc was ours: keep it. */
		detach_tc(ifindex, rec ? rec->flags : 0);
		printf("xmcp: detached from %s\n", dev);
	} else if (rec) {
		printf("xmcp: %s is gone; forgot it\n", rec->name);
	}
	if (reg_fd >= 0)
		bpf_map_delete_elem(reg_fd, &ifindex);
}

/* Registered devices of this namespace first, then any device still running our program. */
static void detach_all(int reg_fd, __u64 netns)
{
	__u32 keys[XMCP_MAX_IFACES], key, *prev = NULL;
	struct if_nameindex *ifs, *it;
	struct xdp_multiprog *mp;
	struct xmcp_iface rec;
	int n = 0, i, foreign;

	while (reg_fd >= 0 && n < XMCP_MAX_IFACES && !bpf_map_get_next_key(reg_fd, prev, &key)) {
		keys[n] = key;
		prev = &keys[n++];
	}
	for (i = 0; i < n; i++)
		if (!bpf_map_lookup_elem(reg_fd, &keys[i], &rec) && rec.netns_ino == netns)
			detach_one(reg_fd, keys[i], &rec);

	/* A killed daemon or wiped pins leave programs without a record. */
	ifs = if_nameindex();
	for (it = ifs; it && it->if_index; it++) {
		mp = our_xdp(it->if_index, &foreign);
		if (!mp)
			continue;
		xdp_multiprog__close(mp);
		detach_one(-1, it->if_index, NULL);
	}
	if (ifs)
		if_freenameindex(ifs);
}

static int do_detach(const struct attach_opts *o)
{
	struct xmcp_iface rec;
	struct xmcp_pins pins;
	int ifindex = 0, reg_fd = -1, have_rec = 0, foreign, err;
	struct xdp_multiprog *mp;
	__u32 key;
	__u64 netns;

	if ((err = xmcp_require_root()) || (err = xmcp_netns_ino(&netns)))
		return err;
	if (!o->all && (ifindex = xmcp_ifindex(o->dev)) < 0)
		return ifindex;
	key = ifindex;
	if (pins_lock(&pins, xmcp_pin_dir, false) == 0)
		reg_fd = pins_open_map(xmcp_pin_dir, XMCP_STR(XMCP_MAP_IFACES));
	else
		pins.dir_fd = -1;

	if (o->all) {
		detach_all(reg_fd, netns);
	} else {
		have_rec = reg_fd >= 0 && !bpf_map_lookup_elem(reg_fd, &key, &rec) &&
			   rec.netns_ino == netns;
		mp = our_xdp(ifindex, &foreign);
		if (!have_rec && !mp) {
			xmcp_err("xmcp is not attached to %s", o->dev);
			err = -ENOENT;
		} else {
			if (mp)
				xdp_multiprog__close(mp);
			detach_one(have_rec ? reg_fd : -1, key, have_rec ? &rec : NULL);
		}
	}
	if (pins.dir_fd >= 0 && (reg_fd < 0 || registry_empty(reg_fd)))
		pins_remove_all(&pins);
	if (reg_fd >= 0)
		close(reg_fd);
	pins_unlock(&pins);
	return err;
}

static int parse_mode(const char *arg, enum xdp_attach_mode *mode)
{
	if (!strcmp(arg, "native"))
		*mode = XDP_MODE_NATIVE;
	else if (!strcmp(arg, "generic") || !strcmp(arg, "skb"))
		*mode = XDP_MODE_SKB;
	else
		return -1;
	return 0;
}

static int parse_args(int argc, char **argv, struct attach_opts *o, int detach)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "all", no_argument, NULL, 'a' },
		XMCP_COMMON_LONGOPTS,
		{ 0 },
	};
	void (*usage)(FILE *) = detach ? detach_usage : attach_usage;
	int opt, ret;

	o->mode = XDP_MODE_NATIVE;
	while ((opt = getopt_long(argc, argv, XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'm' && !detach) {
			if (parse_mode(optarg, &o->mode)) {
				xmcp_err("--mode must be native or generic, not '%s'", optarg);
				return 2;
			}
		} else if (opt == 'a' && detach) {
			o->all = 1;
		} else if ((ret = xmcp_common_opt(opt, optarg))) {
			usage(ret > 0 ? stdout : stderr);
			return ret > 0 ? 0 : 2;
		}
	}
	if (o->all ? optind != argc : optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	o->dev = o->all ? NULL : argv[optind];
	return -1;
}

int cmd_attach(int argc, char **argv)
{
	struct attach_opts o = { 0 };
	int ret = parse_args(argc, argv, &o, 0);

	if (ret >= 0)
		return ret;
	return do_attach(&o) ? 1 : 0;
}

int cmd_detach(int argc, char **argv)
{
	struct attach_opts o = { 0 };
	int ret = parse_args(argc, argv, &o, 1);

	if (ret >= 0)
		return ret;
	return do_detach(&o) ? 1 : 0;
}
