/* SPDX-License-Identifier: GPL-2.0 */
/* Error reporting and environment checks shared by the xmcp commands. */
#ifndef XMCP_UTIL_H
#define XMCP_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <linux/types.h>

/* Older C libraries name neither (glibc 2.36 has both). */
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

extern int xmcp_verbose;

/* "xmcp: <message>" on stderr. */
void xmcp_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void xmcp_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Route libbpf's and libxdp's messages to stderr only under -v. */
void xmcp_setup_lib_logging(void);

/* Each prints its own plain-words error and returns a negative errno. */
int xmcp_require_root(void);
int xmcp_require_bpffs(const char *pin_dir);
int xmcp_ifindex(const char *dev);

/* Explain a failed BPF object load in plain words. */
void xmcp_explain_load_error(const char *what, int err);

int xmcp_netns_ino(__u64 *ino);

/* CLOCK_MONOTONIC in seconds, milliseconds, nanoseconds: deadlines that wall-clock changes can't move. */
time_t xmcp_now_s(void);
long long xmcp_now_ms(void);
__u64 xmcp_now_ns(void);
/*
 * As many open files as the system allows: a pair holds two sockets, and a
 * busy splice pair up to two pipes more (six descriptors); the usual soft
 * limit of 1024 would stop a daemon at some 500 idle pairs.
 */
void xmcp_raise_nofile(void);
/* Receive and send timeouts on a blocking socket (SO_RCVTIMEO, SO_SNDTIMEO). */
void xmcp_sock_timeouts(int fd, int ms);
/* All of buf, or -1 (no SIGPIPE). */
int xmcp_send_all(int fd, const char *buf, size_t len);

struct sockaddr_storage;
/* The address (in_addr or in6_addr) and the port (host order) of an AF_INET/AF_INET6 sockaddr. */
const void *xmcp_sa_addr(const struct sockaddr_storage *ss);
int xmcp_sa_port(const struct sockaddr_storage *ss);

/*
 * IPV6_V6ONLY on an IPv6 socket (nothing on another): it then never
 * reaches an IPv4 address through an IPv4-mapped one. 0 or -1.
 */
int xmcp_v6only(int fd);

/*
 * accept4(); at EMFILE/ENFILE the connection that could not be taken is
 * accepted on a reserve descriptor and reset (so the listener does not
 * stay readable for nothing), and -1 returned with errno still EMFILE or
 * ENFILE: the caller pauses that listener for a while. A reset is
 * counted in *resets (if not NULL): each listener counts its own. The
 * reserve is opened once by xmcp_accept_reserve().
 */
int xmcp_accept(int lfd, struct sockaddr *sa, socklen_t *len, int flags, unsigned long long *resets);
void xmcp_accept_reserve(void);

/* SO_PROTOCOL: IPPROTO_TCP, IPPROTO_MPTCP (262), ... or 0. */
int xmcp_sock_protocol(int fd);

/*
 * A non-blocking connect's outcome, once epoll said the socket is writable:
 * 0 connected, -EINPROGRESS still connecting, or -errno (ECONNREFUSED, a
 * timeout...). Still connecting is an event meant for an earlier socket
 * that was closed in the same batch of events, its slot (and handler)
 * already given to this one: not an answer.
 */
int xmcp_connect_result(int fd);

/*
 * Whether an MPTCP socket takes congestion control name (TCP_CONGESTION,
 * as the relay sets it on its MPTCP legs): 0, or -errno (ENOENT: no such
 * algorithm; EPERM: not in tcp_allowed_congestion_control and no
 * CAP_NET_ADMIN; ENOPROTOOPT: MPTCP without the option).
 */
int xmcp_mptcp_cc_probe(const char *name);
/* Whether MPTCP sockets take TCP Fast Open (SYN data), probed on a socket. */
bool xmcp_mptcp_has_fastopen(void);

/* An integer sysctl of the current network namespace (path under /proc/sys); negative errno. */
int xmcp_sysctl_get(const char *path, long *v);
int xmcp_sysctl_set(const char *path, long v);

/*
 * o.key if o is an object whose key is a list, else NULL: what the CLI
 * reads from the daemon's answers is type-checked before it is indexed
 * (json-c aborts on an array operation on anything else).
 */
struct json_object;
struct json_object *xmcp_json_array(struct json_object *o, const char *key);

const char *xmcp_class_name(unsigned int cls);
const char *xmcp_malformed_name(unsigned int reason);

/*
 * The start time of pid, in clock ticks since boot (field 22 of
 * /proc/PID/stat), and its state letter in *state; 0 if it is gone. A pid
 * and its start time name one process: a pid reused is another. A process
 * on its way out (exit() or a fatal signal, its threads closing their files) is
 * reported as 'X', dead, though /proc still says R or D: nothing of it
 * will run again.
 */
unsigned long long xmcp_proc_start(pid_t pid, char *state);

/* Where the maps are pinned: --pin-dir, $XMCP_PIN_DIR, or the default under /sys/fs/bpf (XMCP_PIN_DIR_DEFAULT). */
extern const char *xmcp_pin_dir;

#endif
