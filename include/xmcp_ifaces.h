/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The devices xmcp is attached to: how many, the identity of the tc
 * filters it adds (so that detach removes exactly those), and the registry
 * (XMCP_MAP_IFACES) that lets `xmcp detach` undo an attach even after a
 * crash. Only userspace reads and writes the registry; the programs key
 * their per-device maps by the same ifindex.
 */
#ifndef INCLUDE_XMCP_IFACES_H
#define INCLUDE_XMCP_IFACES_H

#include "xmcp_types.h"

#define XMCP_MAX_IFACES 64

/* tc filter identity, so detach removes exactly our filter. */
#define XMCP_TC_HANDLE 0x786d /* "xm" */
#define XMCP_TC_PRIORITY 1

/* Registry of interfaces xmcp is attached to, keyed by ifindex. */
#define XMCP_IFACE_OWN_CLSACT 0x1 /* we created the clsact qdisc: remove it too */
/* No XDP: the classifier runs at tc ingress (XMCP_PROG_TC_CLASSIFY); beyond libxdp's modes */
#define XMCP_IFACE_MODE_TC 16
struct xmcp_iface {
	__u64 netns_ino; /* ifindex is only unique within this namespace */
	__u32 xdp_prog_id;
	__u32 tc_prog_id;
	__u32 xdp_mode; /* enum xdp_attach_mode, or XMCP_IFACE_MODE_TC */
	__u32 flags;
	char name[16];
};
XMCP_ASSERT_SIZE(struct xmcp_iface, 40);

#endif
