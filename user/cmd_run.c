// SPDX-License-Identifier: GPL-2.0
/*
 * xmcp run -c POLICY.json: the daemon, in the foreground.
 *
 * HCPE: plain TCP SYNs arriving on the LAN are steered by tc into a
 * transparent TCP listener; each connection is carried on as MPTCP to the
 * original destination, from the original source (IP_TRANSPARENT).
 * HAG: subscribers' MP_CAPABLE SYNs arriving from the access side are
 * steered into a transparent MPTCP listener; each is carried on as plain
 * TCP to the original destination, from the original source.
 * Segments of the flows the daemon owns are marked by tc and routed to the
 * local stack through an fwmark rule and a local default route. On SIGTERM
 * or SIGINT everything the daemon set up is removed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/mptcp.h>
#include <systemd/sd-daemon.h>

#include "cmds.h"
#include "datapath.h"
#include "dest.h"
#include "evloop.h"
#include "head.h"
#include "mp_convert.h"
#include "mptcp_pm.h"
#include "netlink.h"
#include "policy.h"
#include "privs.h"
#include "mcp.h"
#include "admission.h"
#include "modes.h"
#include "shaping.h"
#include "control.h"
#include "flows.h"
#include "metrics.h"
#include "upstream.h"
#include "relay.h"
#include "journal.h"
#include "stats.h"
#include "util.h"
#include "xmcp.skel.h"

#define RULE_PRIORITY 100
#define MAX_EVENTS 64
/* Connections taken per listener wakeup: a flood can't hold the loop from the rest. */
#define ACCEPT_BATCH 64

struct daemon {
	const char *config; /* the policy file, read again on SIGHUP */
	struct policy pol;
	struct dp dp;
	bool dp_open;
	struct journal journal;	   /* every change to the system, to undo (user/journal.h) */
	bool journaled;
	bool warned_no_meta;
	int listen_fd[2];
	__u16 listen_port;  /* the listeners': the policy's, or the one the kernel chose */
	bool listen_paused; /* out of descriptors: the listeners wait for the next tick */
	int epfd, sigfd, timerfd;
	struct control *control; /* the control socket (xmcp flows, stats) */
	struct metrics *metrics; /* GET /metrics, when the policy has "metrics" */
	struct relay *relay;
	struct mcp *mcp; /* the MCP role's connections waiting for their MP_CONVERT head */
	struct upstream *upstream; /* the off-path HCPE's connections on their way to an MCP */
	struct admission *adm;	   /* HAG, MCP: sessions per subscriber, join budgets */
	struct dest_check *dest;   /* where server legs may go (user/dest.h) */
	struct heads *heads;	   /* the marker mode's HAG: clients whose marker has not come yet */
	unsigned long long bad_marker; /* ... and did not bring it */
	unsigned long long no_head;    /* ... of those, closed or late */
	struct ev_handler on_listen4, on_listen6, on_signal, on_timer;
	bool stop;		   /* SIGTERM or SIGINT: leave the loop after this batch */
	bool keep_sys_admin;	   /* an XDP program not ours runs on a device: its detach needs it */
	unsigned long long fd_exhausted; /* times the listeners paused for want of descriptors */
	unsigned long long fd_refused;	 /* clients reset for want of a descriptor (at accept or for their server leg) */
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: xmcp run -c POLICY.json [-v]\n"
		   "\n"
		   "Runs the conversion daemon in the foreground in the role its policy names\n"
		   "(hcpe, hag or mcp; see docs/policy.md). Logs go to stderr. SIGTERM or SIGINT\n"
		   "removes everything it set up: programs, pins, ip rules and routes.\n"
		   "\n"
		   "  -c, --config FILE   the policy\n");
}

static int configure_rodata(struct xmcp *skel, void *arg)
{
	const struct daemon *d = arg;
	const struct policy *p = &d->pol;

	skel->rodata->cfg_mark = p->fwmark;
	skel->rodata->cfg_listen4 = htonl(INADDR_LOOPBACK);
	skel->rodata->cfg_listen_port = htons(d->listen_port);
	skel->rodata->cfg_marker = p->marker && p->role == POL_ROLE_HAG;
	skel->rodata->cfg_origin_check = p->role == POL_ROLE_MCP || p->origin_check;
	skel->rodata->cfg_admission = p->n_classes > 0;
	skel->rodata->cfg_modes = p->has_modes;
	return 0;
}

/* A transparent listener on the loopback address, where tc hands it SYNs. */
/* The HAG's marker and the MCP's MP_CONVERT head arrive as SYN data. */
static bool takes_syn_data(const struct policy *p)
{
	return (p->role == POL_ROLE_HAG && p->marker) || p->role == POL_ROLE_MCP;
}

/*
 * What carries an MP_CONVERT in SYN data over MPTCP, or NULL: the MCP takes
 * heads, the off-path HCPE sends them, the marker mode's HCPE sends the
 * marker and its HAG takes it.
 */
static const char *syn_data_role(const struct policy *p)
{
	if (p->role == POL_ROLE_MCP)
		return "the MCP role";
	if (p->off_path)
		return "the off-path HCPE";
	return p->marker ? "the mp_convert marker" : NULL;
}

/*
 * Without TCP Fast Open on MPTCP sockets none of that can work: a listener
 * that does not take SYN data turns the client's MPTCP into TCP (see
 * enable_tfo_server), and a client cannot put it in its SYN. Refuse up front
 * rather than fail every connection.
 */
static int check_syn_data(const struct policy *p)
{
	const char *who = syn_data_role(p);

	if (!who || xmcp_mptcp_has_fastopen())
		return 0;
	xmcp_err("this kernel has no TCP Fast Open on MPTCP sockets (Linux 6.2 and later have it): "
		 "%s carries MP_CONVERT in SYN data and cannot run here", who);
	return -1;
}

/* Take SYN data without a cookie (see enable_tfo_server). */
static int listen_fastopen(int fd)
{
	int qlen = 1024, one = 1;

	if (setsockopt(fd, SOL_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) ||
	    setsockopt(fd, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof(one))) {
		xmcp_err("cannot enable TCP Fast Open on the listener: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A listener of the family on loopback port `port` (0: the kernel picks).
 * -EADDRINUSE, without a word, when quiet_inuse and the port is taken.
 */
static int open_listener(const struct policy *p, int family, __u16 port, bool quiet_inuse)
{
	int proto = p->role == POL_ROLE_HCPE ? IPPROTO_TCP : IPPROTO_MPTCP;
	int fd, one = 1, prio = XMCP_SOCK_PRIORITY;
	struct sockaddr_storage ss = { 0 };
	socklen_t len;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		xmcp_err("cannot create the %s listener: %s%s", proto == IPPROTO_MPTCP ? "MPTCP" : "TCP",
			 strerror(errno),
			 proto == IPPROTO_MPTCP ? " (MPTCP disabled? sysctl net.mptcp.enabled)" : "");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio))) {
		xmcp_err("cannot mark the listener as the daemon's (SO_PRIORITY): %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (takes_syn_data(p) && listen_fastopen(fd)) {
		close(fd);
		return -1;
	}
	if (family == AF_INET) {
		struct sockaddr_in *sin = (void *)&ss;

		setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (void *)&ss;

		setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		if (errno == EADDRINUSE && quiet_inuse) {
			close(fd);
			return -EADDRINUSE;
		}
		xmcp_err("cannot listen on %s port %u: %s%s", family == AF_INET ? "127.0.0.1" : "[::1]",
			 port, strerror(errno),
			 errno == EADDRNOTAVAIL ? " (is the loopback interface up?)" :
			 errno == EADDRINUSE ? " (another program holds it: `ss -ltnp` names it)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The IPv4 and IPv6 listeners, on one port: the policy's, or with
 * listen_port 0 (the default) one the kernel picks for IPv4 and that is
 * free for IPv6 too (a few tries). A port chosen at start is one no local
 * user can have taken first.
 */
static int open_listeners(struct daemon *d)
{
	const struct policy *p = &d->pol;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int try;

	for (try = 0; try < 16; try++) {
		d->listen_fd[0] = open_listener(p, AF_INET, p->listen_port, false);
		if (d->listen_fd[0] < 0)
			return -1;
		if (getsockname(d->listen_fd[0], (struct sockaddr *)&ss, &len)) {
			xmcp_err("cannot read the listener's port: %s", strerror(errno));
			return -1;
		}
		d->listen_port = xmcp_sa_port(&ss);
		d->listen_fd[1] = open_listener(p, AF_INET6, d->listen_port, !p->listen_port);
		if (d->listen_fd[1] >= 0)
			return 0;
		close(d->listen_fd[0]);
		d->listen_fd[0] = -1;
		if (d->listen_fd[1] != -EADDRINUSE)
			break;
		d->listen_fd[1] = -1;
	}
	return -1;
}

static __u32 steer_mode(const struct policy *p, int which)
{
	if (p->role == POL_ROLE_HCPE && which == 0)
		return XMCP_STEER_PLAIN_SYN;
	if (p->role == POL_ROLE_HAG && which == 1)
		return XMCP_STEER_ACCESS | XMCP_STEER_MPTCP_SYN |
		       (p->terminate_tcp ? XMCP_STEER_PLAIN_SYN : 0);
	if (p->role == POL_ROLE_MCP && which == 1)
		return XMCP_STEER_ACCESS | XMCP_STEER_CONVERT;
	if (which == 1)
		return XMCP_STEER_ACCESS;
	return 0; /* only mark the segments of our own flows */
}

static int attach_all(struct daemon *d)
{
	const struct pol_ifs *groups[3] = { &d->pol.lan, &d->pol.access, &d->pol.wan };
	int steer_fd = bpf_program__fd(d->dp.skel->progs.xmcp_tc_steer);
	int modes_fd = bpf_map__fd(d->dp.skel->maps.xmcp_steer_ifs);
	enum xdp_attach_mode mode = d->pol.xdp_generic ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	unsigned int g, i;
	struct xmcp_iface rec;
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), own_id;

	own_id = bpf_obj_get_info_by_fd(bpf_program__fd(d->dp.skel->progs.xmcp_xdp), &info, &len) ? 0 : info.id;

	for (g = 0; g < 3; g++)
		for (i = 0; i < groups[g]->n; i++) {
			const char *dev = groups[g]->name[i];
			__u32 m = steer_mode(&d->pol, g);
			struct journal_entry e = { .op = J_DEVICE };
			int ifindex = xmcp_ifindex(dev);

			if (ifindex < 0)
				return -1;
			/* recorded first; what xmcp created there (a clsact) once it is known */
			e.a = ifindex;
			snprintf(e.text, sizeof(e.text), "%s", dev);
			if (journal_record(&d->journal, &e))
				return -1;
			if (dp_attach_dev(&d->dp, dev, mode, steer_fd, &rec) < 0) {
				journal_forget_last(&d->journal);
				return -1;
			}
			e.b = rec.flags;
			/* another program runs there (libxdp's dispatcher): detaching it needs CAP_SYS_ADMIN */
			if (rec.xdp_prog_id != own_id)
				d->keep_sys_admin = true;
			if (journal_update_last(&d->journal, &e) ||
			    bpf_map_update_elem(modes_fd, &ifindex, &m, BPF_ANY))
				return -1;
			xmcp_dbg("attached to %s (steer mode %u)", dev, m);
		}
	return 0;
}

/* The LPM key of a subscriber prefix, in canonical form (xmcp_addr.h). */
static struct xmcp_prefix_key prefix_key(const struct pol_prefix *pp)
{
	struct xmcp_prefix_key k;
	struct xmcp_addr a;
	__u32 len = xmcp_addr_prefix(&a, pp->family == AF_INET, pp->addr, pp->len);

	xmcp_prefix_key_set(&k, &a, len);
	return k;
}

/* The LPM value of a subscriber prefix is its class. */
static bool has_prefix(const struct policy *p, const struct pol_prefix *pp)
{
	unsigned int i;

	for (i = 0; i < p->n_subscribers; i++)
		if (!memcmp(&p->subscribers[i], pp, sizeof(*pp)))
			return true;
	return false;
}

/*
 * Make the subscriber map hold np's prefixes: new ones first, then the ones
 * old had and np has not, so that a prefix in both is never missing.
 */
static int sync_subscribers(struct daemon *d, const struct policy *old, const struct policy *np)
{
	int fd = bpf_map__fd(d->dp.skel->maps.xmcp_subscr);
	unsigned int i;

	for (i = 0; i < np->n_subscribers; i++) {
		struct xmcp_prefix_key k = prefix_key(&np->subscribers[i]);
		__u32 cls = np->subscriber_class[i];

		if (bpf_map_update_elem(fd, &k, &cls, BPF_ANY)) {
			xmcp_err("cannot load subscriber prefixes: %s", strerror(errno));
			return -1;
		}
	}
	for (i = 0; old && i < old->n_subscribers; i++) {
		struct xmcp_prefix_key k = prefix_key(&old->subscribers[i]);

		if (!has_prefix(np, &old->subscribers[i]))
			bpf_map_delete_elem(fd, &k);
	}
	return 0;
}

static int load_modes(const struct daemon *d, const struct policy *p)
{
	return modes_load(p, bpf_map__fd(d->dp.skel->maps.XMCP_MAP_MODES),
			  bpf_map__fd(d->dp.skel->maps.XMCP_MAP_MODES_ON));
}

static int load_subscribers(struct daemon *d)
{
	if (d->pol.has_modes && load_modes(d, &d->pol))
		return -1;
	if (d->pol.n_classes &&
	    admission_load_classes(&d->pol, bpf_map__fd(d->dp.skel->maps.XMCP_MAP_CLASSES)))
		return -1;
	return sync_subscribers(d, NULL, &d->pol);
}

/* One change with its journal entry before it; 0, or the change's negative errno (entry dropped). */
static int journaled(struct daemon *d, const struct journal_entry *e, int (*change)(const struct journal_entry *e))
{
	int err;

	if (journal_record(&d->journal, e))
		return -EIO;
	err = change(e);
	if (err)
		journal_forget_last(&d->journal);
	return err;
}

static int add_rule(const struct journal_entry *e)
{
	return nl_fwmark_rule(true, e->family, e->a, e->b, e->c);
}

static int add_route(const struct journal_entry *e)
{
	return nl_local_default(true, e->family, e->a);
}

static int install_routing(struct daemon *d)
{
	const struct policy *p = &d->pol;
	int fam, err = 0;

	for (fam = AF_INET; !err && fam; fam = fam == AF_INET ? AF_INET6 : 0)
		err = journaled(d, &(struct journal_entry){ .op = J_ROUTE, .family = fam, .a = p->table },
				add_route);
	for (fam = AF_INET; !err && fam; fam = fam == AF_INET ? AF_INET6 : 0)
		err = journaled(d, &(struct journal_entry){ .op = J_RULE, .family = fam, .a = p->fwmark,
							    .b = p->table, .c = RULE_PRIORITY },
				add_rule);
	if (err)
		xmcp_err("cannot install the fwmark %#x rule / local route in table %u: %s%s", p->fwmark,
			 p->table, strerror(-err),
			 err == -EEXIST ? " (left by another daemon? pick another fwmark/table)" : "");
	return err ? -1 : 0;
}

/*
 * An endpoint with a port is a kernel listener on that address and port,
 * which the kernel binds without SO_REUSEADDR: after a restart, a join
 * subflow of the previous run that sits in TIME_WAIT (or still FIN_WAIT2,
 * after thousands of pairs) on that address and port (seen in benchmark
 * restarts: `ss` showed them) makes the bind fail with EADDRINUSE for up to
 * 60 s. Their connections are closed and ours; remove them, as `ss -K`
 * would, and try again.
 */
static int add_endpoint(const struct pm_endpoint *e)
{
	int err = pm_add_endpoint(e), gone;

	/*
	 * EBUSY: the previous run's endpoint went while its connections still
	 * had subflows on the address, and the kernel keeps an implicit one in
	 * its place (seen in benchmark restarts); it replaces it only for an
	 * endpoint added without an id.
	 */
	if (err == -EBUSY && (gone = pm_del_implicit_clash(e)) > 0) {
		fprintf(stderr, "xmcp: endpoint %u: replaced %d implicit endpoint(s) the kernel kept for its address\n",
			e->id, gone);
		err = pm_add_endpoint(e);
	}
	if (err != -EADDRINUSE || !e->port)
		return err;
	gone = nl_destroy_closed(e->family, e->addr, e->port);
	if (gone > 0) {
		fprintf(stderr, "xmcp: endpoint %u: removed %d closed connection(s) holding its port %u\n",
			e->id, gone, e->port);
		err = pm_add_endpoint(e);
	}
	return err;
}

/* A policy endpoint as the path manager takes it; -1 when its device is gone. */
static int pm_endpoint_of(const struct pol_endpoint *pe, struct pm_endpoint *e)
{
	*e = (struct pm_endpoint){ .family = pe->addr.family, .id = pe->id, .flags = pe->flags, .port = pe->port };
	memcpy(e->addr, pe->addr.addr, sizeof(e->addr));
	return pe->ifname[0] && (e->ifindex = xmcp_ifindex(pe->ifname)) < 0 ? -1 : 0;
}

static int add_journaled_endpoint(const struct journal_entry *e)
{
	return add_endpoint(&e->ep);
}

/*
 * An ADD_ADDR naming an IPv6 address and a port takes 30 bytes of TCP
 * options (RFC 8684 3.4.1, its HMAC included); TCP timestamps take 12 of
 * the 40 in the same segment. The kernel then drops the announcement
 * (MPTcpExtAddAddrTxDrop, seen on 6.18) and no join ever comes: say so.
 */
static void warn_unannounceable(const struct pol_endpoint *pe, unsigned int i)
{
	long ts;

	if (pe->addr.family != AF_INET6 || !pe->port || !(pe->flags & MPTCP_PM_ADDR_FLAG_SIGNAL) ||
	    xmcp_sysctl_get("/proc/sys/net/ipv4/tcp_timestamps", &ts) || !ts)
		return;
	xmcp_err("warning: endpoints[%u]: an IPv6 address announced with a port does not fit in a segment "
		 "beside TCP timestamps (30 + 12 > 40 option bytes): the kernel drops the announcement "
		 "(MPTcpExtAddAddrTxDrop) and no join comes to it. Turn net.ipv4.tcp_timestamps off in "
		 "this namespace, or announce an IPv4 address for the path",
		 i);
}

/* endpoints[i] of a policy, over generic netlink, journaled; 0 or -1 after saying why. */
static int add_policy_endpoint(struct daemon *d, const struct pol_endpoint *pe, unsigned int i)
{
	struct journal_entry je = { .op = J_ENDPOINT };
	int err;

	if (pm_endpoint_of(pe, &je.ep))
		return -1;
	err = journaled(d, &je, add_journaled_endpoint);
	if (err)
		xmcp_err("cannot add MPTCP endpoint %u (endpoints[%u]): %s%s", pe->id, i, strerror(-err),
			 err == -EEXIST || err == -EINVAL ? " (its id or address already in use? "
							    "see 'ip mptcp endpoint show')"
							  : "");
	else
		warn_unannounceable(pe, i);
	return err ? -1 : 0;
}

/* The path manager's limits to the policy's, the ones before recorded first. */
static int set_limits(struct daemon *d, const struct policy *p)
{
	struct journal_entry e = { .op = J_LIMITS };
	int err = pm_get_limits(&e.a, &e.b);

	/* every change recorded: a failed reload goes back to the ones before it, a teardown to the first */
	if (err || journal_record(&d->journal, &e)) {
		xmcp_err("cannot read the MPTCP limits: %s", strerror(err ? -err : EIO));
		return -1;
	}
	err = pm_set_limits(p->add_addr_accepted, p->subflows);
	if (err)
		xmcp_err("cannot set the MPTCP limits: %s", strerror(-err));
	return err ? -1 : 0;
}

/* Limits first, then the policy's endpoints. */
static int install_mptcp(struct daemon *d)
{
	const struct policy *p = &d->pol;
	unsigned int i;

	if (p->set_limits && set_limits(d, p))
		return -1;
	for (i = 0; i < p->n_endpoints; i++)
		if (add_policy_endpoint(d, &p->endpoints[i], i))
			return -1;
	return 0;
}

/*
 * The HAG of the marker mode takes the marker as SYN data (TCP Fast Open,
 * no cookie). A SYN whose data the server does not take costs a round trip
 * and, on this kernel, MPTCP itself: the client then sends that data with a
 * DSS instead of the MP_CAPABLE third ACK and the server falls back to TCP
 * (MPTcpExtMPCapableFallbackACK). The listener asks for no cookie itself;
 * the server side has no per-socket switch, only this netns sysctl's bit 2.
 */
#define TFO_SERVER_ENABLE 0x2
static int set_tfo(const struct journal_entry *e)
{
	return xmcp_sysctl_set(SYSCTL_TCP_FASTOPEN, e->value | TFO_SERVER_ENABLE);
}

static int enable_tfo_server(struct daemon *d)
{
	struct journal_entry e = { .op = J_SYSCTL, .text = SYSCTL_TCP_FASTOPEN };
	int err = xmcp_sysctl_get(SYSCTL_TCP_FASTOPEN, &e.value);

	if (!err && (e.value & TFO_SERVER_ENABLE))
		return 0;
	if (!err)
		err = journaled(d, &e, set_tfo);
	if (err) {
		xmcp_err("cannot enable the TCP Fast Open server (net.ipv4.tcp_fastopen): %s",
			 strerror(-err));
		return -1;
	}
	return 0;
}

/*
 * Everything goes, the daemon's own parts first (their sockets close, which
 * ends their connections), then every change to the system, newest first,
 * from the journal, which goes last.
 */
static void teardown(struct daemon *d)
{
	int i;

	heads_free(d->heads); /* its connections are the relay's to be, their sessions the admission's */
	d->heads = NULL;
	mcp_free(d->mcp);
	upstream_free(d->upstream);
	if (d->relay)
		relay_free(d->relay);
	admission_free(d->adm); /* after the relay: its pairs' sessions end on the way out */
	dest_check_free(d->dest);
	for (i = 0; i < 2; i++)
		if (d->listen_fd[i] >= 0)
			close(d->listen_fd[i]);
	control_close(d->control);
	metrics_close(d->metrics);
	/* the journal takes the pin lock itself to empty the pin directory (a setup that failed still holds it) */
	if (d->dp_open)
		pins_unlock(&d->dp.pins);
	if (d->journaled)
		journal_close(&d->journal);
	if (d->dp_open)
		dp_close(&d->dp); /* the pins went with the journal; the object goes now */
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->epfd >= 0)
		close(d->epfd);
}

static int fill_addr(const struct sockaddr_storage *ss, struct sockaddr_storage *out, bool keep_port)
{
	*out = *ss;
	if (!keep_port) {
		if (ss->ss_family == AF_INET)
			((struct sockaddr_in *)out)->sin_port = 0;
		else
			((struct sockaddr_in6 *)out)->sin6_port = 0;
	}
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/*
 * Connect with an empty MP_CONVERT and EOL as TCP Fast Open data in the SYN
 * (no cookie), the draft's marker telling the HAG to terminate this one.
 */
static int send_marked_syn(int fd, const struct sockaddr_storage *dst, socklen_t len)
{
	static const struct mpc_option marker = { .dir = MPC_DIR_DST, .proto = MPC_PROTO_TCP };

	return mpc_syn_connect(fd, &marker, 1, dst, len) ? -1 : fd;
}

/*
 * A hybrid destination of the HAG: its server leg offers MPTCP, so that an
 * MPTCP-capable server says so in its SYN+ACK (the datapath learns it from
 * there and later connections to it pass natively); a TCP-only server makes
 * the kernel fall back to TCP on its own, which costs nothing.
 */
static bool hybrid_server(const struct policy *p, const struct sockaddr_storage *server)
{
	return p->role == POL_ROLE_HAG && p->has_modes &&
	       policy_mode_for(p, server->ss_family, xmcp_sa_addr(server), xmcp_sa_port(server)) ==
		       XMCP_MODE_HYBRID;
}

/*
 * A socket bound to the client's address, as its own (IP_TRANSPARENT).
 * keep_port: the client's port too, over a TIME_WAIT of an earlier leg on
 * it (SO_REUSEADDR: the client reused the port, the 4-tuple check at
 * connect decides as it did for the client); else a port chosen at connect
 * time (IP_BIND_ADDRESS_NO_PORT: unique per destination, not per address,
 * so a busy subscriber address does not run out of ports).
 */
static int client_bound_socket(int proto, const struct sockaddr_storage *client, bool keep_port)
{
	int fam = client->ss_family, one = 1;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	struct sockaddr_storage src;
	socklen_t len;

	if (fd < 0)
		return -1;
	if (fam == AF_INET)
		setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	else
		setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
	/*
	 * A TCP leg to an IPv6 server never reaches IPv4 (the destination is
	 * canonical already: a mapped one is an AF_INET leg). An MPTCP leg
	 * stays dual-stack: its subflows may join over IPv4 paths.
	 */
	if (proto == IPPROTO_TCP)
		xmcp_v6only(fd);
	if (keep_port)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	else
		setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	len = fill_addr(client, &src, keep_port);
	if (bind(fd, (struct sockaddr *)&src, len)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Failures that another source port may not meet. */
static bool port_taken(int err)
{
	return err == EADDRINUSE || err == EADDRNOTAVAIL;
}

/*
 * The server leg: from the client's own address (and port when it can be
 * had), to the address the client asked for. MPTCP on the HCPE, TCP on the
 * HAG.
 */
static int open_server_leg(const struct daemon *d, const struct sockaddr_storage *client,
			   const struct sockaddr_storage *server)
{
	int proto = d->pol.role == POL_ROLE_HCPE || hybrid_server(&d->pol, server) ? IPPROTO_MPTCP
										  : IPPROTO_TCP;
	struct sockaddr_storage dst;
	socklen_t len = fill_addr(server, &dst, true);
	int keep, fd, err;

	for (keep = 1; keep >= 0; keep--) {
		fd = client_bound_socket(proto, client, keep);
		if (fd >= 0) {
			if (d->pol.marker && d->pol.role == POL_ROLE_HCPE)
				err = send_marked_syn(fd, &dst, len) < 0 ? errno : 0;
			else
				err = connect(fd, (struct sockaddr *)&dst, len) && errno != EINPROGRESS ? errno : 0;
			if (!err)
				return fd;
			close(fd);
		} else
			err = errno;
		if (!keep || !port_taken(err))
			break;
	}
	xmcp_dbg("cannot open the server leg from the client's address: %s", strerror(err));
	return -err;
}

/* A connection made to the listener itself, not handed over by tc: relaying it would loop. */
static bool is_listener_addr(const struct daemon *d, const struct sockaddr_storage *ss)
{
	__be32 lo4 = htonl(INADDR_LOOPBACK);

	if (xmcp_sa_port(ss) != d->listen_port)
		return false;
	if (ss->ss_family == AF_INET)
		return !memcmp(xmcp_sa_addr(ss), &lo4, sizeof(lo4));
	return !memcmp(xmcp_sa_addr(ss), &in6addr_loopback, sizeof(in6addr_loopback));
}

static void log_pair(const struct sockaddr_storage *c, const struct sockaddr_storage *s, int proto)
{
	char cb[INET6_ADDRSTRLEN], sb[INET6_ADDRSTRLEN];

	inet_ntop(c->ss_family, xmcp_sa_addr(c), cb, sizeof(cb));
	inet_ntop(s->ss_family, xmcp_sa_addr(s), sb, sizeof(sb));
	xmcp_dbg("pair %s:%d -> %s:%d (client %s)", cb, xmcp_sa_port(c), sb, xmcp_sa_port(s),
		 proto == IPPROTO_MPTCP ? "mptcp" : proto == IPPROTO_TCP ? "tcp" : "?");
}

/*
 * A driver whose native XDP leaves no room for metadata (a TAP device on
 * Linux 6.1, for one) lets the classifier count but not tell tc: nothing on
 * that device is steered, connections hang in SYN-SENT. Say so once, with
 * the way out; generic XDP always has the room.
 */
static void warn_no_meta(struct daemon *d)
{
	struct xmcp_xdp_stats xs;

	if (d->warned_no_meta || d->pol.xdp_generic ||
	    stats_percpu_sum(bpf_map__fd(d->dp.skel->maps.XMCP_MAP_XDP_STATS), &xs, sizeof(xs)) ||
	    !xs.meta_unavailable)
		return;
	xmcp_err("warning: %llu packets got no XDP metadata: the native XDP of an attached device "
		 "has no room for it, so tc steers nothing there; \"xdp_mode\": \"generic\" works on any device",
		 (unsigned long long)xs.meta_unavailable);
	d->warned_no_meta = true;
}

/*
 * The daemon's own counters into XMCP_MAP_DAEMON_STATS, where `xmcp stats`
 * reads them: every second, after accepting, and at each refusal.
 */
static void publish_stats(const struct daemon *d)
{
	const struct relay_stats *st = relay_stats(d->relay);
	struct xmcp_daemon_stats v = {
		.pairs_opened = st->pairs_opened,
		.pairs_closed = st->pairs_closed,
		.pairs_aborted = st->pairs_aborted,
		.pairs_active = relay_active(d->relay),
		.connect_failed = st->connect_failed,
		.idle_expired = st->idle_expired,
		.sessions_refused = d->adm ? admission_refused(d->adm) : 0,
		.bytes_up = st->bytes[0],
		.bytes_down = st->bytes[1],
		.dest_refused = dest_check_refused(d->dest),
		.fd_exhausted = d->fd_exhausted,
		/* relayed clients only, not control clients */
		.fd_refused = d->fd_refused,
		.no_head = (d->mcp ? mcp_stats(d->mcp)->no_head : 0) + d->no_head,
	};
	__u32 key = 0;

	bpf_map_update_elem(bpf_map__fd(d->dp.skel->maps.XMCP_MAP_DAEMON_STATS), &key, &v, BPF_ANY);
}

/* A destination no server leg may have (user/dest.h): say so under -v; true to refuse. */
static bool refuse_destination(struct daemon *d, struct sockaddr_storage *server)
{
	const char *why = dest_refused(d->dest, &d->pol, server);
	char a[INET6_ADDRSTRLEN];

	if (why && xmcp_verbose) {
		inet_ntop(server->ss_family, xmcp_sa_addr(server), a, sizeof(a));
		xmcp_dbg("destination %s port %d refused: %s", a, xmcp_sa_port(server), why);
	}
	return why != NULL;
}

/*
 * Out of descriptors (EMFILE/ENFILE: xmcp_accept reset the connection it
 * could not take, or a server leg could not be had): stop accepting until
 * the next tick rather than spin on a listener that stays readable, or
 * take connections that would fail the same way. Counted as fd_exhausted.
 */
static void pause_listeners(struct daemon *d)
{
	int i;

	if (d->listen_paused)
		return;
	for (i = 0; i < 2; i++)
		ev_mod(d->epfd, d->listen_fd[i], 0, i ? &d->on_listen6 : &d->on_listen4);
	d->listen_paused = true;
	d->fd_exhausted++;
	xmcp_err("out of file descriptors: not accepting for a second (the connection that could not be "
		 "taken was reset)");
}

static void resume_listeners(struct daemon *d)
{
	int i;

	if (!d->listen_paused)
		return;
	for (i = 0; i < 2; i++)
		ev_mod(d->epfd, d->listen_fd[i], EPOLLIN, i ? &d->on_listen6 : &d->on_listen4);
	d->listen_paused = false;
}

/* The server leg for an accepted client, and the pair to the relay; the client is reset if it fails. */
static void start_pair(struct daemon *d, int cfd, const struct sockaddr_storage *client,
		       const struct sockaddr_storage *server, struct session *sess)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int sfd = open_server_leg(d, client, server);

	if (sfd == -EMFILE || sfd == -ENFILE) {
		d->fd_refused++;
		pause_listeners(d); /* the next ones would fail the same way: wait for descriptors */
	}
	if (sfd < 0) {
		admission_end(d->adm, sess);
		setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(cfd);
		return;
	}
	relay_add(d->relay, cfd, sfd, sess);
}

/*
 * The marker mode's HAG: the head of a client's stream was the marker (now
 * read off it), or was not (the client is reset by the head module).
 */
static void marker_done(void *arg, int fd, enum head_result r, const struct mpc_frame *f, int err,
			void *owner)
{
	struct daemon *d = arg;
	struct sockaddr_storage client, server;
	socklen_t clen = sizeof(client), slen = sizeof(server);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (r == HEAD_LATE)
		d->no_head++;
	if (r != HEAD_OK) {
		d->bad_marker++;
		xmcp_dbg("marked connection without a valid marker at its head (%s)",
			 r == HEAD_BAD ? mpc_strerror(err) : r == HEAD_NONE ? "no MP_CONVERT" : "closed or late");
		admission_end(d->adm, owner);
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&client, &clen) ||
	    getsockname(fd, (struct sockaddr *)&server, &slen)) {
		admission_end(d->adm, owner);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		return;
	}
	start_pair(d, fd, &client, &server, owner);
}

static void accept_all(struct daemon *d, int lfd)
{
	struct sockaddr_storage client, server;
	socklen_t clen, slen;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct session *sess = NULL;
	int cfd, prio = XMCP_SOCK_PRIORITY;

	int n;

	/* paused (a server leg found no descriptor): the rest of the batch waits too */
	for (n = 0; n < ACCEPT_BATCH && !d->listen_paused; n++) {
		clen = sizeof(client);
		cfd = xmcp_accept(lfd, (struct sockaddr *)&client, &clen, SOCK_NONBLOCK | SOCK_CLOEXEC,
				  &d->fd_refused);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				pause_listeners(d);
			return;
		}
		slen = sizeof(server);
		/* tc handed us the SYN as it was: our local address is the server's. */
		if (getsockname(cfd, (struct sockaddr *)&server, &slen)) {
			close(cfd);
			continue;
		}
		if (is_listener_addr(d, &server)) {
			close(cfd);
			continue;
		}
		/* the MCP's server is named later, by the head; it is checked then */
		if (!d->mcp && refuse_destination(d, &server)) {
			setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(cfd);
			continue;
		}
		/* the daemon's own connection: its subflows will say so (XMCP_SOCK_PRIORITY) */
		setsockopt(cfd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio));
		if (xmcp_verbose)
			log_pair(&client, &server, xmcp_sock_protocol(cfd));
		if (d->adm && admission_admit(d->adm, cfd, &client, &sess)) {
			setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(cfd);
			publish_stats(d);
			continue;
		}
		if (d->mcp) {
			/* the server is named by the MP_CONVERT head, still to come */
			mcp_add(d->mcp, cfd, sess);
			continue;
		}
		if (d->upstream) {
			/* to an off-path MCP, the server named in the SYN's MP_CONVERT */
			upstream_add(d->upstream, cfd, &server);
			continue;
		}
		/* the marker mode's MPTCP clients: the marker first (terminate_tcp's plain TCP has none) */
		if (d->heads && xmcp_sock_protocol(cfd) == IPPROTO_MPTCP) {
			heads_add(d->heads, cfd, sess);
			continue;
		}
		start_pair(d, cfd, &client, &server, sess);
	}
}

static void end_session(void *adm, void *session)
{
	admission_end(adm, session);
}

/*
 * SIGTERM, SIGINT and SIGHUP go to a signalfd, blocked from the first
 * moment: a signal that came while the system is being changed would
 * otherwise kill the daemon between a change and its record. An ignored
 * signal is dropped before signalfd could see it, and a parent (a test
 * harness, a shell script) may have left SIGTERM or SIGINT ignored: take
 * the defaults back first.
 */
static int block_signals(struct daemon *d)
{
	sigset_t sigs;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	d->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0) {
		xmcp_err("cannot take signals through a signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void reload(struct daemon *d);
static void reload_policy(struct daemon *d, struct policy *np);

static void on_listen4(struct ev_handler *h, unsigned int events)
{
	struct daemon *d = container_of(h, struct daemon, on_listen4);

	accept_all(d, d->listen_fd[0]);
	publish_stats(d); /* new pairs show at once, not at the next tick */
}

static void on_listen6(struct ev_handler *h, unsigned int events)
{
	struct daemon *d = container_of(h, struct daemon, on_listen6);

	accept_all(d, d->listen_fd[1]);
	publish_stats(d);
}

static void on_signal(struct ev_handler *h, unsigned int events)
{
	struct daemon *d = container_of(h, struct daemon, on_signal);
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
			continue;
		}
		fprintf(stderr, "xmcp: %s, shutting down\n", strsignal(si.ssi_signo));
		d->stop = true;
	}
}

/* Every second: lifetimes and deadlines, the counters, the listeners after a pause. */
static void on_timer(struct ev_handler *h, unsigned int events)
{
	struct daemon *d = container_of(h, struct daemon, on_timer);
	__u64 ticks;

	if (read(d->timerfd, &ticks, sizeof(ticks)) <= 0)
		return;
	relay_expire(d->relay);
	if (d->mcp)
		mcp_expire(d->mcp);
	if (d->heads)
		heads_expire(d->heads);
	control_tick(d->control);
	metrics_tick(d->metrics);
	resume_listeners(d);
	publish_stats(d);
	warn_no_meta(d);
}

static json_object *control_answer(void *arg, const char *request);
static json_object *daemon_summary(void *arg);

/* The loop's own descriptors: listeners, signals, the tick, control and metrics. */
static int setup_loop(struct daemon *d)
{
	struct itimerspec tick = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };

	d->on_listen4.fn = on_listen4;
	d->on_listen6.fn = on_listen6;
	d->on_signal.fn = on_signal;
	d->on_timer.fn = on_timer;
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->timerfd < 0 || timerfd_settime(d->timerfd, 0, &tick, NULL) ||
	    ev_add(d->epfd, d->listen_fd[0], EPOLLIN, &d->on_listen4) ||
	    ev_add(d->epfd, d->listen_fd[1], EPOLLIN, &d->on_listen6) ||
	    ev_add(d->epfd, d->sigfd, EPOLLIN, &d->on_signal) ||
	    ev_add(d->epfd, d->timerfd, EPOLLIN, &d->on_timer)) {
		xmcp_err("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	/* the control socket's file, journaled: a killed daemon's goes with its other changes */
	struct journal_entry sock = { .op = J_FILE };

	if (xmcp_run_file(sock.text, sizeof(sock.text), "control", "sock") || journal_record(&d->journal, &sock))
		return -1;
	d->control = control_open(d->epfd, d->pol.control_gid, control_answer, d);
	if (!d->control)
		return -1;
	if (d->pol.has_metrics &&
	    !(d->metrics = metrics_open(d->epfd, &d->pol.metrics.sa, d->pol.metrics.len, daemon_summary, d)))
		return -1;
	return 0;
}

/* The parts of the daemon that hold connections: relay, admission, MCP, upstream, heads. */
static int setup_modules(struct daemon *d)
{
	d->relay = relay_new(d->epfd, d->pol.relay_copy ? RELAY_COPY : RELAY_SPLICE);
	if (!d->relay || !(d->dest = dest_check_new()))
		return -1;
	relay_set_timeouts(d->relay, d->pol.idle_timeout, d->pol.connect_timeout);
	if (d->pol.n_classes) {
		d->adm = admission_new(&d->pol, bpf_map__fd(d->dp.skel->maps.XMCP_MAP_SESSIONS),
				       bpf_map__fd(d->dp.skel->maps.XMCP_MAP_JOINS),
				       bpf_map__fd(d->dp.skel->maps.XMCP_MAP_JOINS_NEW));
		if (!d->adm)
			return -1;
		relay_on_end(d->relay, end_session, d->adm);
	}
	if (d->pol.off_path && !(d->upstream = upstream_new(&d->pol, d->epfd, d->relay)))
		return -1;
	if (d->pol.role == POL_ROLE_MCP && !(d->mcp = mcp_new(&d->pol, d->epfd, d->relay, d->dest)))
		return -1;
	if (d->pol.role == POL_ROLE_HAG && d->pol.marker &&
	    !(d->heads = heads_new(d->epfd, d->pol.head_timeout, marker_done, d)))
		return -1;
	return 0;
}

static int setup(struct daemon *d)
{
	struct journal_entry pins = { .op = J_PINS };

	if (block_signals(d) || check_syn_data(&d->pol))
		return -1;
	/* from here on, every change to the system is recorded before it is made */
	if (journal_open(&d->journal, xmcp_pin_dir))
		return -1;
	d->journaled = true;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -1;
	if (open_listeners(d))
		return -1;
	snprintf(pins.text, sizeof(pins.text), "%s", xmcp_pin_dir);
	if (journal_record(&d->journal, &pins) || dp_open(&d->dp, xmcp_pin_dir, DP_FOR_RUN, configure_rodata, d))
		return -1;
	d->dp_open = true;
	if (attach_all(d) || load_subscribers(d) || install_routing(d) || install_mptcp(d) ||
	    shaping_apply(&d->pol, bpf_program__fd(d->dp.skel->progs.XMCP_PROG_PATH),
			  bpf_map__fd(d->dp.skel->maps.xmcp_steer_ifs)))
		return -1;
	if (takes_syn_data(&d->pol) && enable_tfo_server(d))
		return -1;
	pins_unlock(&d->dp.pins); /* `xmcp detach` may run beside us */
	if (setup_modules(d)) {
		xmcp_err("cannot set up the daemon: %s", strerror(errno ?: ENOMEM));
		return -1;
	}
	xmcp_accept_reserve();
	if (setup_loop(d))
		return -1;
	/* all set up: what is left to do needs a few capabilities only (docs/security.md) */
	if (privs_drop(d->keep_sys_admin))
		xmcp_err("warning: running on with every capability it had");
	else
		xmcp_dbg("capabilities from now on: %s", privs_describe());
	return 0;
}

/* The first field a live reload can't change (a restart can), or NULL. */
static const char *fixed_field(const struct policy *a, const struct policy *b)
{
#define SAME(f) (!memcmp(&a->f, &b->f, sizeof(a->f)))
	if (!SAME(role))
		return "role";
	if (!SAME(lan) || !SAME(access) || !SAME(wan))
		return "interfaces";
	if (!SAME(listen_port) || !SAME(fwmark) || !SAME(table))
		return "listen_port, fwmark or table";
	if (!SAME(xdp_generic) || !SAME(marker) || !SAME(relay_copy) || !SAME(tcp_sockmap) ||
	    !SAME(terminate_tcp) || !SAME(origin_check))
		return "xdp_mode, marker, relay, tcp_pairs, terminate_tcp or origin_check";
	if (!SAME(n_paths) || !SAME(paths))
		return "paths";
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

static bool has_endpoint(const struct policy *p, const struct pol_endpoint *e)
{
	unsigned int i;

	for (i = 0; i < p->n_endpoints; i++)
		if (!memcmp(&p->endpoints[i], e, sizeof(*e)))
			return true;
	return false;
}

static int del_journaled_endpoint(const struct journal_entry *e)
{
	return pm_del_endpoint(e->ep.id);
}

/*
 * The kernel's endpoints from the running policy's to np's, by difference:
 * the ones np drops (or changes) go first, since a changed one keeps its
 * id, then np's new ones; each change journaled (a removed one as one to
 * add back), so a reload that fails undoes all of them. Removing an
 * endpoint closes the subflows on its address; their connections go on
 * over the others.
 */
static int sync_endpoints(struct daemon *d, const struct policy *old, const struct policy *np)
{
	struct journal_entry e = { .op = J_ENDPOINT_GONE };
	unsigned int i;

	for (i = 0; i < old->n_endpoints; i++) {
		if (has_endpoint(np, &old->endpoints[i]))
			continue;
		if (pm_endpoint_of(&old->endpoints[i], &e.ep) || journaled(d, &e, del_journaled_endpoint)) {
			xmcp_err("cannot remove MPTCP endpoint %u", old->endpoints[i].id);
			return -1;
		}
	}
	for (i = 0; i < np->n_endpoints; i++)
		if (!has_endpoint(old, &np->endpoints[i]) && add_policy_endpoint(d, &np->endpoints[i], i))
			return -1;
	return 0;
}

/* The path manager's limits to np's, or back to the ones before xmcp's when np sets none. */
static int sync_limits(struct daemon *d, const struct policy *np)
{
	const struct journal_entry *first = NULL;
	struct policy orig;
	unsigned int i;

	if (np->set_limits)
		return set_limits(d, np);
	for (i = 0; i < d->journal.n && !first; i++)
		if (d->journal.e[i].op == J_LIMITS)
			first = &d->journal.e[i];
	if (!first)
		return 0;
	orig.add_addr_accepted = first->a;
	orig.subflows = first->b;
	return set_limits(d, &orig);
}

/* A reload that failed: the datapath's maps as the running policy has them again. */
static void restore_maps(struct daemon *d, const struct policy *np)
{
	const struct policy *p = &d->pol;

	if (p->has_modes)
		load_modes(d, p);
	if (p->n_classes)
		admission_load_classes(p, bpf_map__fd(d->dp.skel->maps.XMCP_MAP_CLASSES));
	sync_subscribers(d, np, p);
}

/*
 * SIGHUP (`xmcp reload`): read the policy file again and apply what can
 * change under established pairs: endpoints and limits (by difference),
 * subscribers and their classes' limits, the modes' rules, forbidden,
 * transparent_source, idle_timeout, connect_timeout. A policy that fails the check, or
 * changes anything else, is refused and the running one stays.
 */
static void reload(struct daemon *d)
{
	struct policy *np = malloc(sizeof(*np));

	sd_notify(0, "RELOADING=1");
	reload_policy(d, np);
	free(np);
	sd_notify(0, "READY=1");
}

/* The reload itself; np (may be NULL: out of memory) is scratch space for the new policy. */
static void reload_policy(struct daemon *d, struct policy *np)
{
	const char *fixed;
	unsigned int mark;

	if (!np || policy_load(d->config, np)) {
		xmcp_err("reload refused: the running policy stays");
		return;
	}
	fixed = fixed_field(&d->pol, np);
	if (fixed) {
		xmcp_err("reload refused: %s can't change while running (restart xmcp run); "
			 "the running policy stays", fixed);
		return;
	}
	/*
	 * All or nothing: the kernel's state (journaled from mark on), then the
	 * datapath's maps; any step that fails undoes every one before it.
	 */
	mark = journal_mark(&d->journal);
	if (sync_endpoints(d, &d->pol, np) || sync_limits(d, np) ||
	    (np->has_modes && load_modes(d, np)) ||
	    (np->n_classes &&
	     admission_load_classes(np, bpf_map__fd(d->dp.skel->maps.XMCP_MAP_CLASSES))) ||
	    sync_subscribers(d, &d->pol, np)) {
		journal_undo_to(&d->journal, mark);
		restore_maps(d, np);
		xmcp_err("reload refused: the running policy stays");
		return;
	}
	journal_commit(&d->journal, mark);
	d->pol = *np; /* the MCP and upstream modules keep pointing at d->pol */
	relay_set_timeouts(d->relay, d->pol.idle_timeout, d->pol.connect_timeout);
	if (d->mcp)
		mcp_set_policy(d->mcp, &d->pol);
	if (d->heads)
		heads_set_timeout(d->heads, d->pol.head_timeout);
	fprintf(stderr, "xmcp: reloaded %s: %u subscriber prefixes, %u endpoints\n", d->config,
		d->pol.n_subscribers, d->pol.n_endpoints);
}

/*
 * How long the loop may sleep: in-kernel pairs that ended wait for their
 * last bytes, connects to an MCP have a deadline; else until an event.
 */
static int wait_ms(const struct daemon *d)
{
	int drain = relay_drain_ms(d->relay);

	if (d->upstream && upstream_busy(d->upstream) && (drain < 0 || drain > 20))
		return 20;
	return drain;
}

/* Paths with their subflows, classes with their sessions: what `xmcp stats` adds from us. */
static json_object *daemon_summary(void *arg)
{
	struct daemon *d = arg;
	unsigned long long sessions[POL_MAX_CLASSES] = { 0 };
	unsigned int i;

	for (i = 0; d->adm && i < POL_MAX_CLASSES; i++)
		sessions[i] = admission_sessions(d->adm, i);
	return summary_json(d->relay, &d->pol, sessions);
}

/* The control socket's requests (user/control.h): "flows" for `xmcp flows`, "summary" for stats. */
static json_object *control_answer(void *arg, const char *request)
{
	struct daemon *d = arg;

	if (!strcmp(request, "flows"))
		return flows_json(d->relay, &d->pol);
	if (!strcmp(request, "summary"))
		return daemon_summary(d);
	return NULL;
}

static void loop(struct daemon *d)
{
	struct epoll_event ev[MAX_EVENTS];
	int n, i;

	while (!d->stop) {
		n = epoll_wait(d->epfd, ev, MAX_EVENTS, wait_ms(d));
		if (n < 0 && errno != EINTR)
			return;
		for (i = 0; i < n; i++) {
			struct ev_handler *h = ev[i].data.ptr;

			h->fn(h, ev[i].events);
		}
		relay_drain(d->relay);
		if (d->upstream && upstream_busy(d->upstream))
			upstream_expire(d->upstream);
		/* what ended in this batch is freed only now (user/evloop.h) */
		relay_reap(d->relay);
		if (d->mcp)
			mcp_reap(d->mcp);
		if (d->heads)
			heads_reap(d->heads);
		control_reap(d->control);
	}
}

/*
 * One daemon per network namespace: they would share the rule, table and
 * limits. A dead one's journal is undone first (kill -9, a crash): its
 * programs, routes, endpoints, limits and pins are gone before we start.
 */
static int another_daemon(void)
{
	pid_t pid;
	int r = journal_recover(&pid);

	if (r > 0) {
		xmcp_err("xmcp run is already running in this network namespace (pid %d)", pid);
		return 1;
	}
	if (r < 0)
		return 1;
	if (pid)
		xmcp_err("cleaned up after an xmcp run (pid %d) that did not exit cleanly", pid);
	return 0;
}

/* -c FILE plus the common options; returns 0 with *config set, else an exit code + 1. */
static int parse_config_arg(int argc, char **argv, const char **config, void (*usage_fn)(FILE *))
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		XMCP_COMMON_LONGOPTS,
		{ 0 },
	};
	int opt, ret;

	*config = NULL;
	while ((opt = getopt_long(argc, argv, "c:" XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'c') {
			*config = optarg;
		} else if ((ret = xmcp_common_opt(opt, optarg))) {
			usage_fn(ret > 0 ? stdout : stderr);
			return ret > 0 ? 1 : 3;
		}
	}
	if (!*config || optind != argc) {
		usage_fn(stderr);
		return 3;
	}
	return 0;
}

static void reload_usage(FILE *f)
{
	fprintf(f, "Usage: xmcp reload\n"
		   "\n"
		   "Asks the xmcp run of this network namespace to read its policy file\n"
		   "again (SIGHUP). Endpoints and limits (by difference), subscribers,\n"
		   "class limits, modes' rules, forbidden, transparent_source,\n"
		   "idle_timeout and connect_timeout change live; anything else needs a\n"
		   "restart. The daemon logs the outcome; a policy that fails the check\n"
		   "is refused and the running one stays.\n");
}

int cmd_reload(int argc, char **argv)
{
	static const struct option longopts[] = { XMCP_COMMON_LONGOPTS, { 0 } };
	pid_t pid;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if ((ret = xmcp_common_opt(opt, optarg))) {
			reload_usage(ret > 0 ? stdout : stderr);
			return ret > 0 ? 0 : 2;
		}
	}
	if (optind != argc) {
		reload_usage(stderr);
		return 2;
	}
	if (xmcp_require_root())
		return 1;
	pid = journal_daemon();
	if (!pid) {
		xmcp_err("no xmcp run in this network namespace");
		return 1;
	}
	if (kill(pid, SIGHUP)) {
		xmcp_err("cannot signal xmcp run (pid %d): %s", pid, strerror(errno));
		return 1;
	}
	printf("asked xmcp run (pid %d) to reload its policy\n", pid);
	return 0;
}

static void check_usage(FILE *f)
{
	fprintf(f, "Usage: xmcp check -c POLICY.json\n"
		   "\n"
		   "Validates a policy as 'xmcp run' would, without touching the system:\n"
		   "prints 'FILE: field.path: what is wrong' and exits 1, or exits 0.\n");
}

int cmd_check(int argc, char **argv)
{
	struct policy pol;
	const char *config;
	int ret = parse_config_arg(argc, argv, &config, check_usage);

	if (ret)
		return ret - 1;
	if (policy_load(config, &pol))
		return 1;
	printf("%s: a valid %s policy\n", config, policy_role_name(pol.role));
	return 0;
}

/* The relay's account, on the way out: what an operator checks after a run. */
static void log_summary(const struct daemon *d)
{
	const struct relay_stats *st = relay_stats(d->relay);
	unsigned int i;

	fprintf(stderr,
		"xmcp: %llu pairs: %llu closed, %llu aborted, %llu idle, %llu failed to connect, "
		"%llu without their marker, %llu MPTCP fell back to TCP; "
		"%llu bytes client->server, %llu server->client, %llu of them passed on after a reset\n",
		st->pairs_opened, st->pairs_closed, st->pairs_aborted, st->idle_expired, st->connect_failed,
		d->bad_marker, st->fallback, st->bytes[0], st->bytes[1], st->delivered_after_reset);
	for (i = 0; d->upstream && i < d->pol.n_mcps; i++) {
		const struct upstream_cand_stats *c = upstream_stats(d->upstream, i);

		fprintf(stderr, "xmcp: MCP %s: %llu tried, %llu connected, %llu failed\n",
			d->pol.mcps[i].text, c->tried, c->connected, c->failed);
	}
	if (d->mcp) {
		const struct mcp_stats *m = mcp_stats(d->mcp);

		fprintf(stderr,
			"xmcp: mcp: %llu converted; reset: %llu without MP_CONVERT, %llu with a broken one, "
			"%llu to a refused destination, %llu without a head, %llu failed to connect; "
			"%llu source options not allowed\n",
			m->converted, m->no_convert, m->bad_convert, m->forbidden, m->no_head,
			m->connect_error, m->source_refused);
	}
}

int cmd_run(int argc, char **argv)
{
	struct daemon d = { .listen_fd = { -1, -1 }, .epfd = -1, .sigfd = -1, .timerfd = -1 };
	const char *config;
	int ret = parse_config_arg(argc, argv, &config, usage);

	if (ret)
		return ret - 1;
	if (policy_load(config, &d.pol))
		return 1;
	d.config = config;
	if (xmcp_require_root())
		return 1;
	if (another_daemon())
		return 1;
	xmcp_raise_nofile();
	if (setup(&d)) {
		teardown(&d);
		return 1;
	}
	fprintf(stderr, "xmcp: running as %s, listening on 127.0.0.1/[::1] port %u\n",
		policy_role_name(d.pol.role), d.listen_port);
	/* systemd (Type=notify): the datapath is in place now, not when the process started */
	sd_notifyf(0, "READY=1\nSTATUS=running as %s", policy_role_name(d.pol.role));
	loop(&d);
	sd_notify(0, "STOPPING=1");
	/* the pairs still open are reset now: the summary counts them as aborted */
	relay_abort_all(d.relay);
	log_summary(&d);
	teardown(&d);
	return 0;
}
