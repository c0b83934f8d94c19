// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the policy check (user/policy/policy.c, docs/policy.md): the
 * example policies load; every kind of bad value is refused with one line
 * "FILE: field.path: what is wrong" naming the field; the defaults are the
 * documented ones; the public helpers (prefixes, classes, modes, paths).
 * Each policy is written to a file in a temporary directory and read by
 * policy_load(), as `xmcp run` and `xmcp check` read theirs.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/mptcp.h>

#include "policy/policy.h"
#include "tap.h"

static char dir[64], file[96], err[4096];

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode)) {
		perror(path);
		exit(2);
	}
	close(fd);
}

/* policy_load(path) with what it says on stderr in err[]. */
static int load_path(const char *path, struct policy *p)
{
	char cap[128];
	int fd, saved, rc;
	ssize_t n;

	snprintf(cap, sizeof(cap), "%s/stderr", dir);
	fd = open(cap, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	rc = policy_load(path, p);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, err, sizeof(err) - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(cap);
	return rc;
}

static int load_text(const char *json, struct policy *p)
{
	write_file(file, json, 0600);
	return load_path(file, p);
}

/*
 * base with key (a dotted path into nested objects) set to value (JSON
 * text), or removed when value is NULL; loaded into p.
 */
static int load_with(const char *base, const char *key, const char *value, struct policy *p)
{
	json_object *root = json_tokener_parse(base), *o = root;
	char path[128], *seg, *dot;
	int rc;

	snprintf(path, sizeof(path), "%s", key);
	for (seg = path; (dot = strchr(seg, '.')); seg = dot + 1) {
		json_object *next;

		*dot = '\0';
		if (!json_object_object_get_ex(o, seg, &next)) {
			next = json_object_new_object();
			json_object_object_add(o, seg, next);
		}
		o = next;
	}
	if (value)
		json_object_object_add(o, seg, json_tokener_parse(value));
	else
		json_object_object_del(o, seg);
	rc = load_text(json_object_to_json_string(root), p);
	json_object_put(root);
	return rc;
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#define HCPE "{\"role\": \"hcpe\", \"interfaces\": {\"lan\": [\"lan0\"], \"access\": [\"dsl\", \"lte\"]}}"
#define HAG                                                                                    \
	"{\"role\": \"hag\", \"interfaces\": {\"access\": [\"dsl\", \"lte\"], \"wan\": [\"wan\"]}, " \
	"\"subscribers\": [\"10.1.0.0/24\"]}"
#define MCP                                                                            \
	"{\"role\": \"mcp\", \"interfaces\": {\"access\": [\"dsl\"], \"wan\": [\"wan\"]}, " \
	"\"subscribers\": [\"10.1.0.0/24\"]}"

/* A bad value: base with key set to value (NULL: removed) is refused with "FILE: want". */
struct bad_case {
	const char *base, *key, *value, *want;
};

static const struct bad_case bad_cases[] = {
	/* unknown keys, at the top and nested */
	{ HAG, "bogus", "1", "bogus: unknown key" },
	{ HAG, "interfaces.dmz", "[\"x\"]", "interfaces.dmz: unknown key" },
	/* the role */
	{ HAG, "role", NULL, "role: missing (hcpe, hag or mcp)" },
	{ HAG, "role", "\"router\"", "role: must be hcpe, hag or mcp, not 'router'" },
	{ HAG, "role", "3", "role: must be a string" },
	/* integers: type and range */
	{ HAG, "listen_port", "65536", "listen_port: must be between 0 and 65535, not 65536" },
	{ HAG, "listen_port", "-1", "listen_port: must be between 0 and 65535, not -1" },
	{ HAG, "listen_port", "\"80\"", "listen_port: must be an integer" },
	{ HAG, "workers", "65", "workers: must be between 0 and 64, not 65" },
	{ HAG, "workers", "-1", "workers: must be between 0 and 64, not -1" },
	{ HAG, "idle_timeout", "1.5", "idle_timeout: must be an integer" },
	{ HAG, "fwmark", "0", "fwmark: must be between 1 and 4294967295, not 0" },
	{ HAG, "table", "4294967296", "table: must be between 1 and 4294967295, not 4294967296" },
	{ HAG, "table", "254", "table: 254 is a table the kernel uses" },
	{ HAG, "table", "253", "table: 253 is a table the kernel uses" },
	{ HAG, "idle_timeout", "0", "idle_timeout: must be between 1 and 604800, not 0" },
	{ HAG, "idle_timeout", "604801", "idle_timeout: must be between 1 and 604800, not 604801" },
	{ HAG, "connect_timeout", "301", "connect_timeout: must be between 1 and 300, not 301" },
	{ HAG, "head_timeout", "0", "head_timeout: must be between 1 and 300, not 0" },
	/* words and booleans */
	{ HAG, "xdp_mode", "\"turbo\"", "xdp_mode: must be auto, native, generic or tc, not 'turbo'" },
	{ HAG, "mptcp_congestion", "\"Reno\"", "mptcp_congestion: \"Reno\" is not a congestion control's name" },
	{ HAG, "mptcp_congestion", "\"\"", "mptcp_congestion: \"\" is not a congestion control's name" },
	{ HAG, "mptcp_congestion", "\"averyveryverylongname\"", "mptcp_congestion: \"averyveryverylongname\" is not" },
	{ HAG, "mptcp_congestion", "\"../x\"", "mptcp_congestion: \"../x\" is not" },
	{ HAG, "mptcp_congestion", "5", "mptcp_congestion: must be a string" },
	{ HAG, "relay", "\"zerocopy\"", "relay: must be splice or copy, not 'zerocopy'" },
	{ HAG, "marker", "true", "marker: must be a string" },
	{ HAG, "tcp_pairs", "\"sockmap\"", "tcp_pairs: sockmap is refused" },
	{ HAG, "terminate_tcp", "\"yes\"", "terminate_tcp: must be true or false" },
	{ HAG, "origin_check", "1", "origin_check: must be true or false" },
	/* interfaces */
	{ HAG, "interfaces", NULL, "interfaces: missing" },
	{ HAG, "interfaces", "[]", "interfaces: must be an object with lan, access, wan" },
	{ HAG, "interfaces.wan", NULL, "interfaces.wan: a HAG or MCP needs its interface toward the servers" },
	{ HAG, "interfaces.wan", "\"wan\"", "interfaces.wan: must be a list of interface names" },
	{ HAG, "interfaces.access", "[]", "interfaces.access: at least one access interface is needed" },
	{ HAG, "interfaces.access", "[\"dsl\", \"abcdefghijklmnop\"]",
	  "interfaces.access[1]: 'abcdefghijklmnop' is longer than 15 characters" },
	{ HAG, "interfaces.access", "[\"\"]", "interfaces.access[0]: must be an interface name" },
	{ HAG, "interfaces.access", "[7]", "interfaces.access[0]: must be an interface name" },
	{ HAG, "interfaces.access", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]",
	  "interfaces.access: at most 8 interface names" },
	{ HCPE, "interfaces.lan", NULL, "interfaces.lan: an HCPE needs its LAN interface" },
	/* prefixes */
	{ HAG, "subscribers", NULL, "subscribers: a HAG or MCP serves only subscriber prefixes" },
	{ HAG, "subscribers", "\"10.1.0.0/24\"", "subscribers: must be a list of prefixes" },
	{ HAG, "subscribers", "[\"10.1.0.0/24\", \"10.1.0.0/33\"]",
	  "subscribers[1]: '10.1.0.0/33' is not an IPv4 or IPv6 prefix" },
	{ HAG, "subscribers", "[\"fd00::/129\"]", "subscribers[0]: 'fd00::/129' is not an IPv4 or IPv6 prefix" },
	{ HAG, "subscribers", "[\"10.1.0.0/\"]", "subscribers[0]: '10.1.0.0/' is not an IPv4 or IPv6 prefix" },
	{ HAG, "subscribers", "[\"10.1.0.0/-1\"]", "subscribers[0]: '10.1.0.0/-1' is not" },
	{ HAG, "subscribers", "[\"10.1.0.0/24x\"]", "subscribers[0]: '10.1.0.0/24x' is not" },
	{ HAG, "subscribers", "[\"10.1.0.256\"]", "subscribers[0]: '10.1.0.256' is not" },
	{ HAG, "subscribers", "[\"host.example\"]", "subscribers[0]: 'host.example' is not" },
	{ HAG, "subscribers", "[42]", "subscribers[0]: '42' is not an IPv4 or IPv6 prefix" },
	{ HAG, "forbidden", "[\"::1/200\"]", "forbidden[0]: '::1/200' is not an IPv4 or IPv6 prefix" },
	{ HAG, "transparent_source", "[\"10.1.0.0/24\"]", "transparent_source: only an MCP takes a source" },
	{ MCP, "transparent_source", "[\"10.1.0.0/24\", \"10.1/8\"]", "transparent_source[1]: '10.1/8' is not" },
	/* roles' own keys */
	{ MCP, "origin_check", "true", "origin_check: only a HAG has it to choose" },
	{ HCPE, "terminate_tcp", "true", "terminate_tcp: only a HAG terminates plain TCP" },
	{ MCP, "terminate_tcp", "true", "terminate_tcp: only a HAG terminates plain TCP" },
	{ HCPE, "classes", "{}", "classes: only a HAG or MCP admits subscribers" },
	{ HCPE, "modes", "{}", "modes: only a HAG chooses a mode by destination" },
	{ MCP, "modes", "{}", "modes: only a HAG chooses a mode by destination" },
	{ HAG, "downstream", "{}", "downstream: only an HCPE has a downstream MCP" },
	/* classes and the subscribers that name them */
	{ HAG, "classes", "[]", "classes: must be an object of classes by name" },
	{ HAG, "classes", "{\"gold\": 5}", "classes.gold: must be an object with max_sessions" },
	{ HAG, "classes", "{\"gold\": {\"max_subflows\": 10}}",
	  "classes.gold.max_subflows: must be between 1 and 9, not 10" },
	{ HAG, "classes", "{\"gold\": {\"max_sessions\": 0}}",
	  "classes.gold.max_sessions: must be between 1 and 1000000, not 0" },
	{ HAG, "classes", "{\"gold\": {\"syn_rate\": 1000001}}",
	  "classes.gold.syn_rate: must be between 1 and 1000000, not 1000001" },
	{ HAG, "classes", "{\"gold\": {\"max_session\": 5}}", "classes.gold.max_session: unknown key" },
	{ HAG, "classes", "{\"gold\": {\"syn_burst\": 5}}", "classes.gold: syn_burst without syn_rate" },
	{ HAG, "classes", "{\"abcdefghijklmnopqrstuvwxyz012345\": {}}",
	  "classes.abcdefghijklmnopqrstuvwxyz012345: a class name has 1 to 31 characters" },
	{ HAG, "classes", "{\"a\":{},\"b\":{},\"c\":{},\"d\":{},\"e\":{},\"f\":{},\"g\":{},\"h\":{}}",
	  "classes: at most 8 classes, \"default\" included" },
	{ HAG, "subscribers", "[{\"prefix\": \"10.1.0.0/24\", \"class\": \"gold\"}]",
	  "subscribers[0].class: 'gold' is not a class of \"classes\"" },
	{ HAG, "subscribers", "[{\"prefix\": \"10.1.0.0/24\", \"klass\": \"gold\"}]",
	  "subscribers[0].klass: unknown key" },
	{ HAG, "subscribers", "[{\"class\": \"default\"}]", "subscribers[0]: needs \"prefix\"" },
	{ HAG, "subscribers", "[\"10.2.0.0/16\", {\"prefix\": \"10.1.0.0/99\"}]",
	  "subscribers[1].prefix: '10.1.0.0/99' is not an IPv4 or IPv6 prefix" },
	/* endpoints and limits */
	{ HAG, "endpoints", "{}", "endpoints: must be a list of endpoints" },
	{ HAG, "endpoints", "[\"10.3.0.2\"]", "endpoints[0]: must be an object" },
	{ HAG, "endpoints", "[{\"address\": \"10.3.0.0/24\"}]", "endpoints[0].address: needs an IPv4 or IPv6 address" },
	{ HAG, "endpoints", "[{\"interface\": \"lte\"}]", "endpoints[0].address: needs an IPv4 or IPv6 address" },
	{ HAG, "endpoints", "[{\"address\": \"10.3.0.2\", \"flags\": [\"signal\", \"turbo\"]}]",
	  "endpoints[0].flags: 'turbo' is not one of signal, subflow, backup, fullmesh" },
	{ HAG, "endpoints", "[{\"address\": \"10.3.0.2\", \"flags\": \"signal\"}]",
	  "endpoints[0].flags: must be a list of signal, subflow, backup, fullmesh" },
	{ HAG, "endpoints", "[{\"address\": \"10.3.0.2\", \"flags\": [\"subflow\"], \"port\": 7011}]",
	  "endpoints[0].port: only a signal endpoint takes a port" },
	{ HAG, "endpoints", "[{\"address\": \"10.3.0.2\", \"flags\": [\"signal\"], \"port\": 65536}]",
	  "endpoints[0].port: must be between 1 and 65535, not 65536" },
	{ HAG, "endpoints", "[{\"address\": \"10.3.0.2\"}, {\"address\": \"10.3.0.3\", \"id\": 256}]",
	  "endpoints[1].id: must be between 1 and 255, not 256" },
	{ HAG, "endpoints", "[{\"address\": \"10.3.0.2\", \"interface\": \"abcdefghijklmnop\"}]",
	  "endpoints[0].interface: 'abcdefghijklmnop' is longer than 15 characters" },
	{ HAG, "endpoints", "[{\"address\": \"10.3.0.2\", \"iface\": \"lte\"}]", "endpoints[0].iface: unknown key" },
	{ HAG, "limits", "{\"subflows\": 9}", "limits.subflows: must be between 0 and 8, not 9" },
	{ HAG, "limits", "{\"add_addr_accepted\": -1}", "limits.add_addr_accepted: must be between 0 and 8, not -1" },
	{ HAG, "limits", "{\"subflow\": 1}", "limits.subflow: unknown key" },
	{ HAG, "limits", "2", "limits: must be an object with subflows, add_addr_accepted" },
	/* the HCPE's downstream */
	{ HCPE, "downstream", "{\"mode\": \"sideways\"}", "downstream.mode: must be on-path or off-path, not 'sideways'" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\"}", "downstream.mcps: off-path mode needs at least one MCP" },
	{ HCPE, "downstream", "{\"mcps\": [\"192.0.2.9:7000\"]}", "downstream.mcps: only the off-path mode names MCPs" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\", \"mcps\": [\"192.0.2.9\"]}",
	  "downstream.mcps[0]: '192.0.2.9' is not ADDRESS:PORT or [IPV6]:PORT" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\", \"mcps\": [\"2001:db8::1:7000\"]}",
	  "downstream.mcps[0]: '2001:db8::1:7000' is not ADDRESS:PORT" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\", \"mcps\": [\"192.0.2.9:0\"]}",
	  "downstream.mcps[0]: '192.0.2.9:0' is not ADDRESS:PORT" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\", \"mcps\": [{\"destinations\": []}]}",
	  "downstream.mcps[0]: needs \"mcp\": \"ADDRESS:PORT\"" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\", \"mcps\": [{\"mcp\": \"192.0.2.9:7000\", \"ports\": [70000]}]}",
	  "downstream.mcps[0].ports: must be a list of ports (1..65535)" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\", \"mcps\": [{\"mcp\": \"[::1:7000\"}]}",
	  "downstream.mcps[0].mcp: '[::1:7000' is not ADDRESS:PORT" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\", \"connect_timeout_ms\": 5, \"mcps\": [\"192.0.2.9:7000\"]}",
	  "downstream.connect_timeout_ms: must be between 10 and 60000, not 5" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\", \"retry_after\": 0, \"mcps\": [\"192.0.2.9:7000\"]}",
	  "downstream.retry_after: must be between 1 and 86400, not 0" },
	{ HCPE, "downstream", "{\"mode\": \"off-path\", \"mcp\": \"192.0.2.9:7000\"}", "downstream.mcp: unknown key" },
	/* the HAG's modes */
	{ HAG, "modes", "{\"default\": \"fast\"}", "modes.default: must be take_over, transparent or hybrid, not 'fast'" },
	{ HAG, "modes", "{\"learned_lifetime\": 0}", "modes.learned_lifetime: must be between 1 and 2592000, not 0" },
	{ HAG, "modes", "{\"fallback\": 1}", "modes.fallback: unknown key" },
	{ HAG, "modes", "{\"rules\": [{\"ports\": [443]}]}", "modes.rules[0]: needs \"mode\": take_over, transparent or hybrid" },
	{ HAG, "modes", "{\"rules\": [{\"mode\": \"fast\"}]}", "modes.rules[0].mode: must be take_over, transparent or hybrid" },
	{ HAG, "modes", "{\"rules\": [{\"mode\": \"hybrid\", \"ports\": [0]}]}",
	  "modes.rules[0].ports: must be a list of ports (1..65535)" },
	{ HAG, "modes", "{\"rules\": [{\"mode\": \"hybrid\", \"destinations\": [\"10.4.0.0/40\"]}]}",
	  "modes.rules[0].destinations[0]: '10.4.0.0/40' is not an IPv4 or IPv6 prefix" },
	{ HAG, "modes", "{\"rules\": [{\"mode\": \"hybrid\", \"port\": [1]}]}", "modes.rules[0].port: unknown key" },
	/* paths */
	{ HAG, "paths", "[{\"name\": \"fixed\", \"interface\": \"wan\", \"access\": \"dsl\"}]",
	  "paths[0].interface: 'wan' is not one of interfaces.access" },
	{ HAG, "paths", "[{\"name\": \"fixed\", \"interface\": \"dsl\"}]", "paths[0].access: missing" },
	{ HAG, "paths", "[{\"name\": \"fixed\", \"interface\": \"dsl\", \"access\": \"isdn\"}]",
	  "paths[0].access: must be dsl, lte, 5g, wlan, fiber, cable, satellite or ethernet, not 'isdn'" },
	{ HAG, "paths", "[{\"interface\": \"dsl\", \"access\": \"dsl\"}]", "paths[0].name: needs a name of 1 to 31 characters" },
	{ HAG, "paths", "[{\"name\": \"fixed\", \"access\": \"dsl\"}]", "paths[0].interface: missing" },
	{ HAG, "paths", "[{\"name\": \"fixed\", \"interface\": \"dsl\", \"access\": \"dsl\", \"priority\": \"high\"}]",
	  "paths[0].priority: must be primary or backup, not 'high'" },
	{ HAG, "paths", "[{\"name\": \"fixed\", \"interface\": \"dsl\", \"access\": \"dsl\", \"rate_mbit\": 0}]",
	  "paths[0].rate_mbit: must be between 1 and 100000, not 0" },
	{ HAG, "paths", "[{\"name\": \"m\", \"interface\": \"lte\", \"access\": \"lte\", \"priority\": \"backup\"}]",
	  "paths[0]: a backup path needs an endpoint on lte" },
	{ HAG, "paths", "[{\"name\": \"a\", \"interface\": \"dsl\", \"access\": \"dsl\"}, "
			"{\"name\": \"a\", \"interface\": \"lte\", \"access\": \"lte\"}]",
	  "paths[1]: paths[0] has the same name or interface" },
	{ HAG, "paths", "[{\"name\": \"a\", \"interface\": \"dsl\", \"access\": \"dsl\"}, "
			"{\"name\": \"b\", \"interface\": \"dsl\", \"access\": \"lte\"}]",
	  "paths[1]: paths[0] has the same name or interface" },
	{ HAG, "paths", "[{\"name\": \"a\", \"interface\": \"dsl\", \"access\": \"dsl\", \"share\": 1}]",
	  "paths[0].share: unknown key" },
	/* metrics and control_group */
	{ HAG, "metrics", "\"10.0.0.1:9786\"", "metrics: '10.0.0.1:9786' is not a loopback address" },
	{ HAG, "metrics", "\"[::2]:9786\"", "metrics: '[::2]:9786' is not a loopback address" },
	{ HAG, "metrics", "\"127.0.0.1\"", "metrics: '127.0.0.1' is not ADDRESS:PORT or [IPV6]:PORT" },
	{ HAG, "metrics", "\"::1:9786\"", "metrics: '::1:9786' is not ADDRESS:PORT" },
	{ HAG, "metrics", "9786", "metrics: '9786' is not ADDRESS:PORT" },
	{ HAG, "control_group", "\"xmcp-no-such-group\"", "control_group: no group 'xmcp-no-such-group' on this system" },
	{ HAG, "control_group", "\"root\"", "control_group: the root group is root's already" },
	{ HAG, "control_group", "5", "control_group: must be a group's name" },
};

static void test_bad_values(void)
{
	struct policy p;
	char want[512];
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		int rc = load_with(c->base, c->key, c->value, &p);

		snprintf(want, sizeof(want), "%s: %s", file, c->want);
		if (!ok(rc == -1 && !strncmp(err, want, strlen(want)) && lines(err) == 1, "%s, %s = %s: \"%s\"",
			strstr(c->base, "\"hcpe\"") ? "hcpe" : strstr(c->base, "\"hag\"") ? "hag" : "mcp", c->key,
			c->value ?: "(absent)", c->want))
			printf("#   rc %d, stderr '%s', want it to begin with '%s'\n", rc, err, want);
	}
}

/* Problems with the file as a whole. */
static void test_bad_files(void)
{
	struct policy p;
	char path[160], want[256];

	is_int(load_text("[1, 2]", &p), -1, "a JSON list is not a policy");
	snprintf(want, sizeof(want), "%s: (top): must be a JSON object", file);
	like(err, want, "... and the error says so");
	is_int(load_text("{\"role\": \"hag\", \"interfaces\": {", &p), -1, "cut-off JSON is refused");
	/* (json-c's own message ends in a newline, so an empty line follows it) */
	snprintf(want, sizeof(want), "xmcp: %s: ", file);
	ok(!strncmp(err, want, strlen(want)), "... with an error naming the file");
	is_int(load_text("", &p), -1, "an empty file is refused");
	snprintf(path, sizeof(path), "%s/absent.json", dir);
	is_int(load_path(path, &p), -1, "a missing file is refused");
	like(err, "No such file or directory", "... and the error says why");
	write_file(file, HAG, 0666);
	is_int(load_path(file, &p), -1, "a policy others may write is refused");
	like(err, "refused: writable by others than its owner", "... and the error says why");
	write_file(file, HAG, 0620);
	is_int(load_path(file, &p), -1, "a policy its group may write is refused");
	snprintf(path, sizeof(path), "%s/sub", dir);
	mkdir(path, 0777);
	chmod(path, 0777);
	snprintf(path, sizeof(path), "%s/sub/p.json", dir);
	write_file(path, HAG, 0600);
	is_int(load_path(path, &p), -1, "a policy in a directory others may write is refused");
	like(err, "its directory", "... and the error names the directory");
	chmod(path, 0600);
	snprintf(want, sizeof(want), "%s/sub", dir);
	chmod(want, 01777);
	is_int(load_path(path, &p), 0, "... unless the directory is sticky (as /tmp is)");
	unlink(path);
	rmdir(want);
	snprintf(path, sizeof(path), "%s", dir);
	is_int(load_path(path, &p), -1, "a directory is not a policy");
	like(err, "not a regular file", "... and the error says so");

	/* two problems: the first one only */
	is_int(load_text("{\"role\": \"hag\", \"listen_port\": 70000, \"fwmark\": 0, \"bogus\": 1, "
			 "\"interfaces\": {\"access\": [\"dsl\"], \"wan\": [\"wan\"]}, \"subscribers\": [\"10/8\"]}",
			 &p),
	       -1, "a policy with four problems is refused");
	is_int(lines(err), 1, "... with one line: the first problem only");
}

/* What docs/policy.md's table says a key left out is. */
static void test_defaults(void)
{
	struct policy p;

	memset(&p, 0xa5, sizeof(p));
	if (!ok(load_text(HAG, &p) == 0, "the smallest HAG policy loads"))
		diag("%s", err);
	is_str(err, "", "... silently");
	is_int(p.role, POL_ROLE_HAG, "role hag");
	is_int(p.listen_port, 0, "listen_port: 0 (the kernel picks a port)");
	is_int(p.workers, 0, "workers: 0 (one per CPU)");
	is_int(p.fwmark, 0x786d, "fwmark: 0x786d");
	is_int(p.table, 0x786d, "table: 0x786d");
	is_int(p.idle_timeout, 300, "idle_timeout: 300");
	is_int(p.connect_timeout, 10, "connect_timeout: 10");
	is_int(p.head_timeout, 5, "head_timeout: 5");
	ok(p.control_gid == (gid_t)-1, "control_group: none");
	is_int(p.xdp_mode, POL_XDP_AUTO, "xdp_mode: auto");
	is_str(p.mptcp_cc, "reno", "mptcp_congestion: reno");
	ok(p.mptcp_cc_default, "... as the default (a kernel without it keeps its own)");
	ok(!p.relay_copy, "relay: splice");
	ok(!p.marker, "marker: none");
	ok(!p.terminate_tcp && !p.origin_check, "terminate_tcp, origin_check: false");
	ok(!p.set_limits, "limits: the kernel's left unchanged");
	is_int(p.n_classes, 0, "classes: none");
	ok(!p.has_modes && p.default_mode == XMCP_MODE_TAKE_OVER, "modes: take over everything");
	ok(!p.has_metrics, "metrics: none");
	ok(!p.n_paths && !p.n_endpoints && !p.n_forbidden && !p.n_transparent,
	   "paths, endpoints, forbidden, transparent_source: none");
	is_int(p.lan.n, 0, "interfaces.lan: none");
	is_int(p.access.n, 2, "interfaces.access: 2");
	is_str(p.access.name[1], "lte", "interfaces.access[1] is lte");
	is_int(p.subscriber_class[0], 0, "a subscriber without a class is in class 0 (default)");

	ok(load_text(HCPE, &p) == 0, "the smallest HCPE policy loads");
	ok(!p.off_path && !p.n_mcps, "downstream: on-path");
	is_int(p.connect_timeout_ms, 1000, "downstream.connect_timeout_ms: 1000");
	is_int(p.retry_after, 30, "downstream.retry_after: 30");

	ok(load_with(HAG, "limits", "{\"subflows\": 4}", &p) == 0, "a limits object with one key loads");
	ok(p.set_limits && p.subflows == 4 && p.add_addr_accepted == 2,
	   "... the key left out of a present limits is 2");
	ok(load_with(HAG, "modes", "{\"rules\": [{\"ports\": [443], \"mode\": \"hybrid\"}]}", &p) == 0,
	   "modes with rules only loads");
	ok(p.has_modes && p.default_mode == XMCP_MODE_TAKE_OVER, "... default: take_over");
	is_int(p.learned_lifetime, 3600, "... learned_lifetime: 3600");
	ok(load_with(HAG, "classes", "{\"gold\": {\"syn_rate\": 7}}", &p) == 0, "a class with syn_rate only loads");
	is_int(p.n_classes, 2, "... default is class 0 whether defined or not");
	ok(!strcmp(p.classes[0].name, "default") && !p.classes[0].max_sessions && !p.classes[0].syn_rate,
	   "... an undefined default class has no limits");
	ok(!strcmp(p.classes[1].name, "gold") && p.classes[1].syn_burst == 7 && !p.classes[1].max_subflows,
	   "... syn_burst defaults to syn_rate, absent limits are 0 (none)");
	ok(load_with(HAG, "endpoints", "[{\"address\": \"10.3.0.2\"}, {\"address\": \"fd03::2\", \"id\": 7}, "
				       "{\"address\": \"10.3.0.4\", \"flags\": [\"signal\", \"backup\"], \"port\": 7011}]",
		     &p) == 0,
	   "three endpoints load");
	ok(p.endpoints[0].id == 200 && p.endpoints[1].id == 7 && p.endpoints[2].id == 202,
	   "... id defaults to 200 + position");
	ok(p.endpoints[0].flags == 0 && p.endpoints[0].ifname[0] == '\0' && p.endpoints[0].port == 0,
	   "... no flags, any interface, no port by default");
	ok(p.endpoints[2].flags == (MPTCP_PM_ADDR_FLAG_SIGNAL | MPTCP_PM_ADDR_FLAG_BACKUP) &&
		   p.endpoints[2].port == 7011,
	   "... flags and port as given");
	ok(p.endpoints[1].addr.family == AF_INET6 && p.endpoints[1].addr.len == 128, "... an IPv6 address");
	ok(load_with(HAG, "paths", "[{\"name\": \"fixed\", \"interface\": \"dsl\", \"access\": \"dsl\"}]", &p) == 0,
	   "a path loads");
	ok(!p.paths[0].backup && p.paths[0].rate_mbit == 0, "... priority primary, not shaped by default");
}

/* The bounds docs/policy.md gives are inclusive. */
static void test_bounds(void)
{
	static const struct {
		const char *key, *value;
	} edges[] = {
		{ "listen_port", "65535" },	 { "fwmark", "4294967295" }, { "table", "252" },
		{ "workers", "64" },		 { "workers", "1" },
		{ "table", "256" },		 { "idle_timeout", "604800" }, { "idle_timeout", "1" },
		{ "connect_timeout", "300" },	 { "head_timeout", "300" },
		{ "modes", "{\"learned_lifetime\": 2592000}" },
		{ "endpoints", "[{\"address\": \"10.3.0.2\", \"id\": 255}]" },
		{ "classes", "{\"gold\": {\"max_subflows\": 9, \"max_sessions\": 1000000}}" },
		{ "interfaces.access", "[\"abcdefghijklmno\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]" },
		{ "classes", "{\"default\":{},\"a\":{},\"b\":{},\"c\":{},\"d\":{},\"e\":{},\"f\":{},\"g\":{}}" },
		{ "metrics", "\"127.9.9.9:1\"" },
		{ "metrics", "\"[::1]:65535\"" },
	};
	struct policy p;
	size_t i;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		if (!ok(load_with(HAG, edges[i].key, edges[i].value, &p) == 0, "%s = %s is accepted", edges[i].key,
			edges[i].value))
			diag("%s", err);
	ok(load_with(HCPE, "downstream",
		     "{\"mode\": \"off-path\", \"connect_timeout_ms\": 60000, \"retry_after\": 86400, "
		     "\"mcps\": [\"192.0.2.9:7000\", {\"mcp\": \"[2001:db8::9]:7001\", \"destinations\": "
		     "[\"198.51.100.0/24\"], \"ports\": [443, 80]}]}",
		     &p) == 0,
	   "an off-path downstream at its bounds, with an IPv6 MCP and matches, is accepted");
	ok(p.off_path && p.n_mcps == 2 && p.mcps[1].sa.ss_family == AF_INET6 && p.mcps[1].n_ports == 2 &&
		   p.mcps[1].ports[1] == 80 && p.mcps[1].n_prefixes == 1 && !strcmp(p.mcps[1].text, "[2001:db8::9]:7001"),
	   "... and read as written");
	ok(ntohs(((struct sockaddr_in6 *)&p.mcps[1].sa)->sin6_port) == 7001, "... port 7001");

	/* 64 destination x port combinations fit, 65 do not */
	char rules[2048] = "{\"rules\": [";
	const char *eight_ports = "[1,2,3,4,5,6,7,8]";

	for (i = 0; i < 8; i++)
		snprintf(rules + strlen(rules), sizeof(rules) - strlen(rules),
			 "%s{\"destinations\": [\"10.%zu.0.0/16\"], \"ports\": %s, \"mode\": \"hybrid\"}",
			 i ? ", " : "", i, eight_ports);
	strcat(rules, "]}");
	ok(load_with(HAG, "modes", rules, &p) == 0 && p.n_mode_rules == 8, "64 destination x port combinations fit");
	rules[strlen(rules) - 2] = '\0';
	strcat(rules, ", {\"mode\": \"transparent\"}]}");
	is_int(load_with(HAG, "modes", rules, &p), -1, "65 do not");
	like(err, "modes.rules: 65 destination x port combinations, at most 64", "... and the error says so");
}

/* Every example policy in policies/ loads (they are the lab's, and the installed examples). */
static void test_examples(void)
{
	char pdir[PATH_MAX + 16], path[PATH_MAX + 300], exe[PATH_MAX];
	struct dirent *de;
	struct policy p;
	int n = 0;
	DIR *d;
	ssize_t len;

	snprintf(pdir, sizeof(pdir), "policies");
	d = opendir(pdir);
	if (!d && (len = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[len] = '\0';
		*strrchr(exe, '/') = '\0';
		snprintf(pdir, sizeof(pdir), "%s/../policies", exe); /* build/test_policy */
		d = opendir(pdir);
	}
	if (!ok(d != NULL, "the example policies are found (policies/, from here or next to build/)"))
		return;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l < 6 || strcmp(de->d_name + l - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pdir, de->d_name);
		if (!ok(load_path(path, &p) == 0 && !*err, "policies/%s loads", de->d_name))
			diag("%s", err);
		n++;
	}
	closedir(d);
	ok(n >= 5, "%d example policies found (hcpe, hcpe-offpath, hag, hag-operator, mcp)", n);

	/* what one of them says, read back */
	snprintf(path, sizeof(path), "%s/hag-operator.json", pdir);
	if (!ok(load_path(path, &p) == 0, "policies/hag-operator.json once more, to read it back"))
		return;
	__u8 a[16];

	ok(p.role == POL_ROLE_HAG && p.n_subscribers == 2 && p.n_classes == 2, "a HAG, 2 prefixes, 2 classes");
	ok(!strcmp(p.classes[1].name, "business") && p.classes[1].max_sessions == 1024 &&
		   p.classes[1].max_subflows == 4 && p.classes[0].syn_burst == 40,
	   "the classes' limits");
	inet_pton(AF_INET6, "fd01::9", a);
	is_int(policy_subscriber_class(&p, AF_INET6, a), 1, "fd01::9 is a business subscriber");
	inet_pton(AF_INET, "10.1.0.9", a);
	is_int(policy_subscriber_class(&p, AF_INET, a), 0, "10.1.0.9 is a default one");
	inet_pton(AF_INET, "10.2.0.9", a);
	is_int(policy_subscriber_class(&p, AF_INET, a), -1, "10.2.0.9 is no subscriber");
	ok(p.n_endpoints == 2 && p.endpoints[0].port == 7011 && p.endpoints[0].id == 200 && p.endpoints[1].id == 201 &&
		   p.endpoints[1].flags == MPTCP_PM_ADDR_FLAG_SIGNAL && !strcmp(p.endpoints[1].ifname, "lte"),
	   "the signal endpoints, ids 200 and 201");
	ok(p.set_limits && p.subflows == 2 && p.add_addr_accepted == 0, "the limits");
	inet_pton(AF_INET, "10.4.0.7", a);
	is_int(policy_mode_for(&p, AF_INET, a, 443), XMCP_MODE_TRANSPARENT, "10.4.0.7:443 is transparent");
	is_int(policy_mode_for(&p, AF_INET, a, 80), XMCP_MODE_HYBRID, "10.4.0.7:80 takes the default, hybrid");
	ok(p.n_paths == 2 && policy_path_of(&p, "lte") == &p.paths[1] && !strcmp(p.paths[1].name, "mobile") &&
		   !policy_path_of(&p, "wan"),
	   "the paths by device");
}

/*
 * A live reload compares the running policy with the new one field by
 * field, byte for byte (policy_fixed_field, below; the endpoints by
 * difference in user/install/install.c). What that comparison relies on is
 * policy_load's: one spelling of each prefix, and a struct that is all
 * zeroes wherever the policy says nothing, whatever was there before.
 */
static void test_reload_comparable(void)
{
	static struct policy a, b;

	memset(&a, 0x00, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	ok(load_with(HAG, "subscribers", "[\"10.1.0.0/24\", \"10.2.0.0/16\", \"fd01::/64\", \"192.0.2.7/32\"]", &a) == 0,
	   "a HAG with four subscriber prefixes");
	ok(load_with(HAG, "subscribers",
		     "[\"10.1.0.77/24\", \"::ffff:10.2.3.4/112\", \"FD01:0:0:0:1::/64\", \"192.0.2.7\"]", &b) == 0,
	   "the same prefixes spelled otherwise (host bits, IPv4-mapped, capitals, no length)");
	ok(!memcmp(a.subscribers, b.subscribers, sizeof(a.subscribers)), "... are the same bytes");
	ok(!memcmp(&a, &b, sizeof(a)), "... and so are the whole policies, garbage before the load or not");
	ok(load_with(HAG, "forbidden", "[\"10.9.0.0/16\"]", &b) == 0 && memcmp(&a, &b, sizeof(a)),
	   "a policy that adds forbidden prefixes differs");
	ok(load_text(HAG, &a) == 0 && load_with(HAG, "idle_timeout", "300", &b) == 0 && !memcmp(&a, &b, sizeof(a)),
	   "a default written out is the same policy as the default left out");
}

/* What `xmcp reload` refuses: each field a running daemon can't change, by the name it gives. */
static void test_fixed_fields(void)
{
	static const struct {
		const char *key, *value, *fixed; /* fixed NULL: a reload may change it */
	} cases[] = {
		{ "subscribers", "[\"10.9.0.0/16\"]", NULL },
		{ "idle_timeout", "60", NULL },
		{ "connect_timeout", "30", NULL },
		{ "head_timeout", "9", NULL },
		{ "mptcp_congestion", "\"cubic\"", NULL },
		{ "forbidden", "[\"10.9.0.0/16\"]", NULL },
		{ "endpoints", "[{\"address\": \"10.3.0.2\", \"flags\": [\"signal\"]}]", NULL },
		{ "limits", "{\"subflows\": 4, \"add_addr_accepted\": 0}", NULL },
		{ "role", "\"mcp\"", "role" },
		{ "interfaces.wan", "[\"wan\", \"wan2\"]", "interfaces" },
		{ "listen_port", "7000", "listen_port, fwmark or table" },
		{ "fwmark", "7", "listen_port, fwmark or table" },
		{ "workers", "3", "workers" },
		{ "xdp_mode", "\"generic\"", "xdp_mode, marker, relay, tcp_pairs, terminate_tcp or origin_check" },
		{ "terminate_tcp", "true", "xdp_mode, marker, relay, tcp_pairs, terminate_tcp or origin_check" },
		{ "paths", "[{\"name\": \"f\", \"interface\": \"dsl\", \"access\": \"dsl\"}]", "paths" },
		{ "metrics", "\"127.0.0.1:9110\"", "metrics" },
		{ "modes", "{\"default\": \"transparent\"}", "modes (present or not)" },
		{ "classes", "{\"gold\": {\"max_sessions\": 4}}", "classes (present or not)" },
	};
	static struct policy a, b;
	unsigned int i;

	ok(load_text(HAG, &a) == 0, "a HAG policy");
	ok(load_text(HAG, &b) == 0 && !policy_fixed_field(&a, &b), "... the same again: nothing to refuse");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *f;

		if (!ok(load_with(HAG, cases[i].key, cases[i].value, &b) == 0, "%s: %s loads", cases[i].key,
			cases[i].value)) {
			diag("%s", err);
			continue;
		}
		f = policy_fixed_field(&a, &b);
		if (cases[i].fixed)
			is_str(f ? f : "(none)", cases[i].fixed, "a reload that changes %s is refused by that name",
			       cases[i].key);
		else
			ok(!f, "a reload may change %s (refused for %s)", cases[i].key, f ? f : "nothing");
	}
}

/* An anycast MCP's shared addresses, device and drain: a restart changes them, a reload does not. */
static void test_anycast_fixed(void)
{
#define ANYCAST_MCP                                                                                         \
	"{\"role\": \"mcp\", \"interfaces\": {\"access\": [\"dsl\"], \"wan\": [\"wan\"]}, "                 \
	"\"subscribers\": [\"10.1.0.0/24\"], \"endpoints\": [{\"address\": \"10.3.0.2\", \"flags\": [\"signal\"]}], " \
	"\"anycast\": {\"addresses\": [\"192.0.2.1\"]}}"
	static struct policy a, b;

	ok(load_text(ANYCAST_MCP, &a) == 0 && a.announce.n == 1 && !strcmp(a.announce.device, "xmcp-anycast") &&
		   a.announce.drain_timeout == 30,
	   "an anycast MCP: one address, the default device and drain_timeout");
	ok(load_with(ANYCAST_MCP, "anycast.addresses", "[\"192.0.2.2\"]", &b) == 0, "... another address");
	is_str(policy_fixed_field(&a, &b) ?: "(none)", "anycast", "a reload that changes the shared addresses is refused");
	ok(load_with(ANYCAST_MCP, "anycast.drain_timeout", "5", &b) == 0, "... another drain_timeout");
	is_str(policy_fixed_field(&a, &b) ?: "(none)", "anycast", "a reload that changes drain_timeout is refused");
	ok(load_with(ANYCAST_MCP, "anycast", NULL, &b) == 0, "... no anycast");
	is_str(policy_fixed_field(&a, &b) ?: "(none)", "anycast", "a reload that drops anycast is refused");
#undef ANYCAST_MCP
}

/* A HAG's announced prefixes: fixed too (moving them is the routing's business: a restart). */
static void test_announce_fixed(void)
{
#define ANNOUNCE_HAG                                                                                \
	"{\"role\": \"hag\", \"interfaces\": {\"access\": [\"dsl\"], \"wan\": [\"wan\"]}, "         \
	"\"subscribers\": [\"10.1.0.0/16\"], \"announce\": {\"prefixes\": [\"10.1.0.0/24\"]}}"
	static struct policy a, b;

	ok(load_text(ANNOUNCE_HAG, &a) == 0 && a.announce.n == 1 && a.announce.prefixes &&
		   !strcmp(a.announce.device, "xmcp-announce") && a.announce.addr[0].len == 24,
	   "a HAG announcing one prefix on the default device");
	ok(load_with(ANNOUNCE_HAG, "announce.prefixes", "[\"10.1.1.0/24\"]", &b) == 0, "... another prefix");
	is_str(policy_fixed_field(&a, &b) ?: "(none)", "announce", "a reload that changes the prefixes is refused, by name");
#undef ANNOUNCE_HAG
}

static void test_prefixes(void)
{
	struct pol_prefix p;
	__u8 a[16];

	ok(!policy_parse_prefix("10.1.2.3/8", &p) && p.family == AF_INET && p.len == 8 && p.addr[0] == 10 &&
		   !p.addr[1] && !p.addr[3],
	   "10.1.2.3/8 is 10.0.0.0/8");
	ok(!policy_parse_prefix("10.255.255.255/9", &p) && p.addr[1] == 0x80 && !p.addr[2], "10.255.255.255/9 is 10.128.0.0/9");
	ok(!policy_parse_prefix("::ffff:192.0.2.0/120", &p) && p.family == AF_INET && p.len == 24 &&
		   p.addr[0] == 192 && p.addr[2] == 2,
	   "::ffff:192.0.2.0/120 is 192.0.2.0/24");
	ok(!policy_parse_prefix("::ffff:0:0/95", &p) && p.family == AF_INET6 && p.len == 95,
	   "an IPv4-mapped prefix shorter than /96 stays IPv6");
	ok(!policy_parse_prefix("2001:db8::1", &p) && p.family == AF_INET6 && p.len == 128, "an address alone is a host prefix");
	ok(!policy_parse_prefix("0.0.0.0/0", &p) && p.len == 0, "0.0.0.0/0");
	ok(policy_parse_prefix("10.0.0.0/08x", &p) && policy_parse_prefix("/8", &p) && policy_parse_prefix("", &p) &&
		   policy_parse_prefix("2001:db8::/129", &p) && policy_parse_prefix("10.0.0.0/8/8", &p),
	   "junk after the length, no address, nothing, /129, two lengths are refused");

	policy_parse_prefix("10.128.0.0/9", &p);
	inet_pton(AF_INET, "10.200.1.1", a);
	ok(pol_prefix_contains(&p, AF_INET, a), "10.200.1.1 is in 10.128.0.0/9");
	inet_pton(AF_INET, "10.127.255.255", a);
	ok(!pol_prefix_contains(&p, AF_INET, a), "10.127.255.255 is not");
	inet_pton(AF_INET6, "::ffff:10.200.1.1", a);
	ok(pol_prefix_contains(&p, AF_INET6, a), "::ffff:10.200.1.1 is, as IPv4");
	inet_pton(AF_INET6, "::a80:0", a);
	ok(!pol_prefix_contains(&p, AF_INET6, a), "::10.128.0.0 (IPv4-compatible) is not");
	policy_parse_prefix("0.0.0.0/0", &p);
	inet_pton(AF_INET6, "2001:db8::1", a);
	ok(!pol_prefix_contains(&p, AF_INET6, a), "0.0.0.0/0 holds no IPv6 address");
	policy_parse_prefix("fd01::/63", &p);
	inet_pton(AF_INET6, "fd01:0:0:1::5", a);
	ok(pol_prefix_contains(&p, AF_INET6, a), "fd01:0:0:1::5 is in fd01::/63");
	inet_pton(AF_INET6, "fd01:0:0:2::", a);
	ok(!pol_prefix_contains(&p, AF_INET6, a), "fd01:0:0:2:: is not");
}

/* Classes, modes and paths read back: the helpers the daemon asks. */
static void test_lookups(void)
{
	static const char *const base =
		"{\"role\": \"hag\", \"interfaces\": {\"access\": [\"dsl\", \"lte\"], \"wan\": [\"wan\"]}, "
		"\"classes\": {\"gold\": {\"max_sessions\": 5}}, "
		"\"subscribers\": [\"10.0.0.0/8\", {\"prefix\": \"10.1.0.0/16\", \"class\": \"gold\"}, "
		"{\"prefix\": \"10.1.2.0/24\", \"class\": \"default\"}, {\"prefix\": \"fd00::/8\", \"class\": \"gold\"}], "
		"\"endpoints\": [{\"address\": \"10.3.0.2\", \"interface\": \"lte\", \"flags\": [\"signal\"], \"port\": 7011}], "
		"\"paths\": [{\"name\": \"fixed\", \"interface\": \"dsl\", \"access\": \"dsl\", \"rate_mbit\": 30}, "
		"{\"name\": \"mobile\", \"interface\": \"lte\", \"access\": \"5g\", \"priority\": \"backup\"}], "
		"\"modes\": {\"default\": \"hybrid\", \"rules\": ["
		"{\"destinations\": [\"198.51.100.0/24\"], \"ports\": [443], \"mode\": \"transparent\"}, "
		"{\"destinations\": [\"198.51.100.0/25\", \"2001:db8::/32\"], \"mode\": \"take_over\"}, "
		"{\"ports\": [8443], \"mode\": \"transparent\"}]}}";
	struct policy p;
	__u8 a[16];

	if (!ok(load_text(base, &p) == 0, "a HAG with classes, modes, paths and a backup path loads"))
		diag("%s", err);
	inet_pton(AF_INET, "10.1.2.3", a);
	is_int(policy_subscriber_class(&p, AF_INET, a), 0, "longest prefix: 10.1.2.3 (10.1.2.0/24) is default");
	inet_pton(AF_INET, "10.1.3.3", a);
	is_int(policy_subscriber_class(&p, AF_INET, a), 1, "10.1.3.3 (10.1.0.0/16) is gold");
	inet_pton(AF_INET, "10.9.9.9", a);
	is_int(policy_subscriber_class(&p, AF_INET, a), 0, "10.9.9.9 (10.0.0.0/8) is default");
	inet_pton(AF_INET6, "::ffff:10.1.3.3", a);
	is_int(policy_subscriber_class(&p, AF_INET6, a), 1, "::ffff:10.1.3.3 is 10.1.3.3: gold");
	inet_pton(AF_INET6, "fd12::1", a);
	is_int(policy_subscriber_class(&p, AF_INET6, a), 1, "fd12::1 is gold");
	inet_pton(AF_INET, "11.0.0.1", a);
	is_int(policy_subscriber_class(&p, AF_INET, a), -1, "11.0.0.1 is no subscriber");

	inet_pton(AF_INET, "198.51.100.5", a);
	is_int(policy_mode_for(&p, AF_INET, a, 443), XMCP_MODE_TRANSPARENT, "the first matching rule wins (:443)");
	is_int(policy_mode_for(&p, AF_INET, a, 80), XMCP_MODE_TAKE_OVER, "the second matches :80 in its /25");
	inet_pton(AF_INET, "198.51.100.200", a);
	is_int(policy_mode_for(&p, AF_INET, a, 80), XMCP_MODE_HYBRID, "outside the /25: the default");
	is_int(policy_mode_for(&p, AF_INET, a, 8443), XMCP_MODE_TRANSPARENT, "a rule without destinations matches any");
	inet_pton(AF_INET6, "::ffff:198.51.100.5", a);
	is_int(policy_mode_for(&p, AF_INET6, a, 443), XMCP_MODE_TRANSPARENT, "an IPv4-mapped destination is IPv4");
	inet_pton(AF_INET6, "2001:db8:1::1", a);
	is_int(policy_mode_for(&p, AF_INET6, a, 22), XMCP_MODE_TAKE_OVER, "an IPv6 destination of a rule");

	const struct pol_path *path = policy_path_of(&p, "lte");

	ok(path && !strcmp(path->name, "mobile") && path->backup && !strcmp(path->access, "5g"), "lte is mobile, 5g, backup");
	ok(p.endpoints[0].flags == (MPTCP_PM_ADDR_FLAG_SIGNAL | MPTCP_PM_ADDR_FLAG_BACKUP),
	   "a backup path puts the backup flag on its device's endpoint");
	path = policy_path_of(&p, "dsl");
	ok(path && path->rate_mbit == 30 && !path->backup, "dsl is fixed, 30 Mbit/s, primary");
	ok(!policy_path_of(&p, "wan"), "wan is no path");
	ok(!strcmp(policy_role_name(POL_ROLE_HCPE), "hcpe") && !strcmp(policy_role_name(POL_ROLE_HAG), "hag") &&
		   !strcmp(policy_role_name(POL_ROLE_MCP), "mcp"),
	   "the roles' names");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path), 0;
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/xmcp-unit-policy.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(file, sizeof(file), "%s/p.json", dir);
	test_bad_values();
	test_bad_files();
	test_defaults();
	test_bounds();
	test_examples();
	test_reload_comparable();
	test_fixed_fields();
	test_anycast_fixed();
	test_announce_fixed();
	test_prefixes();
	test_lookups();
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
