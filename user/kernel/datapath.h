/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading xmcp's BPF object with its pinned maps, and putting its programs
 * on devices: the XDP classifier through libxdp and a tc ingress program
 * (the metadata reader for `xmcp attach`, the steering program for
 * `xmcp run`). Every attached device is recorded in the xmcp_ifaces map so
 * that `xmcp detach` can undo exactly what was done, even after a crash.
 * A command loads only the programs it needs (DP_FOR_*).
 */
#ifndef XMCP_DATAPATH_H
#define XMCP_DATAPATH_H

#include <stdbool.h>
#include <xdp/libxdp.h>

#include "kernel/pins.h"
#include "xmcp_maps.h"

struct xmcp;

/*
 * The programs of xmcp's object (bpf/) a command loads; the others are
 * never loaded (bpf_program__set_autoload), so a command neither pays for
 * nor depends on the verifier's view of a program it does not attach.
 */
enum dp_prog {
	DP_XDP = 1 << 0,   /* XMCP_PROG_XDP, the classifier */
	DP_TC = 1 << 1,	   /* XMCP_PROG_TC, the tc metadata reader */
	DP_STEER = 1 << 2, /* XMCP_PROG_STEER, the tc steering */
	DP_PATH = 1 << 3,  /* XMCP_PROG_PATH, tc egress of the access devices */
	DP_TC_CLASSIFY = 1 << 4, /* XMCP_PROG_TC_CLASSIFY, the classifier at tc (mode tc) */
	DP_STEER_CB = 1 << 5,	 /* XMCP_PROG_STEER_CB, the steering it tail-calls */
};
/* What each command loads. */
#define DP_FOR_CLASSIFY DP_XDP		       /* BPF_PROG_TEST_RUN of the classifier */
#define DP_FOR_ATTACH (DP_XDP | DP_TC | DP_TC_CLASSIFY) /* XDP + tc ingress, or tc alone (attach picks) */
#define DP_FOR_RUN (DP_XDP | DP_STEER | DP_TC_CLASSIFY | DP_STEER_CB | DP_PATH) /* every role steers; every role has access devices */

/* Load only the programs in progs (enum dp_prog) when skel is loaded. */
void dp_select_progs(struct xmcp *skel, unsigned int progs);

struct dp {
	struct xmcp_pins pins;
	struct xmcp *skel;
	int reg_fd; /* the xmcp_ifaces registry */
	__u64 netns;
};

/*
 * Lock the pin directory, open the object, reuse pinned maps, call
 * `configure` (to set rodata) when given, and load the programs in progs
 * (a DP_FOR_*: each holds DP_XDP, which every attach needs). On failure
 * everything is undone and a negative errno returned, the reason already
 * printed.
 */
int dp_open(struct dp *dp, const char *pin_dir, unsigned int progs,
	    int (*configure)(struct xmcp *skel, void *arg), void *arg);

/*
 * Attach XDP + the tc program tc_fd to dev, pin the maps, record the device.
 * mode: an enum xdp_attach_mode (tc_fd at tc ingress behind XDP), or
 * XMCP_IFACE_MODE_TC (the classifier at tc ingress, no XDP, handing each
 * frame on to next_fd; -1: none, attach's counts itself); XDP_MODE_UNSPEC is "auto": tc on
 * veth, virtio_net and tun devices and on drivers without native XDP,
 * native XDP elsewhere. The record's xdp_mode says which ran, *why (when
 * given) why. Returns dev's ifindex (and the record in *rec when given),
 * or a negative errno.
 */
int dp_attach_dev(struct dp *dp, const char *dev, __u32 mode, int tc_fd, int next_fd, struct xmcp_iface *rec,
		  const char **why);

/*
 * Where "auto" runs the classifier on dev: XMCP_IFACE_MODE_TC or
 * XDP_MODE_NATIVE (which dp_attach_dev turns into tc where the driver has
 * no native XDP), and why.
 */
__u32 dp_auto_mode(const char *dev, const char **why);

/* Whether ifindex has a tc ingress filter of xmcp's (its handle and priority). */
bool dp_has_our_tc(int ifindex);

/* "native XDP", "generic XDP" or "tc": where a record's classifier runs */
const char *dp_xdp_mode_name(__u32 xdp_mode);

/* Release the object and the lock; the pins go too if no device is recorded. */
void dp_close(struct dp *dp);

/* The XDP program on ifindex if it is xmcp's; *foreign_id names another one. */
struct xdp_multiprog *dp_our_xdp(int ifindex, int *foreign_id);

/* Remove our XDP program and tc filter from ifindex (and a clsact we added). */
void dp_detach(int ifindex, const char *dev, __u32 flags);

/*
 * Open the map NAME of xmcp's programs on this network namespace's devices
 * (XDP, tc ingress and egress), found through the devices, not the pin
 * directory: a command started by `ip netns exec` has a bpffs of its own on
 * /sys/fs/bpf, so the pins another one made are out of its sight, while the
 * devices are not. A map no program uses is not found. -ENOENT if none,
 * -ENOTUNIQ if two xmcp instances here each have one. The caller checks
 * the map's layout (a program that only calls itself xmcp_* may be another).
 */
int dp_find_map(const char *name);

/* True when no device is recorded in the registry map. */
int dp_registry_empty(int reg_fd);

#endif
