// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's changes to the system's routing and MPTCP state: the
 * fwmark rule and local routes, MPTCP endpoints and limits, the TCP Fast
 * Open sysctl (devices' programs and qdiscs: daemon/maps.c and
 * kernel/shaping.c). Each is recorded in the undo journal before it is made
 * (user/install/journal.h), so teardown, a crash's recovery and a failed reload
 * undo exactly what was done.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/mptcp.h>
#include <linux/rtnetlink.h>

#include "daemon/daemon.h"
#include "kernel/mptcp_pm.h"
#include "kernel/netlink.h"
#include "lib/util.h"

#define RULE_PRIORITY 100

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
	return nl_fwmark_rule(true, e->family, e->a, e->b, e->c, e->value);
}

static int add_route(const struct journal_entry *e)
{
	return nl_local_route(true, e->family, e->a, NULL);
}

int install_routing(struct daemon *d)
{
	const struct policy *p = d->pol;
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
 * The HCPE's paths, when "health" chooses among them: path i's sockets
 * carry mark fwmark + 1 + i (SO_MARK; MPTCP gives it to every subflow).
 * Two rules per mark: the main table without its default route (so a join
 * to the HAG's address on another line, a connected route, still goes by
 * that line), then the path's own table, table + 1 + i, whose only route
 * is the default through the line's next hop. So the first subflow, to the
 * server's address, leaves by the chosen line; subflows to addresses the
 * main table has a route for (the HAG's, announced) keep that route.
 */
#define PATH_RULE_MAIN 101
#define PATH_RULE_TABLE 102

static int add_path_route(const struct journal_entry *e)
{
	__u8 via[16];

	if (e->text[0] && inet_pton(e->family, e->text, via) != 1)
		return -EINVAL;
	return nl_path_default(true, e->family, e->a, e->b, e->text[0] ? via : NULL);
}

/* Whether a device has no link-layer neighbours (PPP, a tunnel): a route needs no next hop there. */
static bool point_to_point(const char *dev)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ok = fd >= 0 && !ioctl(fd, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & (IFF_POINTOPOINT | IFF_NOARP));
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The path's next hop of family fam (network order), or NULL. */
static const __u8 *path_via(const struct pol_path *pp, int fam)
{
	unsigned int k;

	for (k = 0; k < pp->n_via; k++)
		if (pp->via[k].family == fam)
			return pp->via[k].addr;
	return NULL;
}

/*
 * Per path: the families whose route this process installed (and only
 * those are repaired: the journal knows them), and what the last repair
 * found, per family, to say each change once.
 */
static struct {
	bool installed[2];
	int err[2];
	int ifindex;
} repair_seen[POL_MAX_PATHS];

/* Path i's default route of one family into its table; 1 when it has none (no next hop), 0, or -1. */
static int install_path_route(struct daemon *d, unsigned int i, int fam)
{
	const struct pol_path *pp = &d->pol->paths[i];
	struct journal_entry e = { .op = J_PATH_ROUTE, .family = fam, .a = d->pol->table + 1 + i };
	const __u8 *via = path_via(pp, fam);
	int err, ifindex = xmcp_ifindex(pp->ifname);

	if (ifindex < 0)
		return -1;
	e.b = ifindex;
	if (via)
		inet_ntop(fam, via, e.text, sizeof(e.text));
	if (!e.text[0] && !point_to_point(pp->ifname)) {
		fprintf(stderr, "xmcp: path %s: no %s next hop (\"via\") on %s: its %s connections "
				"follow the routing table\n", pp->name, fam == AF_INET ? "IPv4" : "IPv6", pp->ifname,
			fam == AF_INET ? "IPv4" : "IPv6");
		return 1;
	}
	err = journaled(d, &e, add_path_route);
	if (err)
		xmcp_err("path %s: cannot add the default route %s%s dev %s to table %u: %s", pp->name,
			 e.text[0] ? "via " : "", e.text, pp->ifname, e.a, strerror(-err));
	repair_seen[i].installed[fam == AF_INET6] = !err;
	return err ? -1 : 0;
}

/* One family's route of path i put back if it is gone; says so, and each new failure, once. */
static void repair_route(const struct policy *p, unsigned int i, unsigned int f, int ifindex)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	const struct pol_path *pp = &p->paths[i];
	const __u8 *via = path_via(pp, fams[f]);
	char text[INET6_ADDRSTRLEN] = "";
	int err;

	if (!repair_seen[i].installed[f])
		return;
	if (via)
		inet_ntop(fams[f], via, text, sizeof(text));
	err = nl_path_default(true, fams[f], p->table + 1 + i, ifindex, via);
	if (err == -EEXIST)
		err = 0;
	else if (!err)
		fprintf(stderr, "xmcp: path %s: its %s default route was gone (%s went down or lost its address): "
				"put back\n", pp->name, fams[f] == AF_INET ? "IPv4" : "IPv6", pp->ifname);
	else if (err != repair_seen[i].err[f])
		xmcp_err("path %s: cannot put its %s default route %s%s back on %s: %s (tried each second)", pp->name,
			 fams[f] == AF_INET ? "IPv4" : "IPv6", text[0] ? "via " : "", text, pp->ifname, strerror(-err));
	repair_seen[i].err[f] = err;
}

/*
 * Once a second: the kernel flushes a path's route when its device is set
 * down or loses the address that reached the next hop (a modem reset, a
 * line re-addressed), and does not put it back; a path can even be up
 * again without it (its HAG's probes reach the HAG by the connected route).
 * Cheap when nothing is missing: one netlink request per path and family,
 * refused as existing. The journal undoes the route by its table, whatever
 * the device's index now.
 */
void install_paths_repair(struct daemon *d)
{
	const struct policy *p = d->pol;
	unsigned int i, f;
	int ifindex;

	for (i = 0; p->health.on && i < p->n_paths; i++) {
		if (!(ifindex = if_nametoindex(p->paths[i].ifname)))
			continue;
		if (repair_seen[i].ifindex && ifindex != repair_seen[i].ifindex)
			xmcp_err("path %s: %s is a new device (index %d, was %d): its route is put back, but xmcp's "
				 "programs are on the old one: restart xmcp", p->paths[i].name, p->paths[i].ifname,
				 ifindex, repair_seen[i].ifindex);
		repair_seen[i].ifindex = ifindex;
		for (f = 0; f < 2; f++)
			repair_route(p, i, f, ifindex);
	}
}

int install_paths(struct daemon *d)
{
	const struct policy *p = d->pol;
	unsigned int i;
	int fam, err, r;

	for (i = 0; p->health.on && i < p->n_paths; i++)
		for (fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
			r = install_path_route(d, i, fam);
			if (r < 0)
				return -1;
			if (r)
				continue;
			err = journaled(d, &(struct journal_entry){ .op = J_RULE, .family = fam,
								    .a = p->fwmark + 1 + i, .b = RT_TABLE_MAIN,
								    .c = PATH_RULE_MAIN, .value = 1 },
					add_rule) ?:
			      journaled(d, &(struct journal_entry){ .op = J_RULE, .family = fam,
								    .a = p->fwmark + 1 + i, .b = p->table + 1 + i,
								    .c = PATH_RULE_TABLE },
					add_rule);
			if (err) {
				xmcp_err("path %s: cannot add the rules of mark %#x: %s", p->paths[i].name,
					 p->fwmark + 1 + i, strerror(-err));
				return -1;
			}
		}
	return 0;
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
int install_mptcp(struct daemon *d)
{
	const struct policy *p = d->pol;
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

int install_tfo_server(struct daemon *d)
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
int install_sync_endpoints(struct daemon *d, const struct policy *old, const struct policy *np)
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
int install_sync_limits(struct daemon *d, const struct policy *np)
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


#define SYSCTL_BLACKHOLE "/proc/sys/net/mptcp/blackhole_timeout"

static int no_blackhole(const struct journal_entry *e)
{
	(void)e;
	return xmcp_sysctl_set(SYSCTL_BLACKHOLE, 0);
}

/*
 * An HCPE: the kernel's MPTCP blackhole detection off (6.12 and later). It
 * takes an MP_CAPABLE SYN retransmitted twice, then answered without the
 * option, for a firewall that drops MPTCP, and turns MPTCP off for every
 * new connection of the namespace for net.mptcp.blackhole_timeout (an
 * hour, doubling when it comes again). A line that goes down while a leg
 * connects and is back within seconds does exactly that: a modem resyncing
 * would cost the subscriber bonding for an hour. The HAGs are the
 * operator's, and the paths' probes and SYN races already deal with lines
 * that drop everything. A kernel without the sysctl has no detection.
 */
int install_no_blackhole(struct daemon *d)
{
	struct journal_entry e = { .op = J_SYSCTL, .text = SYSCTL_BLACKHOLE };
	int err = xmcp_sysctl_get(SYSCTL_BLACKHOLE, &e.value);

	if (err == -ENOENT || (!err && !e.value))
		return 0;
	if (!err)
		err = journaled(d, &e, no_blackhole);
	if (err) {
		xmcp_err("cannot set net.mptcp.blackhole_timeout to 0: %s", strerror(-err));
		return -1;
	}
	return 0;
}

#define SYSCTL_JOIN_INITIAL "/proc/sys/net/mptcp/allow_join_initial_addr_port"

static int deny_join_initial(const struct journal_entry *e)
{
	return xmcp_sysctl_set(SYSCTL_JOIN_INITIAL, 0);
}

static int add_local_address(const struct journal_entry *e)
{
	__u8 addr[16];

	if (inet_pton(e->family, e->text, addr) != 1)
		return -EINVAL;
	return nl_local_route(true, e->family, e->a, addr);
}

/*
 * An MCP sharing addresses with others (user/daemon/announce.h): the
 * MP_CAPABLE C flag on every connection (the namespace's
 * net.mptcp.allow_join_initial_addr_port 0: clients do not join the address
 * they connected to, and a join that comes anyway is refused), and each
 * shared address the host's own by a local route on lo, which a drain leaves
 * in place.
 */
int install_announce(struct daemon *d)
{
	const struct pol_announce *a = &d->pol->announce;
	struct journal_entry e = { .op = J_SYSCTL, .text = SYSCTL_JOIN_INITIAL };
	unsigned int i;
	int err;

	if (!a->n || a->prefixes) /* a HAG's prefixes need neither: see announce.h */
		return 0;
	err = xmcp_sysctl_get(SYSCTL_JOIN_INITIAL, &e.value);
	if (!err && e.value)
		err = journaled(d, &e, deny_join_initial);
	if (err) {
		xmcp_err("cannot set net.mptcp.allow_join_initial_addr_port to 0: %s", strerror(-err));
		return -1;
	}
	for (i = 0; i < a->n; i++) {
		e = (struct journal_entry){ .op = J_ROUTE, .family = a->addr[i].family, .a = RT_TABLE_LOCAL };
		inet_ntop(e.family, a->addr[i].addr, e.text, sizeof(e.text));
		err = journaled(d, &e, add_local_address);
		if (err) {
			xmcp_err("anycast: cannot add \"local %s dev lo table local\": %s%s", e.text, strerror(-err),
				 err == -EEXIST ? " (the address is set on this host already: leave that to the daemon)"
						: "");
			return -1;
		}
	}
	return 0;
}
