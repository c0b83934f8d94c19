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

#include "policy/parse.h"
#include "policy/policy.h"
#include "lib/util.h"
#include "xmcp_addr.h"
#include "xmcp_steer.h"

#define DEFAULT_LISTEN_PORT 0 /* the kernel picks a free one at start */
#define DEFAULT_MARK 0x786d
#define DEFAULT_TABLE 0x786d
#define DEFAULT_IDLE 300
#define DEFAULT_CONNECT_TIMEOUT 10
/* a head (MP_CONVERT framing) comes with the SYN or right after it: seconds are generous */
#define DEFAULT_HEAD_TIMEOUT 5

/* "metrics": "127.0.0.1:9786" or "[::1]:9786": loopback only, the counters are not for the world */
static int get_metrics(struct ctx *c, json_object *root, struct policy *p)
{
	static const __u8 lo6[16] = { [15] = 1 };
	const struct sockaddr_storage *ss = &p->metrics.sa;
	const __u8 *a;
	json_object *v;

	if (!json_object_object_get_ex(root, "metrics", &v))
		return 0;
	if (!json_object_is_type(v, json_type_string) || pol_parse_hostport(json_object_get_string(v), &p->metrics))
		return pol_bad(c, "metrics", "'%s' is not ADDRESS:PORT or [IPV6]:PORT", json_object_get_string(v));
	a = xmcp_sa_addr(ss);
	if (ss->ss_family == AF_INET ? a[0] != 127 : memcmp(a, lo6, 16))
		return pol_bad(c, "metrics", "'%s' is not a loopback address (127.0.0.0/8 or [::1])",
			   json_object_get_string(v));
	p->has_metrics = true;
	return 0;
}

static int get_role(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const roles[] = { "hcpe", "hag", "mcp", NULL };
	int role;

	if (pol_get_choice(c, root, "role", roles, -1, &role))
		return -1;
	if (role < 0)
		return pol_bad(c, "role", "missing (hcpe, hag or mcp)");
	p->role = role;
	return 0;
}

static int get_interfaces(struct ctx *c, json_object *root, struct policy *p)
{
	static const char *const keys[] = { "lan", "access", "wan", NULL };
	json_object *ifs;

	if (!json_object_object_get_ex(root, "interfaces", &ifs))
		return pol_bad(c, "interfaces", "missing");
	if (!json_object_is_type(ifs, json_type_object))
		return pol_bad(c, "interfaces", "must be an object with lan, access, wan");
	if (pol_only_keys(c, ifs, "interfaces", keys) || pol_get_ifs(c, ifs, "lan", &p->lan) ||
	    pol_get_ifs(c, ifs, "access", &p->access) || pol_get_ifs(c, ifs, "wan", &p->wan))
		return -1;
	if (!p->access.n)
		return pol_bad(c, "interfaces.access", "at least one access interface is needed");
	if (p->role == POL_ROLE_HCPE && !p->lan.n)
		return pol_bad(c, "interfaces.lan", "an HCPE needs its LAN interface");
	if (p->role != POL_ROLE_HCPE && !p->wan.n)
		return pol_bad(c, "interfaces.wan", "a HAG or MCP needs its interface toward the servers");
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
		return pol_bad(c, key, "must be a group's name");
	g = getgrnam(name);
	if (!g)
		return pol_bad(c, key, "no group '%s' on this system", name);
	if (g->gr_gid == 0)
		return pol_bad(c, key, "the root group is root's already: leave control_group out");
	*gid = g->gr_gid;
	return 0;
}

/*
 * A congestion control's name as the kernel spells them: lower case,
 * digits, '_' (whether this kernel has it is for the daemon to try).
 */
static int get_mptcp_cc(struct ctx *c, json_object *root, struct policy *p)
{
	const char *s;
	size_t n;

	if (pol_get_string(c, root, "mptcp_congestion", &s))
		return -1;
	p->mptcp_cc_default = !s;
	if (!s)
		s = POL_DEFAULT_MPTCP_CC;
	n = strlen(s);
	if (!n || n >= sizeof(p->mptcp_cc) || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return pol_bad(c, "mptcp_congestion", "\"%s\" is not a congestion control's name "
			       "(1-15 of a-z, 0-9, _; net.ipv4.tcp_available_congestion_control lists them)", s);
	memcpy(p->mptcp_cc, s, n + 1);
	return 0;
}

static int get_misc(struct ctx *c, json_object *root, struct policy *p)
{
	long long v;

	if (pol_get_uint(c, root, "listen_port", 0, 65535, DEFAULT_LISTEN_PORT, &v))
		return -1;
	p->listen_port = v;
	if (pol_get_uint(c, root, "workers", 0, XMCP_MAX_WORKERS, 0, &v))
		return -1;
	p->workers = v;
	if (pol_get_uint(c, root, "fwmark", 1, 0xffffffffLL, DEFAULT_MARK, &v))
		return -1;
	p->fwmark = v;
	if (pol_get_uint(c, root, "table", 1, 0xffffffffLL, DEFAULT_TABLE, &v))
		return -1;
	if (v == 253 || v == 254 || v == 255)
		return pol_bad(c, "table", "%lld is a table the kernel uses (default, main, local)", v);
	p->table = v;
	if (pol_get_uint(c, root, "idle_timeout", 1, 86400 * 7, DEFAULT_IDLE, &v))
		return -1;
	p->idle_timeout = v;
	if (pol_get_uint(c, root, "connect_timeout", 1, 300, DEFAULT_CONNECT_TIMEOUT, &v))
		return -1;
	p->connect_timeout = v;
	if (pol_get_uint(c, root, "head_timeout", 1, 300, DEFAULT_HEAD_TIMEOUT, &v))
		return -1;
	p->head_timeout = v;
	if (get_mptcp_cc(c, root, p))
		return -1;
	if (get_group(c, root, "control_group", &p->control_gid))
		return -1;
	static const char *const xdp_modes[] = { "auto", "native", "generic", "tc", NULL };
	static const char *const markers[] = { "none", "mp_convert", NULL };
	static const char *const relays[] = { "splice", "copy", NULL };
	static const char *const tcp_pairs[] = { "relay", "sockmap", NULL };
	int mode, marker, relay, tcp;

	if (pol_get_choice(c, root, "xdp_mode", xdp_modes, 0, &mode) ||
	    pol_get_choice(c, root, "marker", markers, 0, &marker) ||
	    pol_get_choice(c, root, "relay", relays, 0, &relay) ||
	    pol_get_choice(c, root, "tcp_pairs", tcp_pairs, 0, &tcp) ||
	    pol_get_bool(c, root, "terminate_tcp", &p->terminate_tcp) ||
	    pol_get_bool(c, root, "origin_check", &p->origin_check))
		return -1;
	if (p->origin_check && p->role != POL_ROLE_HAG)
		return pol_bad(c, "origin_check", "only a HAG has it to choose (an MCP always checks)");
	p->xdp_mode = mode;
	p->marker = marker == 1;
	p->relay_copy = relay == 1;
	if (p->terminate_tcp && p->role != POL_ROLE_HAG)
		return pol_bad(c, "terminate_tcp", "only a HAG terminates plain TCP");
	/*
	 * Measured on kernel 6.18 (docs/policy.md): the sk_skb egress redirect
	 * has no back-pressure (a stalled reader let the sender push GBs into
	 * kernel memory), and bounding it needs userspace to take a direction
	 * over from a socket the verdict still serves, which duplicated bytes
	 * at the server (7 of 30 runs under load). With native XDP the
	 * redirected bytes were sometimes stale memory. So no sockmap here.
	 */
	if (tcp == 1)
		return pol_bad(c, "tcp_pairs", "sockmap is refused on this kernel: unbounded without a userspace "
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
	static const char *const keys[] = { "role",	  "listen_port", "workers", "fwmark",	"table",
					    "idle_timeout", "connect_timeout", "xdp_mode",	 "interfaces",	"subscribers",
					    "marker",	  "endpoints",	 "limits",	"relay",
					    "tcp_pairs",  "terminate_tcp", "forbidden", "downstream",
					    "transparent_source", "classes", "modes", "paths", "metrics",
					    "origin_check", "head_timeout", "control_group", "mptcp_congestion", "health", "anycast", "announce", NULL };
	struct ctx c = { .file = path };
	json_object *root;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	root = read_policy_file(path);
	if (!root)
		return -1;
	if (!json_object_is_type(root, json_type_object)) {
		pol_bad(&c, "(top)", "must be a JSON object");
		goto out;
	}
	if (pol_only_keys(&c, root, "", keys) || get_role(&c, root, p) || get_interfaces(&c, root, p) ||
	    pol_get_subscribers(&c, root, p) || get_misc(&c, root, p) || pol_get_endpoints(&c, root, p) ||
	    pol_get_downstream(&c, root, p) || pol_get_modes(&c, root, p) ||
	    pol_get_limits(&c, root, p) || pol_get_paths(&c, root, p) || pol_get_health(&c, root, p) ||
	    pol_get_anycast(&c, root, p) || pol_get_announce(&c, root, p) || get_metrics(&c, root, p))
		goto out;
	if (p->role != POL_ROLE_HCPE && !p->n_subscribers) {
		pol_bad(&c, "subscribers", "a HAG or MCP serves only subscriber prefixes: list them");
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

/* The first field a live reload can't change (a restart can), or NULL. */
const char *policy_fixed_field(const struct policy *a, const struct policy *b)
{
#define SAME(f) (!memcmp(&a->f, &b->f, sizeof(a->f)))
	if (!SAME(role))
		return "role";
	if (!SAME(lan) || !SAME(access) || !SAME(wan))
		return "interfaces";
	if (!SAME(listen_port) || !SAME(fwmark) || !SAME(table))
		return "listen_port, fwmark or table";
	if (!SAME(workers))
		return "workers";
	if (!SAME(xdp_mode) || !SAME(marker) || !SAME(relay_copy) ||
	    !SAME(terminate_tcp) || !SAME(origin_check))
		return "xdp_mode, marker, relay, tcp_pairs, terminate_tcp or origin_check";
	if (!SAME(n_paths) || !SAME(paths))
		return "paths";
	if (!SAME(health))
		return "health";
	if (!SAME(announce))
		return a->role == POL_ROLE_HAG ? "announce" : "anycast";
	if (!SAME(has_metrics) || !SAME(metrics))
		return "metrics";
	if (!SAME(control_gid))
		return "control_group";
	if (!SAME(has_modes))
		return "modes (present or not)";
	if ((a->n_classes > 0) != (b->n_classes > 0))
		return "classes (present or not)";
	if (!SAME(off_path) || !SAME(n_mcps) || !SAME(mcps) || !SAME(connect_timeout_ms) ||
	    !SAME(retry_after))
		return "downstream";
	return NULL;
#undef SAME
}
