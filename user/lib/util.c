// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <xdp/libxdp.h>

#include "lib/util.h"
#include "xmcp_maps.h"
#include "xmcp_class.h"

int xmcp_verbose;

/* One line, whole: the relay workers' threads write to stderr too. */
static void say(const char *fmt, va_list ap)
{
	flockfile(stderr);
	fputs("xmcp: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void xmcp_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

void xmcp_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!xmcp_verbose)
		return;
	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!xmcp_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (!xmcp_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void xmcp_setup_lib_logging(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

int xmcp_require_root(void)
{
	if (geteuid() == 0)
		return 0;
	xmcp_err("this command loads BPF programs and must run as root");
	return -EPERM;
}

/* The pin directory's parent must be a mounted bpffs. */
int xmcp_require_bpffs(const char *pin_dir)
{
	char parent[512];
	struct statfs st;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	/* A fresh machine may not have bpffs mounted yet: mount it where it belongs, as bpftool does. */
	if (!strcmp(parent, "/sys/fs/bpf") && !mount("bpf", parent, "bpf", 0, "mode=0700")) {
		xmcp_dbg("mounted bpffs on %s", parent);
		return 0;
	}
	xmcp_err("%s is not on a BPF filesystem: mount it with 'mount -t bpf bpf %s'", parent, parent);
	return -ENOENT;
}

int xmcp_ifindex(const char *dev)
{
	unsigned int idx = if_nametoindex(dev);

	if (idx)
		return idx;
	xmcp_err("no such network device: %s", dev);
	return -ENODEV;
}

void xmcp_explain_load_error(const char *what, int err)
{
	if (err == -EPERM || err == -EACCES)
		xmcp_err("the kernel refused to load %s: %s (root, and no lockdown or "
			 "unprivileged-BPF policy in the way?)%s",
			 what, strerror(-err), xmcp_verbose ? "" : "; -v shows the verifier log");
	else
		xmcp_err("could not load %s: %s%s", what, strerror(-err),
			 xmcp_verbose ? "" : "; -v shows libbpf's detail");
}

int xmcp_netns_ino(__u64 *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	*ino = st.st_ino;
	return 0;
}

void xmcp_raise_nofile(void)
{
	struct rlimit rl = { .rlim_cur = 1 << 20, .rlim_max = 1 << 20 };
	long nr_open = 0;

	/* as root the hard limit can rise too, up to fs.nr_open */
	if (!xmcp_sysctl_get("/proc/sys/fs/nr_open", &nr_open) && nr_open > 0 && (rlim_t)nr_open < rl.rlim_max)
		rl.rlim_cur = rl.rlim_max = nr_open;
	if (setrlimit(RLIMIT_NOFILE, &rl) && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void xmcp_sock_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int xmcp_send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

#define XMCP_CLASS_STR(e, n) #n,
static const char *const class_names[] = { XMCP_CLASSES(XMCP_CLASS_STR) };
static const char *const malformed_names[] = { "none", XMCP_MALFORMED_REASONS(XMCP_CLASS_STR) };
#undef XMCP_CLASS_STR

_Static_assert(sizeof(class_names) / sizeof(class_names[0]) == XMCP_CLASS_MAX, "class names");
_Static_assert(sizeof(malformed_names) / sizeof(malformed_names[0]) == XMCP_MF_MAX, "reasons");

const char *xmcp_class_name(unsigned int cls)
{
	return cls < XMCP_CLASS_MAX ? class_names[cls] : "unknown";
}

const char *xmcp_malformed_name(unsigned int reason)
{
	return reason < XMCP_MF_MAX ? malformed_names[reason] : "unknown";
}

int xmcp_sysctl_get(const char *path, long *v)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%ld", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

int xmcp_sysctl_set(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -errno;
	err = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int xmcp_sock_protocol(int fd)
{
	int proto = 0;
	socklen_t len = sizeof(proto);

	getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
	return proto;
}

int xmcp_connect_result(int fd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(int), plen = sizeof(peer);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	if (err)
		return -err;
	if (getpeername(fd, (struct sockaddr *)&peer, &plen))
		return errno == ENOTCONN ? -EINPROGRESS : -errno;
	return 0;
}

/* setsockopt(TCP_CONGESTION) on a new socket of proto; then, if check, whether it reads back */
static int try_cc(int proto, const char *name, bool check)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto), err = 0;
	char got[16] = ""; /* the kernel's TCP_CA_NAME_MAX */
	socklen_t len = sizeof(got);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_TCP, TCP_CONGESTION, name, strlen(name)))
		err = -errno;
	else if (check && (getsockopt(fd, SOL_TCP, TCP_CONGESTION, got, &len) ||
			   strncmp(got, name, sizeof(got))))
		err = -ENOENT;
	close(fd);
	return err;
}

/*
 * A TCP socket says whether the name exists and may be used (its errno); an
 * MPTCP socket before its first subflow takes any name (6.18) and keeps it
 * for the subflows, so it must also read back what it took.
 */
int xmcp_mptcp_cc_probe(const char *name)
{
	return try_cc(IPPROTO_TCP, name, false) ?: try_cc(IPPROTO_MPTCP, name, true);
}

/*
 * Kernels before 6.2 refuse every TCP Fast Open option on an MPTCP socket
 * (ENOPROTOOPT); asking is the probe, the version number is not.
 */
bool xmcp_mptcp_has_fastopen(void)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	bool ok;

	if (fd < 0)
		return false;
	ok = !setsockopt(fd, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof(one));
	close(fd);
	return ok;
}

const void *xmcp_sa_addr(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
					: (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

int xmcp_sa_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

int xmcp_v6only(int fd)
{
	int domain = 0, one = 1;
	socklen_t len = sizeof(domain);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return -1;
	return domain != AF_INET6 ? 0 : setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
}

/*
 * One descriptor kept in reserve (see xmcp_accept); opened by
 * xmcp_accept_reserve() at start.
 */
static int reserve_fd = -1;
static pthread_mutex_t reserve_lock = PTHREAD_MUTEX_INITIALIZER;

void xmcp_accept_reserve(void)
{
	pthread_mutex_lock(&reserve_lock);
	if (reserve_fd < 0)
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&reserve_lock);
}

int xmcp_accept(int lfd, struct sockaddr *sa, socklen_t *len, int flags, unsigned long long *resets)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = accept4(lfd, sa, len, flags), err;

	if (fd >= 0 || (errno != EMFILE && errno != ENFILE))
		return fd;
	/*
	 * Out of descriptors: the connection at the head of the backlog would
	 * keep the listener readable and the loop spinning. Give up the
	 * reserve for a moment to take it and reset it, so its peer knows at
	 * once; the caller pauses its listener until descriptors free up.
	 */
	err = errno;
	/*
	 * One reserve for the process: the workers take turns with it. Another
	 * thread may take the freed number first; then the reserve is had
	 * again at a later tick (xmcp_accept_reserve).
	 */
	pthread_mutex_lock(&reserve_lock);
	if (reserve_fd < 0) {
		pthread_mutex_unlock(&reserve_lock);
		errno = err;
		return -1;
	}
	close(reserve_fd);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		if (resets)
			(*resets)++;
	}
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&reserve_lock);
	errno = err;
	return -1;
}

struct json_object *xmcp_json_array(struct json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

time_t xmcp_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

long long xmcp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

__u64 xmcp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* include/linux/sched.h: the task is exiting (not exported to user space) */
#define XMCP_PF_EXITING 0x00000004u

unsigned long long xmcp_proc_start(pid_t pid, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	unsigned int flags;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, the rest follows the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %u %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			 state, &flags, &start) != 3)
		return 0;
	/*
	 * PF_EXITING: it is on its way out (exit(), or a fatal signal such as
	 * SIGKILL). Its files (a TUN device, say) are being closed, and a
	 * caller that saw one go must not take it for alive.
	 */
	if ((flags & XMCP_PF_EXITING) && *state != 'Z')
		*state = 'X';
	return start;
}

const char *xmcp_pin_dir = XMCP_PIN_DIR_DEFAULT;
