// SPDX-License-Identifier: GPL-2.0
/*
 * The policy check's reading of JSON: typed getters that report the first
 * problem as "FILE: field.path: what is wrong" (pol_bad), and the values
 * several sections share: interface lists, prefixes, ports, host:port.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy/parse.h"
#include "lib/util.h"
#include "xmcp_addr.h"

int pol_bad(struct ctx *c, const char *field, const char *fmt, ...)
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
int pol_only_keys(struct ctx *c, json_object *o, const char *where, const char *const *keys)
{
	json_object_object_foreach(o, key, val) {
		const char *const *k;

		(void)val;
		for (k = keys; *k && strcmp(*k, key); k++)
			;
		if (!*k) {
			char field[128];

			snprintf(field, sizeof(field), "%s%s%s", where, *where ? "." : "", key);
			return pol_bad(c, field, "unknown key");
		}
	}
	return 0;
}
/* An integer in [lo, hi], or def when absent. */
int pol_get_uint(struct ctx *c, json_object *o, const char *key, long long lo, long long hi,
		    long long def, long long *out)
{
	json_object *v;

	*out = def;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return pol_bad(c, key, "must be an integer");
	*out = json_object_get_int64(v);
	if (*out < lo || *out > hi)
		return pol_bad(c, key, "must be between %lld and %lld, not %lld", lo, hi, *out);
	return 0;
}
int pol_get_string(struct ctx *c, json_object *o, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return pol_bad(c, key, "must be a string");
	*out = json_object_get_string(v);
	return 0;
}
/* One of a fixed list of words: its index, or def when absent. */
int pol_get_choice(struct ctx *c, json_object *o, const char *key, const char *const *words,
		      int def, int *out)
{
	const char *v;
	char list[128] = "";
	int i;

	*out = def;
	if (pol_get_string(c, o, key, &v))
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
	return pol_bad(c, key, "must be %s, not '%s'", list, v);
}
int pol_get_bool(struct ctx *c, json_object *o, const char *key, bool *out)
{
	json_object *v;

	*out = false;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return pol_bad(c, key, "must be true or false");
	*out = json_object_get_boolean(v);
	return 0;
}
/*
 * The list at o.key (reported as `field`) of at most max `noun`s: its
 * length (0 and *arr NULL when absent), or -1 after reporting the problem.
 */
int pol_get_array(struct ctx *c, json_object *o, const char *key, const char *field,
		     size_t max, const char *noun, json_object **arr)
{
	size_t n;

	*arr = NULL;
	if (!json_object_object_get_ex(o, key, arr))
		return 0;
	if (!json_object_is_type(*arr, json_type_array))
		return pol_bad(c, field, "must be a list of %s", noun);
	n = json_object_array_length(*arr);
	if (n > max)
		return pol_bad(c, field, "at most %zu %s", max, noun);
	return n;
}
/* An interface name that fits IFNAMSIZ, copied to out. */
int pol_copy_ifname(struct ctx *c, const char *field, json_object *v, char *out)
{
	const char *name = json_object_get_string(v);

	if (!json_object_is_type(v, json_type_string) || !*name)
		return pol_bad(c, field, "must be an interface name");
	if (strlen(name) >= POL_IFNAMSIZ)
		return pol_bad(c, field, "'%s' is longer than %d characters", name, POL_IFNAMSIZ - 1);
	snprintf(out, POL_IFNAMSIZ, "%s", name);
	return 0;
}
int pol_get_ifs(struct ctx *c, json_object *ifs, const char *key, struct pol_ifs *out)
{
	char field[64];
	json_object *arr;
	int i, n;

	out->n = 0;
	snprintf(field, sizeof(field), "interfaces.%s", key);
	n = pol_get_array(c, ifs, key, field, POL_MAX_IFS, "interface names", &arr);
	for (i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "interfaces.%s[%d]", key, i);
		if (pol_copy_ifname(c, field, json_object_array_get_idx(arr, i), out->name[out->n++]))
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
int pol_get_prefixes_as(struct ctx *c, json_object *root, const char *key, const char *field,
			   struct pol_prefix *out, size_t max, unsigned int *n_out)
{
	char item[96];
	json_object *arr;
	int i, n;

	n = pol_get_array(c, root, key, field, max, "prefixes", &arr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		snprintf(item, sizeof(item), "%s[%d]", field, i);
		if (!json_object_is_type(v, json_type_string) ||
		    policy_parse_prefix(json_object_get_string(v), &out[i]))
			return pol_bad(c, item, "'%s' is not an IPv4 or IPv6 prefix",
				   json_object_get_string(v));
	}
	*n_out = n;
	return 0;
}
/* The list of prefixes at root.key, into out[] and *n. */
int pol_get_prefixes(struct ctx *c, json_object *root, const char *key, struct pol_prefix *out,
			unsigned int *n_out)
{
	return pol_get_prefixes_as(c, root, key, key, out, POL_MAX_PREFIXES, n_out);
}
/* The list of at most POL_MAX_MCP_MATCH ports at o.key (reported as field); its length or -1. */
int pol_get_ports(struct ctx *c, json_object *o, const char *key, const char *field, __u16 *out)
{
	json_object *ports;
	int k, n;

	n = pol_get_array(c, o, key, field, POL_MAX_MCP_MATCH, "ports", &ports);
	for (k = 0; k < n; k++) {
		json_object *pv = json_object_array_get_idx(ports, k);

		if (!json_object_is_type(pv, json_type_int) || json_object_get_int(pv) < 1 ||
		    json_object_get_int(pv) > 65535)
			return pol_bad(c, field, "must be a list of ports (1..65535)");
		out[k] = json_object_get_int(pv);
	}
	return n;
}
/* "192.0.2.1:443" or "[2001:db8::1]:443" */
int pol_parse_hostport(const char *s, struct pol_mcp *m)
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
