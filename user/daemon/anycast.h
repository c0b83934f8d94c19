/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An MCP behind the operator's ECMP routing (policy "anycast",
 * docs/scale-out.md). Several MCPs share service addresses; each announces
 * them through the routing daemon beside it (FRR's bgpd: `redistribute
 * connected` of one device) for exactly as long as it serves them:
 *   - the addresses are set on a TUN device only this process holds: when
 *     it ends in any way (exit, kill -9, a crash) the kernel removes the
 *     device, the routing daemon sees the addresses go and withdraws them;
 *   - the host takes them as its own through local routes on lo, so that
 *     withdrawing (a drain) leaves the open connections served; and joins
 *     never go to a shared address (the MP_CAPABLE C flag), a join to it
 *     could be routed to another MCP: both journaled, by install_anycast
 *     (user/install/install.c).
 */
#ifndef XMCP_ANYCAST_H
#define XMCP_ANYCAST_H

#include <json-c/json.h>

struct daemon;

/* The announcing device and its addresses: from now on routers send here; 0 or -1 after saying why. */
int anycast_announce(struct daemon *d);
/* The addresses off the device (the routers stop sending new connections here); the device stays. 0 or -1 after saying why. */
int anycast_withdraw(struct daemon *d);
/* The device goes (with whatever it still announces). */
void anycast_close(struct daemon *d);
/* {"device", "announced", "draining"} for `xmcp stats`. */
json_object *anycast_json(const struct daemon *d);

#endif
