/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the policy check (user/policy/): the reader's state and typed
 * getters (parse.c), and each section of the policy, one file each:
 * subscribers.c (subscribers, classes), endpoints.c (endpoints, limits),
 * downstream.c (the off-path HCPE's MCPs), mode_rules.c (the HAG's modes),
 * paths.c (access networks), announce.c (what the routing is told: MCPs' shared addresses, HAGs' subscriber prefixes); policy.c reads the file and the rest.
 * Every function reports the first problem as "FILE: field.path: what is
 * wrong" and returns -1, or returns 0.
 */
#ifndef XMCP_POLICY_PARSE_H
#define XMCP_POLICY_PARSE_H

#include <stdbool.h>

#include <json-c/json.h>

#include "policy/policy.h"

struct ctx {
	const char *file;
	const char *prefix; /* of field names, for nested objects */
	int failed;
};

int pol_bad(struct ctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* o has no keys but those (where: its path, for the message) */
int pol_only_keys(struct ctx *c, json_object *o, const char *where, const char *const *keys);
int pol_get_uint(struct ctx *c, json_object *o, const char *key, long long lo, long long hi, long long def,
		 long long *out);
int pol_get_string(struct ctx *c, json_object *o, const char *key, const char **out);
int pol_get_choice(struct ctx *c, json_object *o, const char *key, const char *const *words, int def,
		   int *out);
int pol_get_bool(struct ctx *c, json_object *o, const char *key, bool *out);
int pol_get_array(struct ctx *c, json_object *o, const char *key, const char *field, size_t max,
		  const char *noun, json_object **arr);
int pol_copy_ifname(struct ctx *c, const char *field, json_object *v, char *out);
int pol_get_ifs(struct ctx *c, json_object *ifs, const char *key, struct pol_ifs *out);
int pol_get_prefixes_as(struct ctx *c, json_object *root, const char *key, const char *field,
			struct pol_prefix *out, size_t max, unsigned int *n_out);
int pol_get_prefixes(struct ctx *c, json_object *root, const char *key, struct pol_prefix *out,
		     unsigned int *n_out);
int pol_get_ports(struct ctx *c, json_object *o, const char *key, const char *field, __u16 *out);
/* "a.b.c.d:port" or "[x::y]:port" into m's address; 0 or -1 (no message) */
int pol_parse_hostport(const char *s, struct pol_mcp *m);

/* The sections, in the order policy_load reads them. */
int pol_get_subscribers(struct ctx *c, json_object *root, struct policy *p);
int pol_get_endpoints(struct ctx *c, json_object *root, struct policy *p);
int pol_get_downstream(struct ctx *c, json_object *root, struct policy *p);
int pol_get_modes(struct ctx *c, json_object *root, struct policy *p);
int pol_get_limits(struct ctx *c, json_object *root, struct policy *p);
int pol_get_paths(struct ctx *c, json_object *root, struct policy *p);
int pol_get_health(struct ctx *c, json_object *root, struct policy *p);
int pol_get_anycast(struct ctx *c, json_object *root, struct policy *p);
int pol_get_announce(struct ctx *c, json_object *root, struct policy *p);

#endif
