// SPDX-License-Identifier: GPL-2.0
/*
 * The HAG's "modes" (draft-deng 3.4): which destinations are taken over,
 * passed through, or learned (hybrid); the lookup the daemon uses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy/parse.h"
#include "lib/util.h"
#include "xmcp_addr.h"

/* The policy's word for each enum xmcp_mode, by its value (xmcp_modes.h). */
#define MODE_NAME(e, n) #n,
static const char *const mode_names[] = { XMCP_MODES(MODE_NAME) NULL };
#undef MODE_NAME

/* One of modes.rules: {"destinations": [...], "ports": [...], "mode": "..."} */
static int get_mode_rule(struct ctx *c, json_object *o, int i, struct pol_mode_rule *r)
{
	static const char *const keys[] = { "destinations", "ports", "mode", NULL };
	char where[32], field[64];
	int mode, n;

	snprintf(where, sizeof(where), "modes.rules[%d]", i);
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, where, "must be an object with destinations, ports, mode");
	if (pol_only_keys(c, o, where, keys))
		return -1;
	snprintf(field, sizeof(field), "%s.destinations", where);
	if (pol_get_prefixes_as(c, o, "destinations", field, r->prefixes, POL_MAX_RULE_MATCH, &r->n_prefixes))
		return -1;
	snprintf(field, sizeof(field), "%s.ports", where);
	n = pol_get_ports(c, o, "ports", field, r->ports);
	if (n < 0)
		return -1;
	r->n_ports = n;
	snprintf(field, sizeof(field), "%s.", where);
	c->prefix = field;
	if (pol_get_choice(c, o, "mode", mode_names, -1, &mode))
		return -1;
	c->prefix = "";
	if (mode < 0)
		return pol_bad(c, where, "needs \"mode\": take_over, transparent or hybrid");
	r->mode = mode;
	return 0;
}
/* Each rule becomes destinations x ports entries of the datapath's table. */
static unsigned int mode_entries(const struct policy *p)
{
	unsigned int i, n = 0;

	for (i = 0; i < p->n_mode_rules; i++)
		n += (p->mode_rules[i].n_prefixes ?: 1) * (p->mode_rules[i].n_ports ?: 1);
	return n;
}
/* HAG: "modes": {"default": "...", "rules": [...], "learned_lifetime": SECS} */
int pol_get_modes(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "default", "rules", "learned_lifetime", NULL };
	json_object *o, *arr;
	long long v;
	int mode, i, n;

	if (!json_object_object_get_ex(root, "modes", &o))
		return 0;
	if (p->role != POL_ROLE_HAG)
		return pol_bad(c, "modes", "only a HAG chooses a mode by destination");
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, "modes", "must be an object with default, rules, learned_lifetime");
	if (pol_only_keys(c, o, "modes", keys))
		return -1;
	c->prefix = "modes.";
	if (pol_get_choice(c, o, "default", mode_names, XMCP_MODE_TAKE_OVER, &mode) ||
	    pol_get_uint(c, o, "learned_lifetime", 1, 86400 * 30, 3600, &v))
		return -1;
	c->prefix = "";
	p->default_mode = mode;
	p->learned_lifetime = v;
	n = pol_get_array(c, o, "rules", "modes.rules", POL_MAX_MODE_RULES, "rules", &arr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (get_mode_rule(c, json_object_array_get_idx(arr, i), i, &p->mode_rules[i]))
			return -1;
	p->n_mode_rules = n;
	if (mode_entries(p) > XMCP_MAX_MODE_RULES)
		return pol_bad(c, "modes.rules", "%u destination x port combinations, at most %d", mode_entries(p),
			   XMCP_MAX_MODE_RULES);
	p->has_modes = true;
	return 0;
}
static bool rule_matches(const struct pol_mode_rule *r, int family, const void *addr, __u16 port)
{
	unsigned int i;
	bool in = !r->n_prefixes, on = !r->n_ports;

	for (i = 0; i < r->n_prefixes && !in; i++)
		in = pol_prefix_contains(&r->prefixes[i], family, addr);
	for (i = 0; i < r->n_ports && !on; i++)
		on = r->ports[i] == port;
	return in && on;
}
enum xmcp_mode policy_mode_for(const struct policy *p, int family, const void *addr, __u16 port)
{
	unsigned int i;

	for (i = 0; i < p->n_mode_rules; i++)
		if (rule_matches(&p->mode_rules[i], family, addr, port))
			return p->mode_rules[i].mode;
	return p->default_mode;
}
