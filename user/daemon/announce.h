/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a gateway announces to the operator's routing (docs/scale-out.md),
 * through the routing daemon beside it (FRR's bgpd: `redistribute
 * connected` of one device), for exactly as long as it serves it:
 *   - an MCP's "anycast" addresses, shared by several MCPs behind ECMP;
 *   - a HAG's "announce" prefixes, the subscribers whose connections it
 *     holds (servers' replies come back by them).
 * Both are set on a TUN device only this process holds: when it ends in
 * any way (exit, kill -9, a crash) the kernel removes the device, the
 * routing daemon sees the addresses go and withdraws them.
 *   - An MCP takes its shared addresses as its own through local routes on
 *     lo, so that withdrawing them (a drain) leaves the open connections
 *     served; and joins never go to a shared address (the MP_CAPABLE C
 *     flag): a join to it could be routed to another MCP. Both journaled,
 *     by install_announce (user/install/install.c).
 *   - A HAG's prefixes are never its own: the kernel's local and broadcast
 *     routes for the address a prefix is set as are removed at once.
 */
#ifndef XMCP_ANNOUNCE_H
#define XMCP_ANNOUNCE_H

#include <json-c/json.h>

struct daemon;

/* The announcing device and its addresses: from now on routers send here; 0 or -1 after saying why. */
int announce_up(struct daemon *d);
/* The addresses off the device (the routers stop sending new connections here); the device stays. 0 or -1 after saying why. */
int announce_withdraw(struct daemon *d);
/* Once a second: a HAG's prefixes stay off the host's own addresses (the kernel may put them back). */
void announce_tick(struct daemon *d);
/* The device goes (with whatever it still announces). */
void announce_close(struct daemon *d);
/* For `xmcp stats`: {"device", "announced", "draining"} under "anycast", {"device", "announced", "probe_port"} under "announce". */
json_object *announce_json(const struct daemon *d);

#endif
