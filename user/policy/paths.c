// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's "paths": access networks by device, their type, backup
 * flag and shaped rate (draft-deng 6.3 e, 6.6 k).
 */
#include <errno.h>
#include <stdint.h>
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
/*
 * "via": the line's next hop, one address per family at most (the HCPE's
 * per-path routing table holds a default route through it).
 */
static int get_via(struct ctx *c, json_object *o, const struct policy *p, struct pol_path *pp)
{
	json_object *arr;
	int i, n = pol_get_array(c, o, "via", "via", 2, "addresses", &arr);

	if (n > 0 && p->role != POL_ROLE_HCPE)
		return pol_bad(c, "via", "only an HCPE routes by path (a HAG answers on the path a SYN came by)");
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		struct pol_prefix *a = &pp->via[i];

		if (!json_object_is_type(v, json_type_string) || policy_parse_prefix(json_object_get_string(v), a) ||
		    a->len != (a->family == AF_INET ? 32 : 128))
			return pol_bad(c, "via", "'%s' is not an address", json_object_get_string(v));
		if (i && a->family == pp->via[0].family)
			return pol_bad(c, "via", "one address per family (IPv4, IPv6)");
	}
	pp->n_via = n < 0 ? 0 : n;
	return n < 0 ? -1 : 0;
}
/*
 * "hag": the HAG a path leads to, on an HCPE that follows the one that
 * answers (docs/scale-out.md). Named on every path or on none; the first
 * named is the primary, ranked 0.
 */
static int get_hag(struct ctx *c, json_object *o, struct policy *p, unsigned int i)
{
	struct pol_path *pp = &p->paths[i];
	const char *hag = NULL;
	unsigned int k;

	if (pol_get_string(c, o, "hag", &hag))
		return -1;
	if (hag && p->role != POL_ROLE_HCPE)
		return pol_bad(c, "hag", "only an HCPE chooses its HAG");
	if (hag && (!*hag || strlen(hag) >= POL_PATH_NAME))
		return pol_bad(c, "hag", "needs a name of 1 to %d characters", POL_PATH_NAME - 1);
	if (i && !hag != !p->paths[0].hag[0])
		return pol_bad(c, "hag", "name the HAG of every path or of none (paths[0] %s)",
			       p->paths[0].hag[0] ? "names one" : "does not");
	if (!hag)
		return 0;
	snprintf(pp->hag, sizeof(pp->hag), "%s", hag);
	for (k = 0; k < i && strcmp(p->paths[k].hag, hag); k++)
		;
	pp->hag_rank = k < i ? p->paths[k].hag_rank : p->n_hags++;
	return 0;
}

/*
 * Two paths on one device lead to different HAGs, each by its own next
 * hop, and share the device's shaping.
 */
static int check_shared_device(struct ctx *c, const struct policy *p, unsigned int k, unsigned int i)
{
	const struct pol_path *a = &p->paths[k], *b = &p->paths[i];
	char where[32];

	snprintf(where, sizeof(where), "paths[%u]", i);
	if (!a->hag[0])
		return pol_bad(c, where, "paths[%u] has the same name or interface", k);
	if (!strcmp(a->hag, b->hag))
		return pol_bad(c, where, "paths[%u] has the same interface and HAG", k);
	if (!a->n_via || !b->n_via)
		return pol_bad(c, where, "shares %s with paths[%u]: each needs its HAG's next hop (\"via\")",
			       b->ifname, k);
	for (unsigned int x = 0; x < a->n_via; x++)
		for (unsigned int y = 0; y < b->n_via; y++)
			if (a->via[x].family == b->via[y].family &&
			    !memcmp(a->via[x].addr, b->via[y].addr, a->via[x].family == AF_INET ? 4 : 16))
				return pol_bad(c, where, "has the next hop of paths[%u]: each HAG is reached by its own "
							 "address", k);
	if (a->rate_mbit != b->rate_mbit)
		return pol_bad(c, where, "shares %s with paths[%u]: give both the same rate_mbit (one shaper per device)",
			       b->ifname, k);
	return 0;
}

/* One of "paths": {"name", "interface", "access", "priority", "rate_mbit", "via", "hag"} */
static int get_path(struct ctx *c, json_object *o, unsigned int i, struct policy *p)
{
	static const char *const keys[] = { "name", "interface", "access", "priority", "rate_mbit", "via", "hag", NULL };
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
	if (get_via(c, o, p, pp) || get_hag(c, o, p, i))
		return -1;
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
		p->n_paths = i + 1;
		for (k = 0; k < i; k++) {
			if (!strcmp(p->paths[k].name, p->paths[i].name)) {
				char where[32];

				snprintf(where, sizeof(where), "paths[%d]", i);
				return pol_bad(c, where, "paths[%d] has the same name or interface", k);
			}
			if (!strcmp(p->paths[k].ifname, p->paths[i].ifname) && check_shared_device(c, p, k, i))
				return -1;
		}
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

/* One of health.probes: "ADDR:PORT" or "[IPV6]:PORT" */
static int get_probes(struct ctx *c, json_object *o, struct pol_health *h)
{
	json_object *arr;
	int i, n = pol_get_array(c, o, "probes", "probes", POL_MAX_PROBES, "targets", &arr);

	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(v, json_type_string) ||
		    pol_parse_hostport(json_object_get_string(v), &h->probes[i]))
			return pol_bad(c, "probes", "'%s' is not ADDRESS:PORT or [IPV6]:PORT",
				       json_object_get_string(v));
	}
	h->n_probes = n < 0 ? 0 : n;
	return n < 0 ? -1 : 0;
}

/* The health settings' numbers: {key, lo, hi, default, where} */
static int get_health_numbers(struct ctx *c, json_object *o, struct pol_health *h)
{
	const struct {
		const char *key;
		long long lo, hi, def;
		unsigned int *out;
	} f[] = {
		{ "interval_ms", 50, 60000, 500, &h->interval_ms },
		{ "timeout_ms", 50, 60000, 500, &h->timeout_ms },
		{ "down_after", 1, 100, 2, &h->down_after },
		{ "up_after", 1, 100, 3, &h->up_after },
		{ "max_loss_percent", 0, 100, 30, &h->max_loss },
		{ "max_rtt_ms", 0, 60000, 0, &h->max_rtt_ms },
		{ "failover_ms", 50, 60000, 300, &h->failover_ms },
	};
	unsigned int i;
	long long v;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (pol_get_uint(c, o, f[i].key, f[i].lo, f[i].hi, f[i].def, &v))
			return -1;
		*f[i].out = v;
	}
	return 0;
}

/*
 * "hag_port": with paths naming HAGs, each path probes its HAG, at its via
 * address(es) and this port (the HAG's announce.probe_port): only the HAG's
 * running xmcp answers with a SYN+ACK, so a box that is up but no longer
 * converting counts as down. The shared "probes" are refused then.
 */
static int get_hag_port(struct ctx *c, json_object *o, struct policy *p)
{
	long long port;
	unsigned int i;

	if (pol_get_uint(c, o, "hag_port", 0, 1023, 0, &port)) /* as announce.probe_port */
		return -1;
	p->health.hag_port = port;
	if (!p->n_hags)
		return port ? pol_bad(c, "hag_port", "only with paths that name their \"hag\"") : 0;
	if (!port)
		return pol_bad(c, "hag_port", "missing: the paths name HAGs; each probes its HAG at this port "
					      "(the HAG's announce.probe_port)");
	if (p->health.n_probes)
		return pol_bad(c, "probes", "with HAGs named, each path probes its own HAG (via, hag_port): "
					    "leave probes out");
	for (i = 0; i < p->n_paths; i++)
		if (!p->paths[i].n_via) {
			char where[40];

			c->prefix = "";
			snprintf(where, sizeof(where), "paths[%u].via", i);
			return pol_bad(c, where, "missing: the HAG's address on %s (its probes go there)",
				       p->paths[i].ifname);
		}
	return 0;
}

/* HCPE: "health": probes and thresholds ranking the paths; needs two paths or more. */
int pol_get_health(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "probes", "interval_ms", "timeout_ms", "down_after", "up_after",
					    "max_loss_percent", "max_rtt_ms", "failover_ms", "hag_port", NULL };
	struct pol_health *h = &p->health;
	json_object *o;
	unsigned int i;

	if (!json_object_object_get_ex(root, "health", &o))
		return p->n_hags ? pol_bad(c, "health", "missing: the paths name HAGs, and probes tell which one answers")
				 : 0;
	if (p->role != POL_ROLE_HCPE)
		return pol_bad(c, "health", "only an HCPE chooses the path of a new connection");
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, "health", "must be an object with probes, interval_ms, timeout_ms, down_after, "
					    "up_after, max_loss_percent, max_rtt_ms, failover_ms");
	if (pol_only_keys(c, o, "health", keys))
		return -1;
	if (p->n_paths < 2)
		return pol_bad(c, "health", "ranks the paths: list two or more in \"paths\"");
	/* the paths' marks and tables follow the policy's: fwmark + 1 + i, table + 1 + i */
	if (p->fwmark > UINT32_MAX - POL_MAX_PATHS)
		return pol_bad(c, "fwmark", "leaves no room for the paths' marks (fwmark + 1 ... + %u)", p->n_paths);
	for (i = 1; i <= p->n_paths; i++)
		if (p->table + i >= 253 && p->table + i <= 255)
			return pol_bad(c, "table", "the paths' tables (table + 1 ... + %u) would take %u, the kernel's",
				       p->n_paths, p->table + i);
	if (p->table > UINT32_MAX - POL_MAX_PATHS)
		return pol_bad(c, "table", "leaves no room for the paths' tables (table + 1 ... + %u)", p->n_paths);
	if (p->off_path)
		return pol_bad(c, "health", "the off-path HCPE does not choose its lines yet (its MCP legs follow "
					    "the routing table)");
	c->prefix = "health.";
	if (get_probes(c, o, h) || get_health_numbers(c, o, h) || get_hag_port(c, o, p))
		return -1;
	if (!h->n_probes && !p->n_hags)
		return pol_bad(c, "probes", "name at least one target (ADDRESS:PORT) the lines can reach");
	c->prefix = "";
	h->on = true;
	return 0;
}
