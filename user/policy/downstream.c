// SPDX-License-Identifier: GPL-2.0
/*
 * The off-path HCPE's "downstream": the MCPs it sends converted
 * connections to, each for some destinations and ports, and the timing of
 * its failover.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy/parse.h"
#include "lib/util.h"
#include "xmcp_addr.h"

/* One of downstream.mcps: "ADDR:PORT", or {"mcp": "ADDR:PORT", "destinations": [...], "ports": [...]} */
static int get_mcp(struct ctx *c, json_object *e, int i, struct pol_mcp *m)
{
	static const char *const keys[] = { "mcp", "destinations", "ports", NULL };
	char field[64];
	json_object *v;
	int n;

	snprintf(field, sizeof(field), "mcps[%d]", i);
	if (json_object_is_type(e, json_type_object)) {
		if (pol_only_keys(c, e, field, keys))
			return -1;
		if (!json_object_object_get_ex(e, "mcp", &v))
			return pol_bad(c, field, "needs \"mcp\": \"ADDRESS:PORT\"");
		snprintf(field, sizeof(field), "mcps[%d].mcp", i);
	} else {
		v = e;
	}
	if (!json_object_is_type(v, json_type_string) || pol_parse_hostport(json_object_get_string(v), m))
		return pol_bad(c, field, "'%s' is not ADDRESS:PORT or [IPV6]:PORT", json_object_get_string(v));
	if (v == e)
		return 0;
	snprintf(field, sizeof(field), "mcps[%d].destinations", i);
	if (pol_get_prefixes_as(c, e, "destinations", field, m->prefixes, POL_MAX_MCP_MATCH, &m->n_prefixes))
		return -1;
	snprintf(field, sizeof(field), "mcps[%d].ports", i);
	n = pol_get_ports(c, e, "ports", field, m->ports);
	if (n < 0)
		return -1;
	m->n_ports = n;
	return 0;
}
/* HCPE: "downstream": {"mode": "on-path" | "off-path", "mcps": [...], ...} */
int pol_get_downstream(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "mode", "mcps", "connect_timeout_ms", "retry_after", NULL };
	static const char *const modes[] = { "on-path", "off-path", NULL };
	json_object *o, *arr;
	long long v;
	int mode, i, n;

	p->connect_timeout_ms = 1000;
	p->retry_after = 30;
	if (!json_object_object_get_ex(root, "downstream", &o))
		return 0;
	if (p->role != POL_ROLE_HCPE)
		return pol_bad(c, "downstream", "only an HCPE has a downstream MCP");
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, "downstream", "must be an object with mode, mcps");
	if (pol_only_keys(c, o, "downstream", keys))
		return -1;
	c->prefix = "downstream.";
	if (pol_get_choice(c, o, "mode", modes, 0, &mode) ||
	    pol_get_uint(c, o, "connect_timeout_ms", 10, 60000, 1000, &v))
		return -1;
	p->connect_timeout_ms = v;
	if (pol_get_uint(c, o, "retry_after", 1, 86400, 30, &v))
		return -1;
	p->retry_after = v;
	n = pol_get_array(c, o, "mcps", "mcps", POL_MAX_MCPS, "addresses", &arr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (get_mcp(c, json_object_array_get_idx(arr, i), i, &p->mcps[i]))
			return -1;
	p->n_mcps = n;
	p->off_path = mode == 1;
	if (p->off_path && !n)
		return pol_bad(c, "mcps", "off-path mode needs at least one MCP");
	if (!p->off_path && n)
		return pol_bad(c, "mcps", "only the off-path mode names MCPs");
	c->prefix = "";
	return 0;
}
