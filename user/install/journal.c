// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>

#include "kernel/datapath.h"
#include "install/journal.h"
#include "kernel/netlink.h"
#include "kernel/pins.h"
#include "lib/util.h"
#include "xmcp_maps.h"

static const char *const op_names[] = {
	[J_PINS] = "pins",	   [J_DEVICE] = "device", [J_RULE] = "rule",     [J_ROUTE] = "route", [J_PATH_ROUTE] = "path_route",
	[J_ENDPOINT] = "endpoint", [J_ENDPOINT_GONE] = "endpoint_gone",	  [J_LIMITS] = "limits",
	[J_SYSCTL] = "sysctl",	   [J_FILE] = "file",
};
#define N_OPS (sizeof(op_names) / sizeof(op_names[0]))

const char *xmcp_run_dir_path = XMCP_RUN_DIR;

int xmcp_run_file(char *buf, size_t size, const char *kind, const char *ext)
{
	__u64 ino;
	int err = xmcp_netns_ino(&ino);

	if (err)
		return err;
	snprintf(buf, size, "%s/%s-%llu.%s", xmcp_run_dir_path, kind, (unsigned long long)ino, ext);
	return 0;
}

int xmcp_run_dir(void)
{
	struct stat st;

	if (mkdir(xmcp_run_dir_path, 0755) && errno != EEXIST) {
		xmcp_err("cannot create %s: %s", xmcp_run_dir_path, strerror(errno));
		return -1;
	}
	if (lstat(xmcp_run_dir_path, &st)) {
		xmcp_err("cannot read %s: %s", xmcp_run_dir_path, strerror(errno));
		return -1;
	}
	/* only root may put anything there: a control socket, a journal, are trusted */
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		xmcp_err("%s is not a directory only root can write (uid %u, mode %04o): refusing to use it",
			 xmcp_run_dir_path, st.st_uid, st.st_mode & 07777);
		return -1;
	}
	return 0;
}

/* ---- the file ---- */

static json_object *entry_json(const struct journal_entry *e)
{
	json_object *o = json_object_new_object();
	char addr[INET6_ADDRSTRLEN] = "";

	json_object_object_add(o, "op", json_object_new_string(op_names[e->op]));
	json_object_object_add(o, "family", json_object_new_int(e->family));
	json_object_object_add(o, "a", json_object_new_int64(e->a));
	json_object_object_add(o, "b", json_object_new_int64(e->b));
	json_object_object_add(o, "c", json_object_new_int64(e->c));
	json_object_object_add(o, "value", json_object_new_int64(e->value));
	json_object_object_add(o, "text", json_object_new_string(e->text));
	if (e->op == J_ENDPOINT || e->op == J_ENDPOINT_GONE) {
		if (e->ep.family)
			inet_ntop(e->ep.family, e->ep.addr, addr, sizeof(addr));
		json_object_object_add(o, "ep_family", json_object_new_int(e->ep.family));
		json_object_object_add(o, "ep_addr", json_object_new_string(addr));
		json_object_object_add(o, "ep_id", json_object_new_int(e->ep.id));
		json_object_object_add(o, "ep_flags", json_object_new_int64(e->ep.flags));
		json_object_object_add(o, "ep_ifindex", json_object_new_int(e->ep.ifindex));
		json_object_object_add(o, "ep_port", json_object_new_int(e->ep.port));
	}
	return o;
}

/* A string of the journal; "" for a null (json-c gives NULL for it). */
static const char *text(json_object *v)
{
	return json_object_get_string(v) ?: "";
}

static long long num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* One entry of a journal read back; -1 when it is not one. */
static int entry_parse(json_object *o, struct journal_entry *e)
{
	json_object *v;
	unsigned int i;

	memset(e, 0, sizeof(*e));
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "op", &v))
		return -1;
	for (i = 0; i < N_OPS && strcmp(op_names[i], text(v)); i++)
		;
	if (i == N_OPS)
		return -1;
	e->op = i;
	e->family = num(o, "family");
	e->a = num(o, "a");
	e->b = num(o, "b");
	e->c = num(o, "c");
	e->value = num(o, "value");
	if (json_object_object_get_ex(o, "text", &v))
		snprintf(e->text, sizeof(e->text), "%s", text(v));
	e->ep.family = num(o, "ep_family");
	e->ep.id = num(o, "ep_id");
	e->ep.flags = num(o, "ep_flags");
	e->ep.ifindex = num(o, "ep_ifindex");
	e->ep.port = num(o, "ep_port");
	if (e->ep.family && json_object_object_get_ex(o, "ep_addr", &v))
		inet_pton(e->ep.family, text(v), e->ep.addr);
	return 0;
}

/* The whole journal to its file, through a temporary name. */
static int journal_write(const struct journal *j)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char tmp[160];
	unsigned int i;
	int err;

	json_object_object_add(o, "pid", json_object_new_int(j->pid));
	json_object_object_add(o, "start", json_object_new_uint64(j->start));
	json_object_object_add(o, "netns_cookie", json_object_new_uint64(j->netns_cookie));
	json_object_object_add(o, "pin_dir", json_object_new_string(j->pin_dir));
	for (i = 0; i < j->n; i++)
		json_object_array_add(arr, entry_json(&j->e[i]));
	json_object_object_add(o, "entries", arr);
	snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
	err = json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PRETTY) || rename(tmp, j->path) ? -1 : 0;
	json_object_put(o);
	if (err)
		xmcp_err("cannot write the journal %s: %s", j->path, strerror(errno));
	return err;
}

/* The journal at path into j; 0, or -1 (after saying why when it is there but unreadable). */
static int journal_read(struct journal *j, const char *path)
{
	json_object *o, *arr, *v;
	size_t i, n;

	memset(j, 0, sizeof(*j));
	snprintf(j->path, sizeof(j->path), "%s", path);
	if (access(path, F_OK))
		return -1;
	o = json_object_from_file(path);
	if (!o || !json_object_is_type(o, json_type_object)) {
		xmcp_err("%s is unreadable: remove it by hand once you have undone what it records", path);
		json_object_put(o);
		return -1;
	}
	j->pid = num(o, "pid");
	if (json_object_object_get_ex(o, "start", &v))
		j->start = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "netns_cookie", &v))
		j->netns_cookie = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "pin_dir", &v))
		snprintf(j->pin_dir, sizeof(j->pin_dir), "%s", text(v));
	arr = xmcp_json_array(o, "entries");
	n = arr ? json_object_array_length(arr) : 0;
	j->e = calloc(n ? n : 1, sizeof(*j->e));
	for (i = 0; j->e && i < n; i++)
		if (!entry_parse(json_object_array_get_idx(arr, i), &j->e[j->n]))
			j->n++;
	j->cap = n;
	json_object_put(o);
	return j->e ? 0 : -1;
}

/* ---- recording ---- */


/* This namespace's cookie, which the kernel never gives another; 0 where it can't say (before 5.14). */
static __u64 netns_cookie(void)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
			cookie = 0;
		close(fd);
	}
	return cookie;
}

int journal_open(struct journal *j, const char *pin_dir)
{
	char state;

	memset(j, 0, sizeof(*j));
	j->pid = getpid();
	j->start = xmcp_proc_start(j->pid, &state);
	j->netns_cookie = netns_cookie();
	snprintf(j->pin_dir, sizeof(j->pin_dir), "%s", pin_dir);
	if (xmcp_run_dir() || xmcp_run_file(j->path, sizeof(j->path), "run", "json"))
		return -1;
	return journal_write(j);
}

int journal_record(struct journal *j, const struct journal_entry *e)
{
	if (j->n == j->cap) {
		unsigned int cap = j->cap ? 2 * j->cap : 16;
		struct journal_entry *ne = realloc(j->e, cap * sizeof(*ne));

		if (!ne)
			return -1;
		j->e = ne;
		j->cap = cap;
	}
	j->e[j->n++] = *e;
	if (journal_write(j)) {
		j->n--;
		return -1;
	}
	return 0;
}

void journal_forget_last(struct journal *j)
{
	if (j->n) {
		j->n--;
		journal_write(j);
	}
}

int journal_update_last(struct journal *j, const struct journal_entry *e)
{
	if (!j->n)
		return -1;
	j->e[j->n - 1] = *e;
	return journal_write(j);
}

struct journal_entry *journal_find(struct journal *j, enum journal_op op, __u32 key)
{
	unsigned int i;

	for (i = j->n; i-- > 0;) {
		struct journal_entry *e = &j->e[i];

		if (e->op == op && (op == J_ENDPOINT || op == J_ENDPOINT_GONE ? e->ep.id == key : e->a == key))
			return e;
	}
	return NULL;
}

bool journal_has(const struct journal *j, enum journal_op op)
{
	unsigned int i;

	for (i = 0; i < j->n; i++)
		if (j->e[i].op == op)
			return true;
	return false;
}

unsigned int journal_mark(const struct journal *j)
{
	return j->n;
}

/* ---- undoing ---- */

/* A device's programs and shaping, unless its index now names another device. */
static void undo_device(const struct journal *j, const struct journal_entry *e)
{
	char name[IF_NAMESIZE];
	int reg_fd;

	if (!if_indextoname(e->a, name) || strcmp(name, e->text))
		return; /* gone, or the index reused: nothing of ours there */
	dp_detach(e->a, e->text, e->b);
	reg_fd = pins_open_map_quiet(j->pin_dir, XMCP_STR(XMCP_MAP_IFACES));
	if (reg_fd >= 0) {
		bpf_map_delete_elem(reg_fd, &e->a);
		close(reg_fd);
	}
}

/* The pins, when no device is left recorded in them (`xmcp attach` may share the directory). */
static void undo_pins(const struct journal_entry *e)
{
	struct xmcp_pins pins;
	int reg_fd;

	if (pins_lock(&pins, e->text, false))
		return;
	reg_fd = pins_open_map_quiet(e->text, XMCP_STR(XMCP_MAP_IFACES));
	if (reg_fd < 0 || dp_registry_empty(reg_fd))
		pins_remove_all(&pins);
	if (reg_fd >= 0)
		close(reg_fd);
	pins_unlock(&pins);
}

/* The local default of the daemon's table, or one local address (text) in it; never the default for a bad address. */
static void undo_local_route(const struct journal_entry *e)
{
	__u8 addr[16];

	if (!e->text[0])
		nl_local_route(false, e->family, e->a, NULL);
	else if (inet_pton(e->family, e->text, addr) == 1)
		nl_local_route(false, e->family, e->a, addr);
}

static void undo(const struct journal *j, const struct journal_entry *e)
{
	switch (e->op) {
	case J_PINS:
		undo_pins(e);
		break;
	case J_DEVICE:
		undo_device(j, e);
		break;
	case J_RULE:
		nl_fwmark_rule(false, e->family, e->a, e->b, e->c, e->value);
		break;
	case J_ROUTE:
		undo_local_route(e);
		break;
	case J_PATH_ROUTE:
		nl_path_default(false, e->family, e->a, 0, NULL);
		break;
	case J_ENDPOINT:
		pm_del_endpoint(e->ep.id);
		break;
	case J_ENDPOINT_GONE:
		if (pm_add_endpoint(&e->ep))
			xmcp_err("could not add MPTCP endpoint %u back", e->ep.id);
		break;
	case J_LIMITS:
		pm_set_limits(e->a, e->b);
		break;
	case J_SYSCTL:
		xmcp_sysctl_set(e->text, e->value);
		break;
	case J_FILE:
		unlink(e->text);
		break;
	}
}

void journal_undo_to(struct journal *j, unsigned int mark)
{
	while (j->n > mark) {
		undo(j, &j->e[j->n - 1]);
		j->n--;
	}
	journal_write(j);
}

/* Was an endpoint of this id removed for good by the entries from mark on? */
static bool gone_since(const struct journal *j, unsigned int mark, __u8 id)
{
	unsigned int i;

	for (i = mark; i < j->n; i++)
		if (j->e[i].op == J_ENDPOINT_GONE && j->e[i].ep.id == id)
			return true;
	return false;
}

void journal_commit(struct journal *j, unsigned int mark)
{
	unsigned int i, n = 0;

	for (i = 0; i < j->n; i++) {
		const struct journal_entry *e = &j->e[i];

		/* removed for good: not to be added back, nor removed at the end (a newer add stays) */
		if (i >= mark && e->op == J_ENDPOINT_GONE)
			continue;
		if (i < mark && e->op == J_ENDPOINT && gone_since(j, mark, e->ep.id))
			continue;
		j->e[n++] = *e;
	}
	j->n = n;
	journal_write(j);
}

void journal_close(struct journal *j)
{
	journal_undo_to(j, 0);
	unlink(j->path);
	rmdir(xmcp_run_dir_path); /* only when no other namespace's daemon left anything */
	free(j->e);
	j->e = NULL;
	j->n = j->cap = 0;
}

/*
 * Is the journal's daemon still running? Not if its pid is gone, is a
 * zombie its parent has not reaped yet (a daemon killed with SIGKILL is one
 * until then, and kill(pid, 0) succeeds on it), is on its way to being one
 * ('X': killed, still closing its files), or started at another time
 * than the daemon did: the pid now names another process, whatever its
 * name (anyone can call a program "xmcp").
 */
static bool daemon_alive(const struct journal *j)
{
	char state = 0;
	__u64 start;

	if (j->pid <= 0)
		return false;
	start = xmcp_proc_start(j->pid, &state);
	/* a journal of an older xmcp has no start time: a live pid is taken to be it */
	return start && state != 'Z' && state != 'X' && (start == j->start || !j->start);
}

/*
 * A journal whose namespace is not this one: namespace inodes are reused
 * once a namespace is gone, so the file named after this one's inode can
 * be a dead namespace's. Its rules, routes, endpoints, limits and devices
 * died with that namespace (undoing them here would change this one's).
 */
static bool foreign(const struct journal *j)
{
	__u64 mine = netns_cookie();

	return j->netns_cookie && mine && j->netns_cookie != mine;
}

/* Of a dead namespace's journal, undo only what lives outside namespaces: pins and files. */
static void undo_foreign(struct journal *j)
{
	unsigned int i, n = 0;

	xmcp_err("%s was left by a daemon of a network namespace that no longer exists: "
		 "removing its pins and files only", j->path);
	for (i = 0; i < j->n; i++)
		if (j->e[i].op == J_PINS || j->e[i].op == J_FILE)
			j->e[n++] = j->e[i];
	j->n = n;
}

pid_t journal_daemon(void)
{
	struct journal j;
	char path[128];
	pid_t pid = 0;

	if (!xmcp_run_file(path, sizeof(path), "run", "json") && !journal_read(&j, path)) {
		if (!foreign(&j) && daemon_alive(&j))
			pid = j.pid;
		free(j.e);
	}
	return pid;
}

int journal_recover(pid_t *pid)
{
	struct journal j;
	char path[128];

	*pid = 0;
	if (xmcp_run_file(path, sizeof(path), "run", "json"))
		return -1;
	if (access(path, F_OK))
		return 0;
	if (journal_read(&j, path))
		return -1;
	*pid = j.pid;
	if (foreign(&j))
		undo_foreign(&j);
	else if (daemon_alive(&j)) {
		free(j.e);
		return 1;
	}
	journal_close(&j);
	return 0;
}
