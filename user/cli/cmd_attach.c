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

#include "cli/cmds.h"
#include "kernel/datapath.h"
#include "kernel/pins.h"
#include "install/journal.h"
#include "lib/util.h"
#include "xmcp_maps.h"
#include "xmcp.skel.h"

struct attach_opts {
	const char *dev;
	__u32 mode; /* enum xdp_attach_mode or XMCP_IFACE_MODE_TC */
	int all;
};

static void attach_usage(FILE *f)
{
	fprintf(f, "Usage: xmcp attach DEV [--mode auto|native|generic|tc]\n"
		   "\n"
		   "Attaches the XDP classifier to DEV and the tc ingress program that reads\n"
		   "its verdict, with counters pinned under the pin directory (%s).\n"
		   "Attached this way it only counts: every verdict is XDP_PASS and nothing\n"
		   "is steered. 'xmcp run' attaches it with the steering programs.\n"
		   "\n"
		   "  --mode auto     the classifier at tc ingress on veth, virtio_net and tun\n"
		   "                  devices (their XDP costs offloads or copies) and where the\n"
		   "                  driver has no native XDP; native XDP elsewhere (default;\n"
		   "                  it says which and why)\n"
		   "  --mode native   XDP in the driver\n"
		   "  --mode generic  XDP in the kernel's generic path, for any device\n"
		   "  --mode tc       no XDP: the classifier at tc ingress, for any device\n",
		   xmcp_pin_dir);
}

static void detach_usage(FILE *f)
{
	fprintf(f, "Usage: xmcp detach DEV | --all\n"
		   "\n"
		   "Removes xmcp's XDP and tc programs from DEV (or from every device it is\n"
		   "attached to in this network namespace, with --all). The last detach also\n"
		   "removes the pinned maps and the pin directory. --all first undoes what\n"
		   "an xmcp run that did not exit cleanly left behind (its journal), and\n"
		   "refuses while that daemon still runs.\n");
}

/* attach has no steering: its tc classifier counts what it reads itself (bpf/classify.bpf.c) */
static int configure_reader(struct xmcp *skel, void *arg)
{
	(void)arg;
	skel->rodata->cfg_tc_reader = 1;
	return 0;
}

/*
 * The programs an attach in mode needs: the tc classifier alone, or XDP
 * and the tc reader, and for auto's native pick the tc classifier too (a
 * driver without native XDP gets it instead).
 */
static unsigned int attach_progs(const char *dev, __u32 mode)
{
	const char *why;
	__u32 pick = mode == XDP_MODE_UNSPEC ? dp_auto_mode(dev, &why) : mode;

	if (pick == XMCP_IFACE_MODE_TC)
		return DP_TC_CLASSIFY;
	return DP_XDP | DP_TC | (mode == XDP_MODE_UNSPEC ? DP_TC_CLASSIFY : 0);
}

static int do_attach(const struct attach_opts *o)
{
	struct dp dp;
	int err;

	if ((err = dp_open(&dp, xmcp_pin_dir, attach_progs(o->dev, o->mode), configure_reader, NULL)))
		return err;
	struct xmcp_iface rec;
	const char *why;

	err = dp_attach_dev(&dp, o->dev, o->mode, bpf_program__fd(dp.skel->progs.xmcp_tc_ingress), -1, &rec,
			    &why);
	if (err > 0) {
		printf("xmcp: attached to %s (classifier in %s: %s; tc ingress), counters in %s\n", o->dev,
		       dp_xdp_mode_name(rec.xdp_mode), why, xmcp_pin_dir);
		err = 0;
	}
	dp_close(&dp);
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
		/* Without a record we can't know the clsact qdisc was ours: keep it. */
		dp_detach(ifindex, dev, rec ? rec->flags : 0);
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
		mp = dp_our_xdp(it->if_index, &foreign);
		if (mp)
			xdp_multiprog__close(mp);
		else if (!dp_has_our_tc(it->if_index))
			continue;
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
		pid_t pid;
		int r;

		/* the journal undoes the pins too: let it have the lock */
		pins_unlock(&pins);
		r = journal_recover(&pid);
		if (pins_lock(&pins, xmcp_pin_dir, false))
			pins.dir_fd = -1;
		if (r > 0) {
			xmcp_err("xmcp run (pid %d) is still running here: stop it (SIGTERM) instead", pid);
			err = -EBUSY;
			goto out;
		}
		if (pid)
			printf("xmcp: undid what xmcp run (pid %d) had changed: programs, rule, routes, "
			       "MPTCP endpoints and limits\n", pid);
		detach_all(reg_fd, netns);
	} else {
		have_rec = reg_fd >= 0 && !bpf_map_lookup_elem(reg_fd, &key, &rec) &&
			   rec.netns_ino == netns;
		mp = dp_our_xdp(ifindex, &foreign);
		if (!have_rec && !mp && !dp_has_our_tc(ifindex)) {
			xmcp_err("xmcp is not attached to %s", o->dev);
			err = -ENOENT;
		} else {
			if (mp)
				xdp_multiprog__close(mp);
			detach_one(have_rec ? reg_fd : -1, key, have_rec ? &rec : NULL);
		}
	}
out:
	if (pins.dir_fd >= 0 && (reg_fd < 0 || dp_registry_empty(reg_fd)))
		pins_remove_all(&pins);
	if (reg_fd >= 0)
		close(reg_fd);
	pins_unlock(&pins);
	return err;
}

static int parse_mode(const char *arg, __u32 *mode)
{
	if (!strcmp(arg, "auto"))
		*mode = XDP_MODE_UNSPEC;
	else if (!strcmp(arg, "native"))
		*mode = XDP_MODE_NATIVE;
	else if (!strcmp(arg, "generic") || !strcmp(arg, "skb"))
		*mode = XDP_MODE_SKB;
	else if (!strcmp(arg, "tc"))
		*mode = XMCP_IFACE_MODE_TC;
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

	o->mode = XDP_MODE_UNSPEC;
	while ((opt = getopt_long(argc, argv, XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'm' && !detach) {
			if (parse_mode(optarg, &o->mode)) {
				xmcp_err("--mode must be auto, native, generic or tc, not '%s'", optarg);
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
