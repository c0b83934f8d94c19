// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's "subscribers" (prefixes, each with its class) and "classes"
 * (draft-deng 6.3: a class's session, subflow and SYN rate limits).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy/parse.h"
#include "lib/util.h"
#include "xmcp_addr.h"

/* One class of "classes": {"NAME": {"max_sessions": N, ...}} */
static int get_class(struct ctx *c, const char *name, json_object *o, struct pol_class *k)
{
	static const char *const keys[] = { "max_sessions", "max_subflows", "syn_rate", "syn_burst", NULL };
	char where[64], prefix[72];
	long long v;

	snprintf(where, sizeof(where), "classes.%s", name);
	if (strlen(name) >= POL_CLASS_NAME || !*name)
		return pol_bad(c, where, "a class name has 1 to %d characters", POL_CLASS_NAME - 1);
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, where, "must be an object with max_sessions, max_subflows, syn_rate, syn_burst");
	if (pol_only_keys(c, o, where, keys))
		return -1;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(prefix, sizeof(prefix), "%s.", where);
	c->prefix = prefix;
	if (pol_get_uint(c, o, "max_sessions", 1, 1000000, 0, &v))
		return -1;
	k->max_sessions = v;
	/* the kernel's own bound on subflows is 8, plus the first one */
	if (pol_get_uint(c, o, "max_subflows", 1, 9, 0, &v))
		return -1;
	k->max_subflows = v;
	if (pol_get_uint(c, o, "syn_rate", 1, 1000000, 0, &v))
		return -1;
	k->syn_rate = v;
	if (pol_get_uint(c, o, "syn_burst", 1, 1000000, k->syn_rate, &v))
		return -1;
	k->syn_burst = v;
	c->prefix = "";
	if (json_object_object_get_ex(o, "syn_burst", NULL) && !k->syn_rate)
		return pol_bad(c, where, "syn_burst without syn_rate");
	return 0;
}
/* "classes": class 0 is "default" whether the policy defines it or not. */
static int get_classes(struct ctx *c, json_object *root, struct policy *p)
{
	json_object *o;

	if (!json_object_object_get_ex(root, "classes", &o))
		return 0;
	if (p->role == POL_ROLE_HCPE)
		return pol_bad(c, "classes", "only a HAG or MCP admits subscribers");
	if (!json_object_is_type(o, json_type_object))
		return pol_bad(c, "classes", "must be an object of classes by name");
	snprintf(p->classes[0].name, POL_CLASS_NAME, "default");
	p->n_classes = 1;
	json_object_object_foreach(o, name, val) {
		struct pol_class *k = &p->classes[p->n_classes];

		if (!strcmp(name, "default"))
			k = &p->classes[0];
		else if (p->n_classes == POL_MAX_CLASSES)
			return pol_bad(c, "classes", "at most %d classes, \"default\" included", POL_MAX_CLASSES);
		else
			p->n_classes++;
		if (get_class(c, name, val, k))
			return -1;
	}
	return 0;
}
static int class_index(const struct policy *p, const char *name)
{
	unsigned int i;

	for (i = 0; i < p->n_classes; i++)
		if (!strcmp(p->classes[i].name, name))
			return i;
	return -1;
}
/* One of "subscribers": "PREFIX" (class default) or {"prefix": "PREFIX", "class": "NAME"}. */
static int get_subscriber(struct ctx *c, json_object *v, int i, struct policy *p)
{
	static const char *const keys[] = { "prefix", "class", NULL };
	json_object *pv = v, *cv;
	char item[64];
	int k = 0;

	snprintf(item, sizeof(item), "subscribers[%d]", i);
	if (json_object_is_type(v, json_type_object)) {
		if (pol_only_keys(c, v, item, keys))
			return -1;
		if (!json_object_object_get_ex(v, "prefix", &pv))
			return pol_bad(c, item, "needs \"prefix\"");
		if (json_object_object_get_ex(v, "class", &cv) &&
		    (!json_object_is_type(cv, json_type_string) ||
		     (k = class_index(p, json_object_get_string(cv))) < 0)) {
			snprintf(item, sizeof(item), "subscribers[%d].class", i);
			return pol_bad(c, item, "'%s' is not a class of \"classes\"", json_object_get_string(cv));
		}
		snprintf(item, sizeof(item), "subscribers[%d].prefix", i);
	}
	if (!json_object_is_type(pv, json_type_string) ||
	    policy_parse_prefix(json_object_get_string(pv), &p->subscribers[i]))
		return pol_bad(c, item, "'%s' is not an IPv4 or IPv6 prefix", json_object_get_string(pv));
	p->subscriber_class[i] = k;
	return 0;
}
static int get_subscriber_list(struct ctx *c, json_object *root, struct policy *p)
{
	json_object *arr;
	int i, n;

	n = pol_get_array(c, root, "subscribers", "subscribers", POL_MAX_PREFIXES, "prefixes", &arr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (get_subscriber(c, json_object_array_get_idx(arr, i), i, p))
			return -1;
	p->n_subscribers = n;
	return 0;
}
int policy_subscriber_class(const struct policy *p, int family, const void *addr)
{
	int best = -1, best_len = -1;
	unsigned int i;

	for (i = 0; i < p->n_subscribers; i++)
		if (p->subscribers[i].len > best_len && pol_prefix_contains(&p->subscribers[i], family, addr)) {
			best = p->subscriber_class[i];
			best_len = p->subscribers[i].len;
		}
	return best;
}
int pol_get_subscribers(struct ctx *c, json_object *root, struct policy *p)
{
	if (get_classes(c, root, p) || get_subscriber_list(c, root, p) ||
	    pol_get_prefixes(c, root, "forbidden", p->forbidden, &p->n_forbidden) ||
	    pol_get_prefixes(c, root, "transparent_source", p->transparent, &p->n_transparent))
		return -1;
	if (p->n_transparent && p->role != POL_ROLE_MCP)
		return pol_bad(c, "transparent_source", "only an MCP takes a source from MP_CONVERT");
	return 0;
}
