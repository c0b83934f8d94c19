// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/mptcp.h>

#include "policy/policy.h"
#include "lib/util.h"
#include "xmcp_addr.h"

#define DEFAULT_LISTEN_PORT 0 /* the kernel picks a free one at start */
#define DEFAULT_MARK 0x786d
#define DEFAULT_TABLE 0x786d
#define DEFAULT_IDLE 300
#define DEFAULT_CONNECT_TIMEOUT 10
/* a head (MP_CONVERT framing) comes with the SYN or right after it: seconds are generous */
#define DEFAULT_HEAD_TIMEOUT 5

struct ctx {
	const char *file;
	const char *prefix; /* of field names, for nested objects */
	int failed;
};

static int bad(struct ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct ctx *c, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (c->failed++)
		return -1; /* report the first problem only */
	fprintf(stderr, "%s: %s%s: ", c->file, c->prefix ?: "", field);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int only_keys(struct ctx *c, json_object *o, const char *where, const char *const *keys)
{
	json_object_object_foreach(o, key, val) {
		const char *const *k;

		(void)val;
		for (k = keys; *k && strcmp(*k, key); k++)
			;
		if (!*k) {
			char field[128];

			snprintf(field, sizeof(field), "%s%s%s", where, *where ? "." : "", key);
			return bad(c, field, "unknown key");
		}
	}
	return 0;
}

/* An integer in [lo, hi], or def when absent. */
static int get_uint(struct ctx *c, json_object *o, const char *key, long long lo, long long hi,
		    long long def, long long *out)
{
	json_object *v;

	*out = def;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return bad(c, key, "must be an integer");
	*out = json_object_get_int64(v);
	if (*out < lo || *out > hi)
		return bad(c, key, "must be between %lld and %lld, not %lld", lo, hi, *out);
	return 0;
}

static int get_string(struct ctx *c, json_object *o, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return bad(c, key, "must be a string");
	*out = json_object_get_string(v);
	return 0;
}

/* One of a fixed list of words: its index, or def when absent. */
static int get_choice(struct ctx *c, json_object *o, const char *key, const char *const *words,
		      int def, int *out)
{
	const char *v;
	char list[128] = "";
	int i;

	*out = def;
	if (get_string(c, o, key, &v))
		return -1;
	if (!v)
		return 0;
	for (i = 0; words[i]; i++) {
		if (!strcmp(v, words[i])) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i ? (words[i + 1] ? ", " : " or ") : "", words[i]);
	}
	return bad(c, key, "must be %s, not '%s'", list, v);
}

static int get_bool(struct ctx *c, json_object *o, const char *key, bool *out)
{
	json_object *v;

	*out = false;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(c, key, "must be true or false");
	*out = json_object_get_boolean(v);
	return 0;
}

/*
 * The list at o.key (reported as `field`) of at most max `noun`s: its
 * length (0 and *arr NULL when absent), or -1 after reporting the problem.
 */
static int get_array(struct ctx *c, json_object *o, const char *key, const char *field,
		     size_t max, const char *noun, json_object **arr)
{
	size_t n;

	*arr = NULL;
	if (!json_object_object_get_ex(o, key, arr))
		return 0;
	if (!json_object_is_type(*arr, json_type_array))
		return bad(c, field, "must be a list of %s", noun);
	n = json_object_array_length(*arr);
	if (n > max)
		return bad(c, field, "at most %zu %s", max, noun);
	return n;
}

/* An interface name that fits IFNAMSIZ, copied to out. */
static int copy_ifname(struct ctx *c, const char *field, json_object *v, char *out)
{
	const char *name = json_object_get_string(v);

	if (!json_object_is_type(v, json_type_string) || !*name)
		return bad(c, field, "must be an interface name");
	if (strlen(name) >= POL_IFNAMSIZ)
		return bad(c, field, "'%s' is longer than %d characters", name, POL_IFNAMSIZ - 1);
	snprintf(out, POL_IFNAMSIZ, "%s", name);
	return 0;
}

static int get_ifs(struct ctx *c, json_object *ifs, const char *key, struct pol_ifs *out)
{
	char field[64];
	json_object *arr;
	int i, n;

	out->n = 0;
	snprintf(field, sizeof(field), "interfaces.%s", key);
	n = get_array(c, ifs, key, field, POL_MAX_IFS, "interface names", &arr);
	for (i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "interfaces.%s[%d]", key, i);
		if (copy_ifname(c, field, json_object_array_get_idx(arr, i), out->name[out->n++]))
			return -1;
	}
	return n < 0 ? -1 : 0;
}

/*
 * One form for one prefix, so that two spellings of it are equal (reload
 * compares prefixes byte for byte): an IPv4-mapped IPv6 prefix of /96 or
 * longer is the IPv4 prefix it maps, and the bits past the length are 0
 * (10.1.0.5/24 is 10.1.0.0/24).
 */
static void canonical_prefix(struct pol_prefix *p)
{
	struct xmcp_addr a;
	unsigned int i;

	xmcp_addr_from6(&a, p->addr);
	if (p->family == AF_INET6 && p->len >= XMCP_ADDR4_PLEN && xmcp_addr_is4(&a)) {
		memset(p->addr, 0, sizeof(p->addr));
		memcpy(p->addr, xmcp_addr_v4(&a), 4);
		p->family = AF_INET;
		p->len -= XMCP_ADDR4_PLEN;
	}
	for (i = 0; i < sizeof(p->addr); i++) {
		unsigned int bits = p->len > i * 8 ? p->len - i * 8 : 0;

		p->addr[i] &= bits >= 8 ? 0xff : (__u8)(0xff << (8 - bits));
	}
}

int policy_parse_prefix(const char *s, struct pol_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long len;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = AF_INET6;
	else
		return -1;
	len = p->family == AF_INET ? 32 : 128;
	if (slash) {
		long max = len;

		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || len < 0 || len > max)
			return -1;
	}
	p->len = len;
	canonical_prefix(p);
	return 0;
}

/* An address of family, as pol_prefix_contains compares it: IPv4-mapped IPv6 as IPv4. */
static const __u8 *canonical_addr(int *family, const void *addr)
{
	struct xmcp_addr a;

	if (*family != AF_INET6)
		return addr;
	xmcp_addr_from6(&a, addr);
	if (!xmcp_addr_is4(&a))
		return addr;
	*family = AF_INET;
	return (const __u8 *)addr + XMCP_ADDR4_OFF;
}

bool pol_prefix_contains(const struct pol_prefix *p, int family, const void *addr)
{
	const __u8 *a = canonical_addr(&family, addr);
	unsigned int full = p->len / 8, rest = p->len % 8;

	if (family != p->family || memcmp(p->addr, a, full))
		return false;
	return !rest || !((p->addr[full] ^ a[full]) & (0xff << (8 - rest)));
}

/* The list of at most max prefixes at root.key (reported as field), into out[] and *n. */
static int get_prefixes_as(struct ctx *c, json_object *root, const char *key, const char *field,
			   struct pol_prefix *out, size_t max, unsigned int *n_out)
{
	char item[96];
	json_object *arr;
	int i, n;

	n = get_array(c, root, key, field, max, "prefixes", &arr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		snprintf(item, sizeof(item), "%s[%d]", field, i);
		if (!json_object_is_type(v, json_type_string) ||
		    policy_parse_prefix(json_object_get_string(v), &out[i]))
			return bad(c, item, "'%s' is not an IPv4 or IPv6 prefix",
				   json_object_get_string(v));
	}
	*n_out = n;
	return 0;
}

/* The list of prefixes at root.key, into out[] and *n. */
static int get_prefixes(struct ctx *c, json_object *root, const char *key, struct pol_prefix *out,
			unsigned int *n_out)
{
	return get_prefixes_as(c, root, key, key, out, POL_MAX_PREFIXES, n_out);
}

/* One class of "classes": {"NAME": {"max_sessions": N, ...}} */
static int get_class(struct ctx *c, const char *name, json_object *o, struct pol_class *k)
{
	static const char *const keys[] = { "max_sessions", "max_subflows", "syn_rate", "syn_burst", NULL };
	char where[64], prefix[72];
	long long v;

	snprintf(where, sizeof(where), "classes.%s", name);
	if (strlen(name) >= POL_CLASS_NAME || !*name)
		return bad(c, where, "a class name has 1 to %d characters", POL_CLASS_NAME - 1);
	if (!json_object_is_type(o, json_type_object))
		return bad(c, where, "must be an object with max_sessions, max_subflows, syn_rate, syn_burst");
	if (only_keys(c, o, where, keys))
		return -1;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(prefix, sizeof(prefix), "%s.", where);
	c->prefix = prefix;
	if (get_uint(c, o, "max_sessions", 1, 1000000, 0, &v))
		return -1;
	k->max_sessions = v;
	/* the kernel's own bound on subflows is 8, plus the first one */
	if (get_uint(c, o, "max_subflows", 1, 9, 0, &v))
		return -1;
	k->max_subflows = v;
	if (get_uint(c, o, "syn_rate", 1, 1000000, 0, &v))
		return -1;
	k->syn_rate = v;
	if (get_uint(c, o, "syn_burst", 1, 1000000, k->syn_rate, &v))
		return -1;
	k->syn_burst = v;
	c->prefix = "";
	if (json_object_object_get_ex(o, "syn_burst", NULL) && !k->syn_rate)
		return bad(c, where, "syn_burst without syn_rate");
	return 0;
}

/* "classes": class 0 is "default" whether the policy defines it or not. */
static int get_classes(struct ctx *c, json_object *root, struct policy *p)
{
	json_object *o;

	if (!json_object_object_get_ex(root, "classes", &o))
		return 0;
	if (p->role == POL_ROLE_HCPE)
		return bad(c, "classes", "only a HAG or MCP admits subscribers");
	if (!json_object_is_type(o, json_type_object))
		return bad(c, "classes", "must be an object of classes by name");
	snprintf(p->classes[0].name, POL_CLASS_NAME, "default");
	p->n_classes = 1;
	json_object_object_foreach(o, name, val) {
		struct pol_class *k = &p->classes[p->n_classes];

		if (!strcmp(name, "default"))
			k = &p->classes[0];
		else if (p->n_classes == POL_MAX_CLASSES)
			return bad(c, "classes", "at most %d classes, \"default\" included", POL_MAX_CLASSES);
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
		if (only_keys(c, v, item, keys))
			return -1;
		if (!json_object_object_get_ex(v, "prefix", &pv))
			return bad(c, item, "needs \"prefix\"");
		if (json_object_object_get_ex(v, "class", &cv) &&
		    (!json_object_is_type(cv, json_type_string) ||
		     (k = class_index(p, json_object_get_string(cv))) < 0)) {
			snprintf(item, sizeof(item), "subscribers[%d].class", i);
			return bad(c, item, "'%s' is not a class of \"classes\"", json_object_get_string(cv));
		}
		snprintf(item, sizeof(item), "subscribers[%d].prefix", i);
	}
	if (!json_object_is_type(pv, json_type_string) ||
	    policy_parse_prefix(json_object_get_string(pv), &p->subscribers[i]))
		return bad(c, item, "'%s' is not an IPv4 or IPv6 prefix", json_object_get_string(pv));
	p->subscriber_class[i] = k;
	return 0;
}

static int get_subscriber_list(struct ctx *c, json_object *root, struct policy *p)
{
	json_object *arr;
	int i, n;

	n = get_array(c, root, "subscribers", "subscribers", POL_MAX_PREFIXES, "prefixes", &arr);
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

static int get_subscribers(struct ctx *c, json_object *root, struct policy *p)
{
	if (get_classes(c, root, p) || get_subscriber_list(c, root, p) ||
	    get_prefixes(c, root, "forbidden", p->forbidden, &p->n_forbidden) ||
	    get_prefixes(c, root, "transparent_source", p->transparent, &p->n_transparent))
		return -1;
	if (p->n_transparent && p->role != POL_ROLE_MCP)
		return bad(c, "transparent_source", "only an MCP takes a source from MP_CONVERT");
	return 0;
}

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
		return bad(c, field, "must be a list of signal, subflow, backup, fullmesh");
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		const char *f = json_object_get_string(json_object_array_get_idx(arr, i));

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (f && !strcmp(f, names[k].name))
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			return bad(c, field, "'%s' is not one of signal, subflow, backup, fullmesh",
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
		return bad(c, where, "must be an object");
	if (only_keys(c, o, where, keys))
		return -1;
	snprintf(field, sizeof(field), "%s.address", where);
	if (!json_object_object_get_ex(o, "address", &v) || !json_object_is_type(v, json_type_string) ||
	    policy_parse_prefix(json_object_get_string(v), &e->addr) ||
	    e->addr.len != (e->addr.family == AF_INET ? 32 : 128))
		return bad(c, field, "needs an IPv4 or IPv6 address");
	snprintf(field, sizeof(field), "%s.interface", where);
	if (json_object_object_get_ex(o, "interface", &v) && copy_ifname(c, field, v, e->ifname))
		return -1;
	snprintf(field, sizeof(field), "%s.flags", where);
	if (json_object_object_get_ex(o, "flags", &v) && get_endpoint_flags(c, v, field, &e->flags))
		return -1;
	/* get_uint names keys relative to the prefix */
	snprintf(field, sizeof(field), "%s.", where);
	c->prefix = field;
	if (get_uint(c, o, "port", 1, 65535, 0, &n) || get_uint(c, o, "id", 1, 255,
								 DEFAULT_ENDPOINT_ID + i, &id)) {
		c->prefix = "";
		return -1;
	}
	if (n && !(e->flags & MPTCP_PM_ADDR_FLAG_SIGNAL)) {
		bad(c, "port", "only a signal endpoint takes a port");
		c->prefix = "";
		return -1;
	}
	c->prefix = "";
	e->port = n;
	e->id = id;
	return 0;
}

static int get_endpoints(struct ctx *c, json_object *root, struct policy *p)
{
	json_object *arr;
	int i, n;

	n = get_array(c, root, "endpoints", "endpoints", POL_MAX_ENDPOINTS, "endpoints", &arr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (get_endpoint(c, json_object_array_get_idx(arr, i), i, &p->endpoints[i]))
			return -1;
	p->n_endpoints = n;
	return 0;
}

static int get_limits(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "subflows", "add_addr_accepted", NULL };
	json_object *o;
	long long v;

	if (!json_object_object_get_ex(root, "limits", &o))
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return bad(c, "limits", "must be an object with subflows, add_addr_accepted");
	if (only_keys(c, o, "limits", keys))
		return -1;
	c->prefix = "limits.";
	if (get_uint(c, o, "subflows", 0, MPTCP_LIMIT_MAX, 2, &v))
		return -1;
	p->subflows = v;
	if (get_uint(c, o, "add_addr_accepted", 0, MPTCP_LIMIT_MAX, 2, &v))
		return -1;
	c->prefix = "";
	p->add_addr_accepted = v;
	p->set_limits = true;
	return 0;
}

/* "192.0.2.1:443" or "[2001:db8::1]:443" */
static int parse_hostport(const char *s, struct pol_mcp *m)
{
	char buf[64], *colon, *host = buf, *end;
	long port;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf) || !(colon = strrchr(buf, ':')))
		return -1;
	*colon = '\0';
	if (*host == '[') {
		if (colon[-1] != ']')
			return -1;
		host++;
		colon[-1] = '\0';
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		return -1;
	memset(&m->sa, 0, sizeof(m->sa));
	if (buf[0] != '[' && inet_pton(AF_INET, host, &((struct sockaddr_in *)&m->sa)->sin_addr) == 1) {
		((struct sockaddr_in *)&m->sa)->sin_family = AF_INET;
		((struct sockaddr_in *)&m->sa)->sin_port = htons(port);
		m->len = sizeof(struct sockaddr_in);
	} else if (buf[0] == '[' && inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&m->sa)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&m->sa)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&m->sa)->sin6_port = htons(port);
		m->len = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	snprintf(m->text, sizeof(m->text), "%s", s);
	return 0;
}

/* The list of at most POL_MAX_MCP_MATCH ports at o.key (reported as field); its length or -1. */
static int get_ports(struct ctx *c, json_object *o, const char *key, const char *field, __u16 *out)
{
	json_object *ports;
	int k, n;

	n = get_array(c, o, key, field, POL_MAX_MCP_MATCH, "ports", &ports);
	for (k = 0; k < n; k++) {
		json_object *pv = json_object_array_get_idx(ports, k);

		if (!json_object_is_type(pv, json_type_int) || json_object_get_int(pv) < 1 ||
		    json_object_get_int(pv) > 65535)
			return bad(c, field, "must be a list of ports (1..65535)");
		out[k] = json_object_get_int(pv);
	}
	return n;
}

/* One of downstream.mcps: "ADDR:PORT", or {"mcp": "ADDR:PORT", "destinations": [...], "ports": [...]} */
static int get_mcp(struct ctx *c, json_object *e, int i, struct pol_mcp *m)
{
	static const char *const keys[] = { "mcp", "destinations", "ports", NULL };
	char field[64];
	json_object *v;
	int n;

	snprintf(field, sizeof(field), "mcps[%d]", i);
	if (json_object_is_type(e, json_type_object)) {
		if (only_keys(c, e, field, keys))
			return -1;
		if (!json_object_object_get_ex(e, "mcp", &v))
			return bad(c, field, "needs \"mcp\": \"ADDRESS:PORT\"");
		snprintf(field, sizeof(field), "mcps[%d].mcp", i);
	} else {
		v = e;
	}
	if (!json_object_is_type(v, json_type_string) || parse_hostport(json_object_get_string(v), m))
		return bad(c, field, "'%s' is not ADDRESS:PORT or [IPV6]:PORT", json_object_get_string(v));
	if (v == e)
		return 0;
	snprintf(field, sizeof(field), "mcps[%d].destinations", i);
	if (get_prefixes_as(c, e, "destinations", field, m->prefixes, POL_MAX_MCP_MATCH, &m->n_prefixes))
		return -1;
	snprintf(field, sizeof(field), "mcps[%d].ports", i);
	n = get_ports(c, e, "ports", field, m->ports);
	if (n < 0)
		return -1;
	m->n_ports = n;
	return 0;
}

/* HCPE: "downstream": {"mode": "on-path" | "off-path", "mcps": [...], ...} */
static int get_downstream(struct ctx *c, json_object *root, struct policy *p)
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
		return bad(c, "downstream", "only an HCPE has a downstream MCP");
	if (!json_object_is_type(o, json_type_object))
		return bad(c, "downstream", "must be an object with mode, mcps");
	if (only_keys(c, o, "downstream", keys))
		return -1;
	c->prefix = "downstream.";
	if (get_choice(c, o, "mode", modes, 0, &mode) ||
	    get_uint(c, o, "connect_timeout_ms", 10, 60000, 1000, &v))
		return -1;
	p->connect_timeout_ms = v;
	if (get_uint(c, o, "retry_after", 1, 86400, 30, &v))
		return -1;
	p->retry_after = v;
	n = get_array(c, o, "mcps", "mcps", POL_MAX_MCPS, "addresses", &arr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (get_mcp(c, json_object_array_get_idx(arr, i), i, &p->mcps[i]))
			return -1;
	p->n_mcps = n;
	p->off_path = mode == 1;
	if (p->off_path && !n)
		return bad(c, "mcps", "off-path mode needs at least one MCP");
	if (!p->off_path && n)
		return bad(c, "mcps", "only the off-path mode names MCPs");
	c->prefix = "";
	return 0;
}

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
		return bad(c, where, "must be an object with destinations, ports, mode");
	if (only_keys(c, o, where, keys))
		return -1;
	snprintf(field, sizeof(field), "%s.destinations", where);
	if (get_prefixes_as(c, o, "destinations", field, r->prefixes, POL_MAX_RULE_MATCH, &r->n_prefixes))
		return -1;
	snprintf(field, sizeof(field), "%s.ports", where);
	n = get_ports(c, o, "ports", field, r->ports);
	if (n < 0)
		return -1;
	r->n_ports = n;
	snprintf(field, sizeof(field), "%s.", where);
	c->prefix = field;
	if (get_choice(c, o, "mode", mode_names, -1, &mode))
		return -1;
	c->prefix = "";
	if (mode < 0)
		return bad(c, where, "needs \"mode\": take_over, transparent or hybrid");
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
static int get_modes(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "default", "rules", "learned_lifetime", NULL };
	json_object *o, *arr;
	long long v;
	int mode, i, n;

	if (!json_object_object_get_ex(root, "modes", &o))
		return 0;
	if (p->role != POL_ROLE_HAG)
		return bad(c, "modes", "only a HAG chooses a mode by destination");
	if (!json_object_is_type(o, json_type_object))
		return bad(c, "modes", "must be an object with default, rules, learned_lifetime");
	if (only_keys(c, o, "modes", keys))
		return -1;
	c->prefix = "modes.";
	if (get_choice(c, o, "default", mode_names, XMCP_MODE_TAKE_OVER, &mode) ||
	    get_uint(c, o, "learned_lifetime", 1, 86400 * 30, 3600, &v))
		return -1;
	c->prefix = "";
	p->default_mode = mode;
	p->learned_lifetime = v;
	n = get_array(c, o, "rules", "modes.rules", POL_MAX_MODE_RULES, "rules", &arr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (get_mode_rule(c, json_object_array_get_idx(arr, i), i, &p->mode_rules[i]))
			return -1;
	p->n_mode_rules = n;
	if (mode_entries(p) > XMCP_MAX_MODE_RULES)
		return bad(c, "modes.rules", "%u destination x port combinations, at most %d", mode_entries(p),
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
		return bad(c, where, "a backup path needs an endpoint on %s to carry the flag "
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
		return bad(c, where, "must be an object with name, interface, access, priority, rate_mbit");
	if (only_keys(c, o, where, keys))
		return -1;
	snprintf(prefix, sizeof(prefix), "%s.", where);
	c->prefix = prefix;
	if (get_string(c, o, "name", &name))
		return -1;
	if (!name || !*name || strlen(name) >= POL_PATH_NAME)
		return bad(c, "name", "needs a name of 1 to %d characters", POL_PATH_NAME - 1);
	snprintf(pp->name, sizeof(pp->name), "%s", name);
	if (!json_object_object_get_ex(o, "interface", &v))
		return bad(c, "interface", "missing");
	if (copy_ifname(c, "interface", v, pp->ifname))
		return -1;
	if (!is_access_if(p, pp->ifname))
		return bad(c, "interface", "'%s' is not one of interfaces.access", pp->ifname);
	if (get_choice(c, o, "access", access_types, -1, &access) ||
	    get_choice(c, o, "priority", prios, 0, &prio) ||
	    get_uint(c, o, "rate_mbit", 1, 100000, 0, &rate))
		return -1;
	if (access < 0)
		return bad(c, "access", "missing (dsl, lte, 5g, wlan, fiber, cable, satellite or ethernet)");
	c->prefix = "";
	snprintf(pp->access, sizeof(pp->access), "%s", access_types[access]);
	pp->backup = prio == 1;
	pp->rate_mbit = rate;
	return pp->backup ? mark_backup_endpoints(c, p, i, where) : 0;
}

static int get_paths(struct ctx *c, json_object *root, struct policy *p)
{
	json_object *arr;
	int i, k, n;

	n = get_array(c, root, "paths", "paths", POL_MAX_PATHS, "paths", &arr);
	for (i = 0; i < n; i++) {
		if (get_path(c, json_object_array_get_idx(arr, i), i, p))
			return -1;
		for (k = 0; k < i; k++)
			if (!strcmp(p->paths[k].ifname, p->paths[i].ifname) ||
			    !strcmp(p->paths[k].name, p->paths[i].name)) {
				char where[32];

				snprintf(where, sizeof(where), "paths[%d]", i);
				return bad(c, where, "paths[%d] has the same name or interface", k);
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

/* "metrics": "127.0.0.1:9786" or "[::1]:9786": loopback only, the counters are not for the world */
static int get_metrics(struct ctx *c, json_object *root, struct policy *p)
{
	static const __u8 lo6[16] = { [15] = 1 };
	const struct sockaddr_storage *ss = &p->metrics.sa;
	const __u8 *a;
	json_object *v;

	if (!json_object_object_get_ex(root, "metrics", &v))
		return 0;
	if (!json_object_is_type(v, json_type_string) || parse_hostport(json_object_get_string(v), &p->metrics))
		return bad(c, "metrics", "'%s' is not ADDRESS:PORT or [IPV6]:PORT", json_object_get_string(v));
	a = xmcp_sa_addr(ss);
	if (ss->ss_family == AF_INET ? a[0] != 127 : memcmp(a, lo6, 16))
		return bad(c, "metrics", "'%s' is not a loopback address (127.0.0.0/8 or [::1])",
			   json_object_get_string(v));
	p->has_metrics = true;
	return 0;
}

static int get_role(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const roles[] = { "hcpe", "hag", "mcp", NULL };
	int role;

	if (get_choice(c, root, "role", roles, -1, &role))
		return -1;
	if (role < 0)
		return bad(c, "role", "missing (hcpe, hag or mcp)");
	p->role = role;
	return 0;
}

static int get_interfaces(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "lan", "access", "wan", NULL };
	json_object *ifs;

	if (!json_object_object_get_ex(root, "interfaces", &ifs))
		return bad(c, "interfaces", "missing");
	if (!json_object_is_type(ifs, json_type_object))
		return bad(c, "interfaces", "must be an object with lan, access, wan");
	if (only_keys(c, ifs, "interfaces", keys) || get_ifs(c, ifs, "lan", &p->lan) ||
	    get_ifs(c, ifs, "access", &p->access) || get_ifs(c, ifs, "wan", &p->wan))
		return -1;
	if (!p->access.n)
		return bad(c, "interfaces.access", "at least one access interface is needed");
	if (p->role == POL_ROLE_HCPE && !p->lan.n)
		return bad(c, "interfaces.lan", "an HCPE needs its LAN interface");
	if (p->role != POL_ROLE_HCPE && !p->wan.n)
		return bad(c, "interfaces.wan", "a HAG or MCP needs its interface toward the servers");
	return 0;
}

/* A group by name (root.key, absent: (gid_t)-1), which must exist here; getgrnam takes no number. */
static int get_group(struct ctx *c, json_object *root, const char *key, gid_t *gid)
{
	json_object *v;
	struct group *g;
	const char *name;

	*gid = (gid_t)-1;
	if (!json_object_object_get_ex(root, key, &v))
		return 0;
	name = json_object_get_string(v);
	if (!json_object_is_type(v, json_type_string) || !*name)
		return bad(c, key, "must be a group's name");
	g = getgrnam(name);
	if (!g)
		return bad(c, key, "no group '%s' on this system", name);
	if (g->gr_gid == 0)
		return bad(c, key, "the root group is root's already: leave control_group out");
	*gid = g->gr_gid;
	return 0;
}

static int get_misc(struct ctx *c, json_object *root, struct policy *p)
{
	long long v;

	if (get_uint(c, root, "listen_port", 0, 65535, DEFAULT_LISTEN_PORT, &v))
		return -1;
	p->listen_port = v;
	if (get_uint(c, root, "fwmark", 1, 0xffffffffLL, DEFAULT_MARK, &v))
		return -1;
	p->fwmark = v;
	if (get_uint(c, root, "table", 1, 0xffffffffLL, DEFAULT_TABLE, &v))
		return -1;
	if (v == 253 || v == 254 || v == 255)
		return bad(c, "table", "%lld is a table the kernel uses (default, main, local)", v);
	p->table = v;
	if (get_uint(c, root, "idle_timeout", 1, 86400 * 7, DEFAULT_IDLE, &v))
		return -1;
	p->idle_timeout = v;
	if (get_uint(c, root, "connect_timeout", 1, 300, DEFAULT_CONNECT_TIMEOUT, &v))
		return -1;
	p->connect_timeout = v;
	if (get_uint(c, root, "head_timeout", 1, 300, DEFAULT_HEAD_TIMEOUT, &v))
		return -1;
	p->head_timeout = v;
	if (get_group(c, root, "control_group", &p->control_gid))
		return -1;
	static const char *const xdp_modes[] = { "native", "generic", NULL };
	static const char *const markers[] = { "none", "mp_convert", NULL };
	static const char *const relays[] = { "splice", "copy", NULL };
	static const char *const tcp_pairs[] = { "relay", "sockmap", NULL };
	int mode, marker, relay, tcp;

	if (get_choice(c, root, "xdp_mode", xdp_modes, 0, &mode) ||
	    get_choice(c, root, "marker", markers, 0, &marker) ||
	    get_choice(c, root, "relay", relays, 0, &relay) ||
	    get_choice(c, root, "tcp_pairs", tcp_pairs, 0, &tcp) ||
	    get_bool(c, root, "terminate_tcp", &p->terminate_tcp) ||
	    get_bool(c, root, "origin_check", &p->origin_check))
		return -1;
	if (p->origin_check && p->role != POL_ROLE_HAG)
		return bad(c, "origin_check", "only a HAG has it to choose (an MCP always checks)");
	p->xdp_generic = mode == 1;
	p->marker = marker == 1;
	p->relay_copy = relay == 1;
	p->tcp_sockmap = tcp == 1;
	if (p->terminate_tcp && p->role != POL_ROLE_HAG)
		return bad(c, "terminate_tcp", "only a HAG terminates plain TCP");
	/*
	 * Measured on kernel 6.18 (docs/policy.md): the sk_skb egress redirect
	 * has no back-pressure (a stalled reader let the sender push GBs into
	 * kernel memory), and bounding it needs userspace to take a direction
	 * over from a socket the verdict still serves, which duplicated bytes
	 * at the server (7 of 30 runs under load). With native XDP the
	 * redirected bytes were sometimes stale memory. So no sockmap here.
	 */
	if (p->tcp_sockmap)
		return bad(c, "tcp_pairs", "sockmap is refused on this kernel: unbounded without a userspace "
					"takeover, and the takeover duplicated bytes (see docs/policy.md); use relay");
	return 0;
}

/*
 * A file that anyone but root (or whoever runs xmcp) could have written
 * says nothing an operator chose: refuse it, and a directory others can
 * swap it in, as sshd's StrictModes does. Reload reads it again, so the
 * check is made at every read, on the file that is then read (fstat).
 */
static int policy_file_safe(const char *path, int fd)
{
	struct stat st;
	char dir[PATH_MAX], *slash;

	if (fstat(fd, &st))
		return -1;
	if (!S_ISREG(st.st_mode)) {
		xmcp_err("%s: not a regular file", path);
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		xmcp_err("%s: refused: writable by others than its owner, or owned by another user "
			 "(mode %04o, uid %u); chmod go-w / chown root", path, st.st_mode & 07777, st.st_uid);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	/* whoever may rename entries there may swap the file: the owner, root; a sticky bit stops others */
	if (!stat(dir, &st) && (((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) ||
				(st.st_uid != 0 && st.st_uid != geteuid()))) {
		xmcp_err("%s: refused: its directory %s can be written by others than root and you "
			 "(mode %04o, uid %u)", path, dir, st.st_mode & 07777, st.st_uid);
		return -1;
	}
	return 0;
}

/* The policy file's JSON, after policy_file_safe; NULL after saying why. */
static json_object *read_policy_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	json_object *root = NULL;

	if (fd < 0) {
		xmcp_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!policy_file_safe(path, fd)) {
		root = json_object_from_fd(fd);
		if (!root)
			xmcp_err("%s: %s", path, json_util_get_last_err() ?: "cannot read");
	}
	close(fd);
	return root;
}

int policy_load(const char *path, struct policy *p)
{
	static const char *const keys[] = { "role",	  "listen_port", "fwmark",	"table",
					    "idle_timeout", "connect_timeout", "xdp_mode",	 "interfaces",	"subscribers",
					    "marker",	  "endpoints",	 "limits",	"relay",
					    "tcp_pairs",  "terminate_tcp", "forbidden", "downstream",
					    "transparent_source", "classes", "modes", "paths", "metrics",
					    "origin_check", "head_timeout", "control_group", NULL };
	struct ctx c = { .file = path };
	json_object *root;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	root = read_policy_file(path);
	if (!root)
		return -1;
	if (!json_object_is_type(root, json_type_object)) {
		bad(&c, "(top)", "must be a JSON object");
		goto out;
	}
	if (only_keys(&c, root, "", keys) || get_role(&c, root, p) || get_interfaces(&c, root, p) ||
	    get_subscribers(&c, root, p) || get_misc(&c, root, p) || get_endpoints(&c, root, p) ||
	    get_downstream(&c, root, p) || get_modes(&c, root, p) ||
	    get_limits(&c, root, p) || get_paths(&c, root, p) || get_metrics(&c, root, p))
		goto out;
	if (p->role != POL_ROLE_HCPE && !p->n_subscribers) {
		bad(&c, "subscribers", "a HAG or MCP serves only subscriber prefixes: list them");
		goto out;
	}
	ret = 0;
out:
	json_object_put(root);
	return ret;
}

const char *policy_role_name(enum pol_role r)
{
	return r == POL_ROLE_HCPE ? "hcpe" : r == POL_ROLE_HAG ? "hag" : "mcp";
}
