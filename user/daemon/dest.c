// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "daemon/dest.h"
#include "lib/util.h"
#include "xmcp_addr.h"

struct dest_check {
	struct mnl_socket *nl;
	unsigned int portid;
	unsigned int seq;
	unsigned long long refused;
};

struct dest_check *dest_check_new(void)
{
	struct dest_check *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return NULL;
	dc->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!dc->nl || mnl_socket_bind(dc->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		xmcp_err("cannot open rtnetlink for the destination checks: %s", strerror(errno));
		dest_check_free(dc);
		return NULL;
	}
	dc->portid = mnl_socket_get_portid(dc->nl);
	dc->seq = time(NULL);
	return dc;
}

void dest_check_free(struct dest_check *dc)
{
	if (!dc)
		return;
	if (dc->nl)
		mnl_socket_close(dc->nl);
	free(dc);
}

void dest_canonical(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct xmcp_addr a;

	if (ss->ss_family != AF_INET6)
		return;
	xmcp_addr_from6(&a, &s6->sin6_addr);
	if (!xmcp_addr_is4(&a))
		return;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, xmcp_addr_v4(&a), 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s4, sizeof(s4));
}

static const char *verdict_name(int v)
{
	switch (v) {
	case XMCP_ADDR_UNSPECIFIED:
		return "an unspecified address";
	case XMCP_ADDR_LOOPBACK:
		return "a loopback address";
	case XMCP_ADDR_LINK_LOCAL:
		return "a link-local address";
	case XMCP_ADDR_MULTICAST:
		return "a multicast address";
	case XMCP_ADDR_BROADCAST:
		return "the broadcast address";
	}
	return NULL;
}

static int route_type_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWROUTE && mnl_nlmsg_get_payload_len(nlh) >= sizeof(*rtm))
		*(int *)data = rtm->rtm_type;
	return MNL_CB_OK;
}

/*
 * The type of the route the kernel would take to dst ("ip route get"):
 * RTN_UNICAST, RTN_LOCAL, ...; -1 when the kernel says there is none (no
 * route: the connect fails on its own); -2 when it could not be asked,
 * which refuses (never a connection unchecked). No source address in the lookup: a
 * foreign one is refused by an output lookup, and the local table is
 * consulted first whatever the source.
 */
static int route_type(struct dest_check *dc, const struct sockaddr_storage *dst)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	size_t alen = dst->ss_family == AF_INET ? 4 : 16;
	int type = -1, n;

	memset(buf, 0, 256);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++dc->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->ss_family;
	rtm->rtm_dst_len = alen * 8;
	mnl_attr_put(nlh, RTA_DST, alen, xmcp_sa_addr(dst));
	if (mnl_socket_sendto(dc->nl, nlh, nlh->nlmsg_len) < 0)
		return -2;
	n = mnl_socket_recvfrom(dc->nl, buf, sizeof(buf));
	if (n <= 0)
		return -2;
	if (mnl_cb_run(buf, n, dc->seq, dc->portid, route_type_cb, &type) < 0)
		return errno == ENETUNREACH || errno == EHOSTUNREACH || errno == EINVAL ? -1 : -2;
	return type;
}

static bool forbidden(const struct policy *p, const struct sockaddr_storage *dst)
{
	unsigned int i;

	for (i = 0; i < p->n_forbidden; i++)
		if (pol_prefix_contains(&p->forbidden[i], dst->ss_family, xmcp_sa_addr(dst)))
			return true;
	return false;
}

unsigned long long dest_check_refused(const struct dest_check *dc)
{
	return dc ? dc->refused : 0;
}

static const char *why_refused(struct dest_check *dc, const struct policy *p, struct sockaddr_storage *dst)
{
	struct xmcp_addr a;
	const char *why;

	dest_canonical(dst);
	if (dst->ss_family == AF_INET)
		xmcp_addr_from4(&a, xmcp_sa_addr(dst));
	else if (dst->ss_family == AF_INET6)
		xmcp_addr_from6(&a, xmcp_sa_addr(dst));
	else
		return "not an IP address";
	why = verdict_name(xmcp_addr_verdict(&a));
	if (why)
		return why;
	if (forbidden(p, dst))
		return "forbidden by the policy";
	switch (route_type(dc, dst)) {
	case RTN_LOCAL:
		return "a local address of this gateway";
	case RTN_BROADCAST:
		return "a broadcast address";
	case RTN_MULTICAST:
		return "a multicast address";
	case RTN_ANYCAST:
		return "an anycast address of this gateway";
	case -2:
		return "the route lookup failed";
	}
	return NULL;
}

const char *dest_refused(struct dest_check *dc, const struct policy *p, struct sockaddr_storage *dst)
{
	const char *why = why_refused(dc, p, dst);

	if (why)
		dc->refused++;
	return why;
}
