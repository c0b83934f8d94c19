// SPDX-License-Identifier: GPL-2.0
/*
 * What a daemon announces to the operator's routing (docs/scale-out.md),
 * as addresses of a device it holds (user/daemon/announce.h):
 *   - "anycast" (MCP): service addresses several MCPs share behind ECMP;
 *     joins go to the MCP's own address, announced by a signal endpoint,
 *     since a join to the shared address could be routed to another MCP;
 *   - "announce" (HAG): subscriber prefixes, so that servers' replies come
 *     back to the HAG holding their connections (sharding, a standby).
 */
#include <linux/mptcp.h>
#include <stdio.h>
#include <string.h>

#include "policy/parse.h"
#include "xmcp_addr.h"

#define POL_MAX_ANYCAST 4

/* 1..POL_MAX_ANYCAST host addresses no relayed peer may have (include/xmcp_addr.h) */
static int get_addresses(struct ctx *c, json_object *o, struct pol_announce *a)
{
	unsigned int i, j;

	if (pol_get_prefixes_as(c, o, "addresses", "addresses", a->addr, POL_MAX_ANYCAST, &a->n))
		return -1;
	if (!a->n)
		return pol_bad(c, "addresses", "name the service address(es) the MCPs share");
	for (i = 0; i < a->n; i++) {
		struct xmcp_addr k;
		char item[32];

		snprintf(item, sizeof(item), "addresses[%u]", i);
		if (a->addr[i].len != (a->addr[i].family == AF_INET ? 32 : 128))
			return pol_bad(c, item, "must be one address (/32 or /128), not a prefix");
		xmcp_addr_prefix(&k, a->addr[i].family == AF_INET, a->addr[i].addr, a->addr[i].len);
		if (xmcp_addr_verdict(&k) != XMCP_ADDR_OK)
			return pol_bad(c, item, "is a special address (unspecified, loopback, link-local, multicast "
						"or broadcast)");
		for (j = 0; j < i; j++)
			if (a->addr[j].family == a->addr[i].family && a->addr[j].len == a->addr[i].len &&
			    !memcmp(a->addr[j].addr, a->addr[i].addr, sizeof(a->addr[i].addr)))
				return pol_bad(c, item, "is addresses[%u] again", j);
	}
	return 0;
}

static bool is_policy_interface(const struct policy *p, const char *name)
{
	const struct pol_ifs *g[] = { &p->lan, &p->access, &p->wan };
	unsigned int i, k;

	for (i = 0; i < 3; i++)
		for (k = 0; k < g[i]->n; k++)
			if (!strcmp(g[i]->name[k], name))
				return true;
	return false;
}

/* "device": the announcing device's name, default def; none of the policy's interfaces */
static int get_device(struct ctx *c, json_object *o, struct policy *p, const char *def)
{
	struct pol_announce *a = &p->announce;
	json_object *v;

	if (json_object_object_get_ex(o, "device", &v) && pol_copy_ifname(c, "device", v, a->device))
		return -1;
	if (!a->device[0])
		snprintf(a->device, sizeof(a->device), "%s", def);
	if (strchr(a->device, '%') || strchr(a->device, '/') || is_policy_interface(p, a->device))
		return pol_bad(c, "device", "'%s' must be a name of its own (no %% or /, none of the interfaces)",
			       a->device);
	return 0;
}

/*
 * The endpoints: none may announce a shared address (a join to it may be
 * routed to another MCP), and one must announce an address of this MCP's
 * own: that is where joins go.
 */
static int check_endpoints(struct ctx *c, const struct policy *p)
{
	bool own_signal = false;
	unsigned int i, k;

	for (i = 0; i < p->n_endpoints; i++) {
		const struct pol_endpoint *e = &p->endpoints[i];
		char item[32];

		for (k = 0; k < p->announce.n; k++)
			if (e->addr.family == p->announce.addr[k].family &&
			    !memcmp(e->addr.addr, p->announce.addr[k].addr, e->addr.family == AF_INET ? 4 : 16)) {
				snprintf(item, sizeof(item), "endpoints[%u]", i);
				return pol_bad(c, item, "is a shared (anycast) address: a join to it may be "
							"routed to another MCP");
			}
		own_signal |= !!(e->flags & MPTCP_PM_ADDR_FLAG_SIGNAL);
	}
	if (!own_signal)
		return pol_bad(c, "endpoints", "an anycast MCP needs a signal endpoint with an address of its own: "
					       "joins go there, never to the shared address");
	return 0;
}

int pol_get_anycast(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "addresses", "device", "drain_min", "drain_timeout", NULL };
	struct pol_announce *a = &p->announce;
	json_object *o;
	long long drain, drain_min;

	if (!json_object_object_get_ex(root, "anycast", &o))
		return 0;
	if (p->role != POL_ROLE_MCP)
		return pol_bad(c, "anycast", "only an MCP serves a shared address (a HAG keeps the subscriber's)");
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, "anycast", "must be an object with addresses, device, drain_min, drain_timeout");
	if (pol_only_keys(c, o, "anycast", keys))
		return -1;
	c->prefix = "anycast.";
	if (get_addresses(c, o, a) || pol_get_uint(c, o, "drain_timeout", 0, 86400, 30, &drain) ||
	    pol_get_uint(c, o, "drain_min", 0, 3600, drain < 3 ? drain : 3, &drain_min))
		return -1;
	if (drain_min > drain)
		return pol_bad(c, "drain_min", "is longer than drain_timeout (%lld s)", drain);
	a->drain_timeout = drain;
	a->drain_min = drain_min;
	if (get_device(c, o, p, "xmcp-anycast"))
		return -1;
	c->prefix = "";
	return check_endpoints(c, p);
}

/*
 * HAG: 1..POL_MAX_ANNOUNCE prefixes, each inside one of "subscribers"
 * (replies to any other address have no connection here to come back to).
 */
static int get_prefixes(struct ctx *c, json_object *o, struct policy *p)
{
	struct pol_announce *a = &p->announce;
	unsigned int i, j;

	if (pol_get_prefixes_as(c, o, "prefixes", "prefixes", a->addr, POL_MAX_ANNOUNCE, &a->n))
		return -1;
	if (!a->n)
		return pol_bad(c, "prefixes", "name the subscriber prefixes this HAG serves");
	for (i = 0; i < a->n; i++) {
		const struct pol_prefix *x = &a->addr[i];
		char item[32];

		snprintf(item, sizeof(item), "prefixes[%u]", i);
		for (j = 0; j < p->n_subscribers; j++)
			if (p->subscribers[j].len <= x->len && pol_prefix_contains(&p->subscribers[j], x->family, x->addr))
				break;
		if (j == p->n_subscribers)
			return pol_bad(c, item, "is not inside any of subscribers: servers' replies to it have no "
						"connection here");
		for (j = 0; j < i; j++)
			if (pol_prefix_contains(&a->addr[j], x->family, x->addr) || pol_prefix_contains(x,
				a->addr[j].family, a->addr[j].addr))
				return pol_bad(c, item, "overlaps prefixes[%u]", j);
	}
	return 0;
}

/*
 * HAG: "announce": {"prefixes", "device", "probe_port"}: SIGTERM withdraws
 * the prefixes and closes the probe port, nothing drains (docs/scale-out.md)
 */
int pol_get_announce(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "prefixes", "device", "probe_port", NULL };
	json_object *o;
	long long port;

	if (!json_object_object_get_ex(root, "announce", &o))
		return 0;
	if (p->role != POL_ROLE_HAG)
		return pol_bad(c, "announce", "only a HAG announces subscriber prefixes (an MCP shares addresses: "
					      "\"anycast\")");
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, "announce", "must be an object with prefixes, device, probe_port");
	if (pol_only_keys(c, o, "announce", keys))
		return -1;
	c->prefix = "announce.";
	p->announce.prefixes = true;
	if (get_prefixes(c, o, p) || get_device(c, o, p, "xmcp-announce") ||
	    pol_get_uint(c, o, "probe_port", 0, 1023, 0, &port))
		return -1;
	/* below 1024: only a privileged process binds it, so no local user can answer HCPEs for a dead xmcp */
	p->announce.probe_port = port;
	c->prefix = "";
	return 0;
}
