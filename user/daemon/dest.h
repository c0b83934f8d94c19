/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one check of where a server leg may go, for every role (HCPE, HAG,
 * MCP): a gateway must never become a relay into itself or into addresses
 * no connection may have (draft-deng: never an open relay, never a loop).
 *
 * A destination is put in canonical form first (an IPv4-mapped IPv6
 * address is the IPv4 address it maps), then refused when it is
 * - special (include/xmcp_addr.h, the same check the datapath makes):
 *   unspecified, loopback, link-local, multicast, broadcast;
 * - in the policy's "forbidden" prefixes;
 * - anything the kernel routes as local, broadcast, multicast or anycast
 *   right now (a route lookup over rtnetlink per connection): the
 *   gateway's own addresses, read live, whatever was added since start.
 */
#ifndef XMCP_DEST_H
#define XMCP_DEST_H

#include <sys/socket.h>

#include "policy/policy.h"

struct dest_check;

/* An rtnetlink socket for the route lookups; NULL after saying why. */
struct dest_check *dest_check_new(void);
void dest_check_free(struct dest_check *dc);

/* An IPv4-mapped IPv6 socket address becomes the IPv4 one, in place. */
void dest_canonical(struct sockaddr_storage *ss);

/*
 * NULL when a connection may be opened to dst (made canonical in place),
 * else why not, in words ("loopback", "a local address of this gateway").
 */
const char *dest_refused(struct dest_check *dc, const struct policy *p, struct sockaddr_storage *dst);
/* How many destinations dest_refused refused so far. */
unsigned long long dest_check_refused(const struct dest_check *dc);

#endif
