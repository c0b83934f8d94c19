// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's MPTCP "endpoints" (addresses the path manager uses or
 * announces) and the path manager's "limits".
 */
#include <linux/mptcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy/parse.h"
#include "lib/util.h"
#include "xmcp_addr.h"

#define DEFAULT_ENDPOINT_ID 200 /* ids 200.. stay clear of the ones ip(8) hands out */
#define MPTCP_LIMIT_MAX 8	 /* the kernel's own bound on both limits */

static int get_endpoint_flags(struct ctx *c, json_object *arr, const char *field, __u32 *flags)
{
	static const struct {
		const char *name;
		__u32 flag;
	} names[] = {
		{ "signal", MPTCP_PM_ADDR_FLAG_SIGNAL },
		{ "subflow", MPTCP_PM_ADDR_FLAG_SUBFLOW },
		{ "backup", MPTCP_PM_ADDR_FLAG_BACKUP },
		{ "fullmesh", MPTCP_PM_ADDR_FLAG_FULLMESH },
	};
	size_t i, k, n;

	*flags = 0;
	if (!json_object_is_type(arr, json_type_array))
		return pol_bad(c, field, "must be a list of signal, subflow, backup, fullmesh");
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		const char *f = json_object_get_string(json_object_array_get_idx(arr, i));

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (f && !strcmp(f, names[k].name))
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			return pol_bad(c, field, "'%s' is not one of signal, subflow, backup, fullmesh",
				   f ?: "?");
		*flags |= names[k].flag;
	}
	return 0;
}
static int get_endpoint(struct ctx *c, json_object *o, size_t i, struct pol_endpoint *e)
{
	static const char *const keys[] = { "address", "interface", "flags", "id", "port", NULL };
	char where[32], field[64];
	long long n, id;
	json_object *v;

	snprintf(where, sizeof(where), "endpoints[%zu]", i);
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, where, "must be an object");
	if (pol_only_keys(c, o, where, keys))
		return -1;
	snprintf(field, sizeof(field), "%s.address", where);
	if (!json_object_object_get_ex(o, "address", &v) || !json_object_is_type(v, json_type_string) ||
	    policy_parse_prefix(json_object_get_string(v), &e->addr) ||
	    e->addr.len != (e->addr.family == AF_INET ? 32 : 128))
		return pol_bad(c, field, "needs an IPv4 or IPv6 address");
	snprintf(field, sizeof(field), "%s.interface", where);
	if (json_object_object_get_ex(o, "interface", &v) && pol_copy_ifname(c, field, v, e->ifname))
		return -1;
	snprintf(field, sizeof(field), "%s.flags", where);
	if (json_object_object_get_ex(o, "flags", &v) && get_endpoint_flags(c, v, field, &e->flags))
		return -1;
	/* get_uint names keys relative to the prefix */
	snprintf(field, sizeof(field), "%s.", where);
	c->prefix = field;
	if (pol_get_uint(c, o, "port", 1, 65535, 0, &n) || pol_get_uint(c, o, "id", 1, 255,
								 DEFAULT_ENDPOINT_ID + i, &id)) {
		c->prefix = "";
		return -1;
	}
	if (n && !(e->flags & MPTCP_PM_ADDR_FLAG_SIGNAL)) {
		pol_bad(c, "port", "only a signal endpoint takes a port");
		c->prefix = "";
		return -1;
	}
	c->prefix = "";
	e->port = n;
	e->id = id;
	return 0;
}
int pol_get_endpoints(struct ctx *c, json_object *root, struct policy *p)
{
	json_object *arr;
	int i, n;

	n = pol_get_array(c, root, "endpoints", "endpoints", POL_MAX_ENDPOINTS, "endpoints", &arr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (get_endpoint(c, json_object_array_get_idx(arr, i), i, &p->endpoints[i]))
			return -1;
	p->n_endpoints = n;
	return 0;
}
int pol_get_limits(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "subflows", "add_addr_accepted", NULL };
	json_object *o;
	long long v;

	if (!json_object_object_get_ex(root, "limits", &o))
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, "limits", "must be an object with subflows, add_addr_accepted");
	if (pol_only_keys(c, o, "limits", keys))
		return -1;
	c->prefix = "limits.";
	if (pol_get_uint(c, o, "subflows", 0, MPTCP_LIMIT_MAX, 2, &v))
		return -1;
	p->subflows = v;
	if (pol_get_uint(c, o, "add_addr_accepted", 0, MPTCP_LIMIT_MAX, 2, &v))
		return -1;
	c->prefix = "";
	p->add_addr_accepted = v;
	p->set_limits = true;
	return 0;
}
