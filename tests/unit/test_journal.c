// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the undo journal (user/install/journal.c): what it writes, the
 * bookkeeping of a reload (mark, undo, commit), undo newest first, and
 * recovery from a journal left by another process (dead, alive, a zombie,
 * a reused pid, a dead namespace's), or one that is cut off or corrupt.
 *
 * The journal lives in a temporary directory (xmcp_run_dir_path), never in
 * /run/xmcp. Only entries whose undo stays in that directory are undone
 * here: J_SYSCTL (writes a value to a file: here a plain file) and J_FILE
 * (removes a file). The other undos change the system (rules, routes,
 * endpoints, limits, devices, pins): the bats suites see those, in
 * namespaces; here such entries are written and read back, never undone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "install/journal.h"
#include "tap.h"
#include "lib/util.h"

static char run_dir[80], work[64], jpath[160], err[4096];

/* Silence stderr into err[] around a call (its messages are checked, not shown). */
static int saved_fd = -1, cap_fd = -1;

static void capture(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/stderr", work);
	fflush(stderr);
	cap_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	saved_fd = dup(2);
	dup2(cap_fd, 2);
	unlink(path);
}

static const char *captured(void)
{
	ssize_t n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	n = pread(cap_fd, err, sizeof(err) - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(cap_fd);
	return err;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
}

/* The file's first line as a number; -1 when it is not there. */
static long value_of(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -2;
		fclose(f);
	}
	return v;
}

static bool exists(const char *path)
{
	return !access(path, F_OK);
}

static struct journal_entry sysctl_entry(const char *path, long old)
{
	struct journal_entry e = { .op = J_SYSCTL, .value = old };

	snprintf(e.text, sizeof(e.text), "%s", path);
	return e;
}

static struct journal_entry file_entry(const char *path)
{
	struct journal_entry e = { .op = J_FILE };

	snprintf(e.text, sizeof(e.text), "%s", path);
	return e;
}

static json_object *read_json(void)
{
	return json_object_from_file(jpath);
}

static json_object *entry_at(json_object *root, size_t i)
{
	json_object *arr;

	if (!root || !json_object_object_get_ex(root, "entries", &arr) || i >= json_object_array_length(arr))
		return NULL;
	return json_object_array_get_idx(arr, i);
}

static long long num(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -12345;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static size_t n_entries(void)
{
	json_object *root = read_json(), *arr;
	size_t n = (size_t)-1;

	if (root && json_object_object_get_ex(root, "entries", &arr))
		n = json_object_array_length(arr);
	json_object_put(root);
	return n;
}

/* This namespace's cookie, as journal.c reads it. */
static __u64 my_cookie(void)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
	close(fd);
	return cookie;
}

/* What journal_open writes, and every entry written as it was recorded. */
static void test_write(void)
{
	struct journal j;
	struct journal_entry e;
	json_object *root, *o;

	if (!ok(journal_open(&j, "/sys/fs/bpf/xmcp-unit") == 0, "journal_open in a directory of ours"))
		return;
	is_str(j.path, jpath, "the journal is RUN_DIR/run-<netns inode>.json");
	root = read_json();
	ok(root != NULL, "it is written at once, as JSON");
	is_int(num(root, "pid"), getpid(), "... with our pid");
	ok(num(root, "start") > 0, "... the pid's start time");
	ok((__u64)num(root, "netns_cookie") == my_cookie(), "... the namespace's cookie");
	is_str(str(root, "pin_dir"), "/sys/fs/bpf/xmcp-unit", "... the pin directory");
	is_int(n_entries(), 0, "... and no entry");
	json_object_put(root);

	e = (struct journal_entry){ .op = J_RULE, .family = AF_INET6, .a = 0x786d, .b = 0x786e, .c = 100 };
	ok(journal_record(&j, &e) == 0, "a rule recorded");
	e = (struct journal_entry){ .op = J_DEVICE, .a = 7, .b = 3 };
	snprintf(e.text, sizeof(e.text), "dsl");
	journal_record(&j, &e);
	e = (struct journal_entry){ .op = J_ENDPOINT_GONE,
				    .ep = { .family = AF_INET6, .id = 201, .flags = 5, .ifindex = 7, .port = 7011 } };
	inet_pton(AF_INET6, "fd03::2", e.ep.addr);
	journal_record(&j, &e);
	e = (struct journal_entry){ .op = J_LIMITS, .a = 2, .b = 8 };
	journal_record(&j, &e);
	e = sysctl_entry("/proc/sys/net/ipv4/tcp_fastopen", 1);
	journal_record(&j, &e);
	is_int(n_entries(), 5, "each record rewrites the file: 5 entries");
	root = read_json();
	o = entry_at(root, 0);
	ok(!strcmp(str(o, "op") ?: "", "rule") && num(o, "family") == AF_INET6 && num(o, "a") == 0x786d &&
		   num(o, "b") == 0x786e && num(o, "c") == 100,
	   "the rule: family, mark, table, priority");
	ok(!str(o, "ep_addr"), "... and no endpoint fields");
	o = entry_at(root, 1);
	ok(!strcmp(str(o, "op") ?: "", "device") && num(o, "a") == 7 && num(o, "b") == 3 &&
		   !strcmp(str(o, "text") ?: "", "dsl"),
	   "the device: ifindex, flags, name");
	o = entry_at(root, 2);
	ok(!strcmp(str(o, "op") ?: "", "endpoint_gone") && !strcmp(str(o, "ep_addr") ?: "", "fd03::2") &&
		   num(o, "ep_id") == 201 && num(o, "ep_flags") == 5 && num(o, "ep_ifindex") == 7 &&
		   num(o, "ep_port") == 7011 && num(o, "ep_family") == AF_INET6,
	   "the removed endpoint, all of it, its address as text");
	o = entry_at(root, 3);
	ok(!strcmp(str(o, "op") ?: "", "limits") && num(o, "a") == 2 && num(o, "b") == 8, "the limits");
	o = entry_at(root, 4);
	ok(!strcmp(str(o, "op") ?: "", "sysctl") && num(o, "value") == 1 &&
		   !strcmp(str(o, "text") ?: "", "/proc/sys/net/ipv4/tcp_fastopen"),
	   "the sysctl: path and old value");
	json_object_put(root);
	char tmp[200];

	snprintf(tmp, sizeof(tmp), "%s.tmp", jpath);
	ok(!exists(tmp), "no temporary file is left beside it");

	/* lookups */
	ok(journal_has(&j, J_LIMITS) && !journal_has(&j, J_ROUTE), "journal_has: limits yes, route no");
	ok(journal_find(&j, J_ENDPOINT_GONE, 201) == &j.e[2], "journal_find: an endpoint by its id");
	ok(!journal_find(&j, J_ENDPOINT_GONE, 7), "... not by another key");
	ok(journal_find(&j, J_DEVICE, 7) == &j.e[1] && !journal_find(&j, J_DEVICE, 8), "journal_find: a device by ifindex");
	e = (struct journal_entry){ .op = J_DEVICE, .a = 7, .b = 1 };
	journal_record(&j, &e);
	ok(journal_find(&j, J_DEVICE, 7) == &j.e[5], "... the newest of two");
	e.b = 9;
	ok(journal_update_last(&j, &e) == 0 && j.e[5].b == 9, "journal_update_last rewrites the newest");
	root = read_json();
	is_int(num(entry_at(root, 5), "b"), 9, "... in the file too");
	json_object_put(root);
	journal_forget_last(&j);
	ok(j.n == 5 && n_entries() == 5, "journal_forget_last drops it, in the file too");
	is_int(journal_mark(&j), 5, "journal_mark is the count of entries");

	/* none of these may be undone here: drop them, then close the empty journal */
	j.n = 0;
	journal_close(&j);
	ok(!exists(jpath), "journal_close removes the journal");
	ok(!exists(run_dir), "... and the run directory, empty now");
	mkdir(run_dir, 0700);
}

/* A reload's bookkeeping: endpoints a reload removed are kept only until it commits. */
static void test_commit(void)
{
	struct journal j;
	struct journal_entry e;
	unsigned int mark;

	if (!ok(journal_open(&j, "") == 0, "a journal for the reload bookkeeping"))
		return;
	e = (struct journal_entry){ .op = J_ENDPOINT, .ep = { .id = 200 } };
	journal_record(&j, &e);
	e.ep.id = 201;
	journal_record(&j, &e);
	mark = journal_mark(&j);
	/* the reload: 201 removed (to add back if it fails), 202 added */
	e = (struct journal_entry){ .op = J_ENDPOINT_GONE, .ep = { .id = 201 } };
	journal_record(&j, &e);
	e = (struct journal_entry){ .op = J_ENDPOINT, .ep = { .id = 202 } };
	journal_record(&j, &e);
	journal_commit(&j, mark);
	ok(j.n == 2 && j.e[0].ep.id == 200 && j.e[1].op == J_ENDPOINT && j.e[1].ep.id == 202,
	   "commit: 201, removed for good, is neither added back nor removed at the end; 200 and 202 stay");
	is_int(n_entries(), 2, "... and the file says so");

	/* a change of 200 (same id): removed, then added anew */
	mark = journal_mark(&j);
	e = (struct journal_entry){ .op = J_ENDPOINT_GONE, .ep = { .id = 200 } };
	journal_record(&j, &e);
	e = (struct journal_entry){ .op = J_ENDPOINT, .ep = { .id = 200, .port = 1 } };
	journal_record(&j, &e);
	journal_commit(&j, mark);
	ok(j.n == 2 && j.e[0].ep.id == 202 && j.e[1].ep.id == 200 && j.e[1].ep.port == 1,
	   "commit of a changed endpoint: the old add is gone, the new one stays, once");
	j.n = 0;
	journal_close(&j);
	mkdir(run_dir, 0700);
}

/* Undo runs newest first, from the mark on, and journal_close undoes all. */
static void test_undo_order(void)
{
	char f[128], g[128];
	struct journal j;
	struct journal_entry e;
	unsigned int mark;

	snprintf(f, sizeof(f), "%s/sysctl", work);
	snprintf(g, sizeof(g), "%s/sock", work);
	put(f, "0\n");
	if (!ok(journal_open(&j, "") == 0, "a journal of sysctl and file entries"))
		return;
	/* as the daemon would: record the old value, then set a new one */
	for (long v = 1; v <= 3; v++) {
		e = sysctl_entry(f, v - 1);
		journal_record(&j, &e);
	}
	mark = journal_mark(&j);
	e = sysctl_entry(f, 3);
	journal_record(&j, &e);
	e = sysctl_entry(f, 4);
	journal_record(&j, &e);
	put(f, "5\n");
	journal_undo_to(&j, mark);
	is_int(value_of(f), 3, "undo to a mark: the value before the oldest change since the mark");
	ok(j.n == mark && n_entries() == mark, "... only those entries are gone, from the file too");

	/* a file, then a sysctl on the same path: undone newest first, the file is there at the end */
	e = file_entry(g);
	journal_record(&j, &e);
	e = sysctl_entry(g, 77);
	journal_record(&j, &e);
	put(f, "9\n");
	capture();
	journal_close(&j);
	captured();
	is_int(value_of(f), 0, "journal_close: every sysctl back, newest first: the first old value is last");
	is_int(value_of(g), -1, "... the newest (a sysctl on g) undone before the older (removing g)");
	ok(!exists(jpath), "... then the journal removed");
	mkdir(run_dir, 0700);
	unlink(f);
}

/* A journal file written here by hand: pid, start time (0: none), cookie, entries (JSON text). */
static void write_journal(long long pid, unsigned long long start, unsigned long long cookie, const char *entries)
{
	char buf[2048], st[48] = "";

	if (start)
		snprintf(st, sizeof(st), "\"start\": %llu, ", start);
	snprintf(buf, sizeof(buf), "{\"pid\": %lld, %s\"netns_cookie\": %llu, \"pin_dir\": \"\", \"entries\": [%s]}",
		 pid, st, cookie, entries);
	put(jpath, buf);
}


/* A daemon that died (kill -9, a crash): the next start undoes what its journal says. */
static void test_recover_dead(void)
{
	char f[128], g[128];
	pid_t child, pid;
	int status;

	snprintf(f, sizeof(f), "%s/fastopen", work);
	snprintf(g, sizeof(g), "%s/control.sock", work);
	capture();
	pid = 99;
	ok(journal_recover(&pid) == 0 && pid == 0 && journal_daemon() == 0, "no journal: nothing to recover, no daemon");
	captured();

	put(f, "3\n");
	put(g, "");
	child = fork();
	if (child == 0) {
		struct journal j;
		struct journal_entry e = file_entry(g);

		if (journal_open(&j, "") || journal_record(&j, &e))
			_exit(1);
		e = sysctl_entry(f, 1);
		_exit(journal_record(&j, &e) ? 1 : 0); /* and never closes it */
	}
	waitpid(child, &status, 0);
	ok(WIFEXITED(status) && !WEXITSTATUS(status) && exists(jpath), "another process wrote its journal and died");
	is_int(journal_daemon(), 0, "journal_daemon: its daemon is not running");
	capture();
	is_int(journal_recover(&pid), 0, "journal_recover undoes it");
	captured();
	is_int(pid, child, "... and says whose it was");
	is_int(value_of(f), 1, "... the sysctl has its old value back");
	ok(!exists(g), "... the file is removed");
	ok(!exists(jpath), "... then the journal");
	mkdir(run_dir, 0700);
	unlink(f);
}

/* A daemon that runs: its journal is left alone, until it is a zombie. */
static void test_recover_alive(void)
{
	char f[128];
	int go[2], ready[2], status;
	pid_t child, pid;
	char c = 0, state = 0;

	snprintf(f, sizeof(f), "%s/fastopen", work);
	put(f, "3\n");
	if (pipe(go) || pipe(ready))
		return;
	child = fork();
	if (child == 0) {
		struct journal j;
		struct journal_entry e = sysctl_entry(f, 1);

		if (journal_open(&j, "") || journal_record(&j, &e))
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	ok(read(ready[0], &c, 1) == 1, "another process wrote its journal and runs");
	is_int(journal_daemon(), child, "journal_daemon names it");
	capture();
	is_int(journal_recover(&pid), 1, "journal_recover: its daemon still runs");
	captured();
	is_int(pid, child, "... and says which");
	ok(value_of(f) == 3 && exists(jpath), "... nothing undone, the journal stays");

	/* killed: a zombie until its parent reaps it, and kill(pid, 0) still works on it */
	kill(child, SIGKILL);
	for (int i = 0; i < 200 && (xmcp_proc_start(child, &state), state != 'Z'); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
	is_int(state, 'Z', "killed with SIGKILL, not reaped yet: a zombie");
	is_int(journal_daemon(), 0, "journal_daemon: a zombie is no daemon");
	capture();
	is_int(journal_recover(&pid), 0, "journal_recover undoes the zombie's journal");
	captured();
	ok(pid == child && value_of(f) == 1 && !exists(jpath), "... its sysctl back, the journal gone");
	waitpid(child, &status, 0);
	close(go[1]);
	close(ready[0]);
	mkdir(run_dir, 0700);
}

/* The pid a journal names may be another process now, or its namespace gone. */
static void test_recover_reused(void)
{
	char f[128], g[128], entries[512];
	unsigned long long mine;
	pid_t pid;
	char state;

	snprintf(f, sizeof(f), "%s/fastopen", work);
	snprintf(g, sizeof(g), "%s/control.sock", work);
	snprintf(entries, sizeof(entries),
		 "{\"op\": \"file\", \"text\": \"%s\"}, {\"op\": \"sysctl\", \"text\": \"%s\", \"value\": 1}", g, f);
	mine = xmcp_proc_start(getpid(), &state);

	/* our own pid with our start time: a daemon that runs */
	write_journal(getpid(), mine, my_cookie(), entries);
	put(f, "3\n");
	capture();
	ok(journal_recover(&pid) == 1 && pid == getpid() && value_of(f) == 3, "a live pid with its start time: running");
	captured();
	/* no start time (an older xmcp wrote it): a live pid is taken to be the daemon */
	write_journal(getpid(), 0, my_cookie(), entries);
	capture();
	ok(journal_recover(&pid) == 1 && value_of(f) == 3, "a live pid and no start time: taken to be running");
	captured();
	/* our pid with another start time: the pid was reused, the daemon is dead */
	write_journal(getpid(), mine + 1, my_cookie(), entries);
	put(g, "");
	capture();
	ok(journal_recover(&pid) == 0 && pid == getpid(), "a live pid with another start time: a reused pid, undone");
	captured();
	ok(value_of(f) == 1 && !exists(g) && !exists(jpath), "... all of it");
	mkdir(run_dir, 0700);

	/* a dead namespace's journal (another cookie): files only, no sysctl of this namespace */
	write_journal(1 << 30, 0, my_cookie() + 1, entries);
	put(f, "3\n");
	put(g, "");
	capture();
	ok(journal_recover(&pid) == 0, "a journal of another namespace (cookie) is recovered");
	like(captured(), "a network namespace that no longer exists", "... saying so");
	ok(!exists(g) && value_of(f) == 3, "... its files removed, this namespace's sysctl untouched");
	ok(!exists(jpath), "... and the journal removed");
	mkdir(run_dir, 0700);
	unlink(f);
}

/* Broken journals: refused, reported, left for a human; broken entries skipped. */
static void test_corrupt(void)
{
	static const char *const broken[] = { "", "{ \"pid\": 1, \"entries\": [", "[1, 2]", "not json", "\"pid\"" };
	char f[128], entries[512], text[4096];
	struct journal j;
	size_t i, len;
	pid_t pid;
	FILE *fp;

	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		put(jpath, broken[i]);
		capture();
		pid = 99;
		ok(journal_recover(&pid) == -1 && pid == 0, "a journal reading '%s' is refused", broken[i]);
		like(captured(), "is unreadable: remove it by hand", "... and reported");
		ok(exists(jpath), "... and left in place");
		capture();
		is_int(journal_daemon(), 0, "... and names no daemon");
		captured();
	}

	/* a real journal, cut off half way (a full disk, a crash in a write that was not ours) */
	snprintf(f, sizeof(f), "%s/fastopen", work);
	unlink(jpath);
	if (journal_open(&j, "")) {
		ok(0, "a journal to cut off");
		return;
	}
	struct journal_entry e = sysctl_entry(f, 1);

	journal_record(&j, &e);
	journal_record(&j, &e);
	fp = fopen(jpath, "r");
	len = fp ? fread(text, 1, sizeof(text) - 1, fp) : 0;
	if (fp)
		fclose(fp);
	text[len / 2] = '\0';
	put(jpath, text);
	put(f, "3\n");
	capture();
	ok(journal_recover(&pid) == -1, "a journal cut off half way is refused");
	captured();
	ok(value_of(f) == 3 && exists(jpath), "... nothing undone, the journal left for a human");
	free(j.e);

	/* entries that are not entries are skipped, the others undone, newest first */
	snprintf(entries, sizeof(entries),
		 "{\"op\": \"sysctl\", \"text\": \"%s\", \"value\": 5}, {\"op\": \"teleport\"}, 7, {\"text\": \"x\"}, "
		 "{\"op\": \"sysctl\", \"text\": \"%s\", \"value\": 6}",
		 f, f);
	write_journal(1 << 30, 0, my_cookie(), entries);
	capture();
	ok(journal_recover(&pid) == 0 && value_of(f) == 5 && !exists(jpath),
	   "unknown, untyped and non-object entries are skipped; the others undone, newest first");
	captured();
	mkdir(run_dir, 0700);

	/* nulls where strings belong (json-c reads them as NULL) */
	snprintf(entries, sizeof(entries),
		 "{\"op\": \"sysctl\", \"text\": \"%s\", \"value\": 8}, {\"op\": null}, {\"op\": \"file\", \"text\": null}",
		 f);
	write_journal(1 << 30, 0, my_cookie(), entries);
	capture();
	ok(journal_recover(&pid) == 0 && value_of(f) == 8 && !exists(jpath),
	   "an entry whose op is null is skipped, a null path is none; the others undone");
	captured();
	mkdir(run_dir, 0700);
	snprintf(text, sizeof(text),
		 "{\"pid\": null, \"start\": null, \"netns_cookie\": %llu, \"pin_dir\": null, \"entries\": "
		 "[{\"op\": \"endpoint\", \"ep_family\": 10, \"ep_addr\": null, \"ep_id\": 9}]}",
		 my_cookie() + 1);
	put(jpath, text);
	capture();
	ok(journal_recover(&pid) == 0 && pid == 0 && !exists(jpath),
	   "a null pid, start, pin directory and endpoint address are read as none (a dead namespace's: nothing undone)");
	captured();
	mkdir(run_dir, 0700);
	unlink(f);
}

/* The run directory is trusted: one others could write is refused. */
static void test_run_dir(void)
{
	struct journal j;
	char link[128];

	chmod(run_dir, 0770);
	capture();
	is_int(journal_open(&j, ""), -1, "a run directory its group may write is refused");
	like(captured(), "is not a directory only root can write", "... saying why");
	chmod(run_dir, 0700);
	rmdir(run_dir);
	snprintf(link, sizeof(link), "%s/elsewhere", work);
	mkdir(link, 0700);
	if (symlink(link, run_dir))
		perror("symlink");
	capture();
	is_int(journal_open(&j, ""), -1, "a run directory that is a symlink is refused");
	captured();
	unlink(run_dir);
	rmdir(link);
	capture();
	ok(journal_open(&j, "") == 0 && exists(run_dir), "a missing run directory is made");
	captured();
	journal_close(&j);
	ok(!exists(run_dir), "... and removed when its last journal goes");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path), 0;
}

int main(void)
{
	char path[128], want[128];
	__u64 ino;

	snprintf(work, sizeof(work), "/tmp/xmcp-unit-journal.XXXXXX");
	if (!mkdtemp(work)) {
		perror("mkdtemp");
		return 2;
	}
	/* never /run/xmcp: a daemon of this namespace may be running */
	snprintf(run_dir, sizeof(run_dir), "%s/run", work);
	xmcp_run_dir_path = run_dir;
	mkdir(run_dir, 0700);
	xmcp_run_file(jpath, sizeof(jpath), "run", "json");
	if (geteuid() != 0) {
		/* xmcp_run_dir() trusts a directory only root owns */
		skip("not root: the run directory must be root's", "the journal tests");
	} else {
		test_write();
		test_commit();
		test_undo_order();
		test_recover_dead();
		test_recover_alive();
		test_recover_reused();
		test_corrupt();
		test_run_dir();
	}
	xmcp_run_file(path, sizeof(path), "control", "sock");
	xmcp_netns_ino(&ino);
	snprintf(want, sizeof(want), "%s/control-%llu.sock", run_dir, (unsigned long long)ino);
	is_str(path, want, "xmcp_run_file: RUN_DIR/KIND-<netns inode>.EXT");
	/* whatever a failed check left behind too */
	nftw(work, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
