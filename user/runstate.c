// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mptcp_pm.h"
#include "netlink.h"
#include "runstate.h"
#include "util.h"

int runstate_file(char *buf, size_t size, const char *kind, const char *ext)
{
	__u64 ino;
	int err = xmcp_netns_ino(&ino);

	if (err)
		return err;
	snprintf(buf, size, RUNSTATE_DIR "/%s-%llu.%s", kind, (unsigned long long)ino, ext);
	return 0;
}

static int runstate_path(char *buf, size_t size)
{
	return runstate_file(buf, size, "run", "json");
}

int runstate_dir(void)
{
	struct stat st;

	if (mkdir(RUNSTATE_DIR, 0755) && errno != EEXIST) {
		xmcp_err("cannot create %s: %s", RUNSTATE_DIR, strerror(errno));
		return -1;
	}
	if (lstat(RUNSTATE_DIR, &st)) {
		xmcp_err("cannot read %s: %s", RUNSTATE_DIR, strerror(errno));
		return -1;
	}
	/* only root may put anything there: a control socket, a record, are trusted */
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		xmcp_err("%s is not a directory only root can write (uid %u, mode %04o): refusing to use it",
			 RUNSTATE_DIR, st.st_uid, st.st_mode & 07777);
		return -1;
	}
	return 0;
}

int runstate_save(const struct runstate *rs)
{
	json_object *o = json_object_new_object(), *ids = json_object_new_array();
	char path[128], tmp[140];
	unsigned int i;
	int err;

	if ((err = runstate_path(path, sizeof(path))))
		return err;
	if (runstate_dir())
		return -EPERM;
	json_object_object_add(o, "pid", json_object_new_int(rs->pid));
	json_object_object_add(o, "fwmark", json_object_new_int64(rs->fwmark));
	json_object_object_add(o, "table", json_object_new_int64(rs->table));
	json_object_object_add(o, "rule_priority", json_object_new_int64(rs->rule_priority));
	for (i = 0; i < rs->n_endpoints; i++)
		json_object_array_add(ids, json_object_new_int(rs->endpoint_ids[i]));
	json_object_object_add(o, "endpoint_ids", ids);
	if (rs->limits_saved) {
		json_object_object_add(o, "old_add_addr_accepted",
				       json_object_new_int64(rs->old_add_addr_accepted));
		json_object_object_add(o, "old_subflows", json_object_new_int64(rs->old_subflows));
	}
	if (rs->fastopen_saved)
		json_object_object_add(o, "old_tcp_fastopen", json_object_new_int64(rs->old_fastopen));
	/* write then rename: a reader never sees half a record */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	err = json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PRETTY) ? -EIO : 0;
	if (!err && rename(tmp, path))
		err = -errno;
	json_object_put(o);
	if (err)
		xmcp_err("cannot record the daemon's state in %s: %s", path, strerror(-err));
	return err;
}

static __u32 get_u32(json_object *o, const char *key, bool *found)
{
	json_object *v;

	*found = json_object_object_get_ex(o, key, &v);
	return *found ? (__u32)json_object_get_int64(v) : 0;
}

int runstate_load(struct runstate *rs)
{
	json_object *o, *ids;
	char path[128];
	bool found;
	size_t i;
	int err;

	memset(rs, 0, sizeof(*rs));
	if ((err = runstate_path(path, sizeof(path))))
		return err;
	if (access(path, F_OK))
		return -ENOENT;
	o = json_object_from_file(path);
	if (!o) {
		xmcp_err("%s is unreadable; remove it by hand", path);
		return -EINVAL;
	}
	rs->pid = get_u32(o, "pid", &found);
	rs->fwmark = get_u32(o, "fwmark", &found);
	rs->table = get_u32(o, "table", &found);
	rs->rule_priority = get_u32(o, "rule_priority", &found);
	rs->old_add_addr_accepted = get_u32(o, "old_add_addr_accepted", &rs->limits_saved);
	rs->old_subflows = get_u32(o, "old_subflows", &found);
	rs->old_fastopen = get_u32(o, "old_tcp_fastopen", &rs->fastopen_saved);
	if (json_object_object_get_ex(o, "endpoint_ids", &ids) &&
	    json_object_is_type(ids, json_type_array))
		for (i = 0; i < json_object_array_length(ids) && i < RUNSTATE_MAX_ENDPOINTS; i++)
			rs->endpoint_ids[rs->n_endpoints++] =
				json_object_get_int(json_object_array_get_idx(ids, i));
	json_object_put(o);
	return 0;
}

/*
 * Is the recorded daemon still running? Not if its pid is gone, belongs to
 * another program now, or is a zombie its parent has not reaped yet (a
 * daemon killed with SIGKILL is one until then, and kill(pid, 0) succeeds
 * on it).
 */
bool runstate_daemon_alive(const struct runstate *rs)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	if (rs->pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", rs->pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) state ...": the state follows the last ')' */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && strstr(buf, " (xmcp) ") == strchr(buf, ' ');
}

void runstate_remove(void)
{
	char path[128];

	if (!runstate_path(path, sizeof(path)))
		unlink(path);
	rmdir(RUNSTATE_DIR); /* only when no other namespace's daemon left a record */
}

void runstate_undo(const struct runstate *rs)
{
	unsigned int i;

	nl_fwmark_rule(false, AF_INET, rs->fwmark, rs->table, rs->rule_priority);
	nl_fwmark_rule(false, AF_INET6, rs->fwmark, rs->table, rs->rule_priority);
	nl_local_default(false, AF_INET, rs->table);
	nl_local_default(false, AF_INET6, rs->table);
	for (i = 0; i < rs->n_endpoints; i++)
		pm_del_endpoint(rs->endpoint_ids[i]);
	if (rs->limits_saved)
		pm_set_limits(rs->old_add_addr_accepted, rs->old_subflows);
	if (rs->fastopen_saved)
		xmcp_sysctl_set(RUNSTATE_SYSCTL_FASTOPEN, rs->old_fastopen);
}
