/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's MPTCP path manager over generic netlink (libmnl): the
 * endpoints and limits that `ip mptcp endpoint/limits` show.
 */
#ifndef XMCP_MPTCP_PM_H
#define XMCP_MPTCP_PM_H

#include <linux/types.h>

struct pm_endpoint {
	int family; /* AF_INET or AF_INET6 */
	__u8 addr[16];
	__u8 id;
	__u32 flags;	/* MPTCP_PM_ADDR_FLAG_* */
	int ifindex;	/* 0: any */
	__u16 port;	/* 0: none */
};

/* Each returns 0 or a negative errno. */
int pm_add_endpoint(const struct pm_endpoint *e);
int pm_del_endpoint(__u8 id);
/*
 * Remove the kernel's implicit endpoints (MPTCP_PM_ADDR_FLAG_IMPLICIT: an
 * address still used by subflows after its endpoint went) that hold e's id
 * or address, which make adding e fail with EBUSY. How many, or -errno.
 */
int pm_del_implicit_clash(const struct pm_endpoint *e);
int pm_get_limits(__u32 *add_addr_accepted, __u32 *subflows);
int pm_set_limits(__u32 add_addr_accepted, __u32 subflows);

#endif
