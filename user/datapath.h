/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading xmcp's BPF object with its pinned maps, and putting its programs
 * on devices: the XDP classifier through libxdp and a tc ingress program
 * (the metadata reader for `xmcp attach`, the steering program for
 * `xmcp run`). Every attached device is recorded in the xmcp_ifaces map so
 * that `xmcp detach` can undo exactly what was done, even after a crash.
 */
#ifndef XMCP_DATAPATH_H
#define XMCP_DATAPATH_H

#include <xdp/libxdp.h>

#include "pins.h"
#include "xmcp_maps.h"

struct xmcp;

struct dp {
	struct xmcp_pins pins;
	struct xmcp *skel;
	int reg_fd; /* the xmcp_ifaces registry */
	__u64 netns;
};

/*
 * Lock the pin directory, open the object, reuse pinned maps, call
 * `configure` (to set rodata) when given, and load. On failure everything
 * is undone and a negative errno returned, the reason already printed.
 */
int dp_open(struct dp *dp, const char *pin_dir, int (*configure)(struct xmcp *skel, void *arg),
	    void *arg);

/*
 * Attach XDP + the tc program tc_fd to dev, pin the maps, record the device.
 * Returns its ifindex (and the record in *rec when given), or a negative errno.
 */
int dp_attach_dev(struct dp *dp, const char *dev, enum xdp_attach_mode mode, int tc_fd,
		  struct xmcp_iface *rec);

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
 * devices are not. A map no program uses is not found. -ENOENT if none.
 */
int dp_find_map(const char *name);

/* True when no device is recorded in the registry map. */
int dp_registry_empty(int reg_fd);

#endif
