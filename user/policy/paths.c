// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's "paths": access networks by device, their type, backup
 * flag and shaped rate (draft-deng 6.3 e, 6.6 k).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <linux/mptcp.h>

#include "policy/parse.h"
#include "lib/util.h"
#include "xmcp_addr.h"

static const char *const access_types[] = { "dsl", "lte", "5g", "wlan", "fiber", "cable",
					     "satellite", "ethernet", NULL };

static bool is_access_if(const struct policy *p, const char *ifname)
{
	unsigned int i;

	for (i = 0; i < p->access.n; i++)
		if (!strcmp(p->access.name[i], ifname))
			return true;
	return false;
}
/* A backup path's flag rides on the endpoints of its device: it needs one. */
static int mark_backup_endpoints(struct ctx *c, struct policy *p, unsigned int i, const char *where)
{
	unsigned int k, n = 0;

	for (k = 0; k < p->n_endpoints; k++)
		if (!strcmp(p->endpoints[k].ifname, p->paths[i].ifname)) {
			p->endpoints[k].flags |= MPTCP_PM_ADDR_FLAG_BACKUP;
			n++;
		}
	if (!n)
		return pol_bad(c, where, "a backup path needs an endpoint on %s to carry the flag "
				     "(the subflows of an HCPE follow the HAG's flag)", p->paths[i].ifname);
	return 0;
}
/* One of "paths": {"name", "interface", "access", "priority", "rate_mbit"} */
static int get_path(struct ctx *c, json_object *o, unsigned int i, struct policy *p)
{
	static const char *const keys[] = { "name", "interface", "access", "priority", "rate_mbit", NULL };
	static const char *const prios[] = { "primary", "backup", NULL };
	struct pol_path *pp = &p->paths[i];
	char where[32], prefix[40];
	const char *name;
	json_object *v;
	int access, prio;
	long long rate;

	snprintf(where, sizeof(where), "paths[%u]", i);
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, where, "must be an object with name, interface, access, priority, rate_mbit");
	if (pol_only_keys(c, o, where, keys))
		return -1;
	snprintf(prefix, sizeof(prefix), "%s.", where);
	c->prefix = prefix;
	if (pol_get_string(c, o, "name", &name))
		return -1;
	if (!name || !*name || strlen(name) >= POL_PATH_NAME)
		return pol_bad(c, "name", "needs a name of 1 to %d characters", POL_PATH_NAME - 1);
	snprintf(pp->name, sizeof(pp->name), "%s", name);
	if (!json_object_object_get_ex(o, "interface", &v))
		return pol_bad(c, "interface", "missing");
	if (pol_copy_ifname(c, "interface", v, pp->ifname))
		return -1;
	if (!is_access_if(p, pp->ifname))
		return pol_bad(c, "interface", "'%s' is not one of interfaces.access", pp->ifname);
	if (pol_get_choice(c, o, "access", access_types, -1, &access) ||
	    pol_get_choice(c, o, "priority", prios, 0, &prio) ||
	    pol_get_uint(c, o, "rate_mbit", 1, 100000, 0, &rate))
		return -1;
	if (access < 0)
		return pol_bad(c, "access", "missing (dsl, lte, 5g, wlan, fiber, cable, satellite or ethernet)");
	c->prefix = "";
	snprintf(pp->access, sizeof(pp->access), "%s", access_types[access]);
	pp->backup = prio == 1;
	pp->rate_mbit = rate;
	return pp->backup ? mark_backup_endpoints(c, p, i, where) : 0;
}
int pol_get_paths(struct ctx *c, json_object *root, struct policy *p)
{
	json_object *arr;
	int i, k, n;

	n = pol_get_array(c, root, "paths", "paths", POL_MAX_PATHS, "paths", &arr);
	for (i = 0; i < n; i++) {
		if (get_path(c, json_object_array_get_idx(arr, i), i, p))
			return -1;
		for (k = 0; k < i; k++)
			if (!strcmp(p->paths[k].ifname, p->paths[i].ifname) ||
			    !strcmp(p->paths[k].name, p->paths[i].name)) {
				char where[32];

				snprintf(where, sizeof(where), "paths[%d]", i);
				return pol_bad(c, where, "paths[%d] has the same name or interface", k);
			}
		p->n_paths = i + 1;
	}
	return n < 0 ? -1 : 0;
}
const struct pol_path *policy_path_of(const struct policy *p, const char *ifname)
{
	unsigned int i;

	for (i = 0; i < p->n_paths; i++)
		if (!strcmp(p->paths[i].ifname, ifname))
			return &p->paths[i];
	return NULL;
}
