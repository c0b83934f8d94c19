// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "kernel/netlink.h"
#include "lib/util.h"
#include "xmcp_maps.h"

/* Send one request and run cb (may be NULL) on the reply; returns 0 or a negative errno. */
static int nl_talk_cb(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, portid, cb, data);
	ret = ret < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return ret;
}

/* Send one request and wait for its ack; returns 0 or a negative errno. */
static int nl_talk(struct nlmsghdr *nlh)
{
	return nl_talk_cb(nlh, NULL, NULL);
}

/* The buffer is zeroed first: attribute padding goes on the wire too. */
static struct nlmsghdr *nl_start_zeroed(char *buf, size_t size, __u16 type, bool add)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, size);
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	return nlh;
}

int nl_fwmark_rule(bool add, int family, __u32 mark, __u32 table, __u32 prio, bool suppress_default)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_start_zeroed(buf, sizeof(buf), add ? RTM_NEWRULE : RTM_DELRULE, add);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = RT_TABLE_UNSPEC; /* the real one is in FRA_TABLE (32 bits) */
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	if (suppress_default)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
	return nl_talk(nlh);
}

int nl_path_default(bool add, int family, __u32 table, int ifindex, const void *via)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_start_zeroed(buf, sizeof(buf), add ? RTM_NEWROUTE : RTM_DELROUTE, add);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = family;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	/* a delete matches any scope only with NOWHERE (the kernel checks it for IPv4) */
	rtm->rtm_scope = !add ? RT_SCOPE_NOWHERE : via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (add) {
		mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
		if (via)
			mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, via);
	}
	return nl_talk(nlh);
}

int nl_local_route(bool add, int family, __u32 table, const void *dst)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_start_zeroed(buf, sizeof(buf), add ? RTM_NEWROUTE : RTM_DELROUTE, add);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	unsigned int lo = if_nametoindex("lo"), alen = family == AF_INET ? 4 : 16;

	if (!lo)
		return -ENODEV;
	rtm->rtm_family = family;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_HOST;
	rtm->rtm_type = RTN_LOCAL;
	if (dst) {
		rtm->rtm_dst_len = alen * 8;
		mnl_attr_put(nlh, RTA_DST, alen, dst);
		/* IPv6 would take metric 1024 and sit beside an address's own local route (metric 0): clash instead */
		if (family == AF_INET6)
			mnl_attr_put_u32(nlh, RTA_PRIORITY, 0);
	}
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_OIF, lo);
	return nl_talk(nlh);
}

int nl_dev_addr(bool add, int ifindex, int family, const void *addr, unsigned int len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_start_zeroed(buf, sizeof(buf), add ? RTM_NEWADDR : RTM_DELADDR, add);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	unsigned int alen = family == AF_INET ? 4 : 16;

	ifa->ifa_family = family;
	ifa->ifa_prefixlen = len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	/* no duplicate detection (the address is shared on purpose), no route of its own */
	if (add)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
	return nl_talk(nlh);
}

int nl_del_kernel_route(int family, unsigned char type, const void *dst, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_start_zeroed(buf, sizeof(buf), RTM_DELROUTE, false);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	unsigned int alen = family == AF_INET ? 4 : 16;
	int err;

	rtm->rtm_family = family;
	rtm->rtm_table = RT_TABLE_LOCAL;
	rtm->rtm_scope = RT_SCOPE_NOWHERE; /* any scope: the kernel's are host (local) and link (broadcast) */
	rtm->rtm_type = type;
	rtm->rtm_dst_len = alen * 8;
	mnl_attr_put(nlh, RTA_DST, alen, dst);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	err = nl_talk(nlh);
	return err == -ENOENT ? -ESRCH : err;
}

static int route_oif_attr(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == RTA_OIF && mnl_attr_get_payload_len(attr) >= 4)
		*(int *)data = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int route_oif_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct rtmsg), route_oif_attr, data);
}

int nl_route_oif(int family, const void *dst, const void *src, __u32 mark)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_start_zeroed(buf, sizeof(buf), RTM_GETROUTE, false);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	size_t alen = family == AF_INET ? 4 : 16;
	int oif = -ENOENT, err;

	nlh->nlmsg_flags = NLM_F_REQUEST; /* the answer is the route itself, no ack */
	rtm->rtm_family = family;
	rtm->rtm_dst_len = alen * 8;
	mnl_attr_put(nlh, RTA_DST, alen, dst);
	if (src)
		mnl_attr_put(nlh, RTA_SRC, alen, src);
	if (mark)
		mnl_attr_put_u32(nlh, RTA_MARK, mark);
	err = nl_talk_cb(nlh, route_oif_cb, &oif);
	return err ? err : oif;
}

#define TW_MAX 256

struct tw_dump {
	const void *addr;
	size_t alen;
	__u16 port; /* network order */
	unsigned int n;
	struct inet_diag_sockid ids[TW_MAX];
};

static int class_id_attr(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == INET_DIAG_CLASS_ID && mnl_attr_get_payload_len(attr) >= 4)
		*(__u32 *)data = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

/*
 * A closed connection on the address and port that xmcp may remove: one
 * with nothing left to send (TIME_WAIT, FIN_WAIT2, or any whose bytes were
 * all acknowledged), or one of the daemon's own, which carry its priority
 * (XMCP_SOCK_PRIORITY, which sock_diag reports as the class id). Anyone
 * else's, with bytes still to deliver, is left alone.
 */
static int tw_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct tw_dump *t = data;
	__u32 class_id = 0;

	if (m->id.idiag_sport != t->port || memcmp(m->id.idiag_src, t->addr, t->alen) || t->n >= TW_MAX)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*m), class_id_attr, &class_id);
	if (!m->idiag_wqueue || class_id == XMCP_SOCK_PRIORITY)
		t->ids[t->n++] = m->id;
	return MNL_CB_OK;
}

/* One sock_diag request on nl: a dump (flags NLM_F_DUMP) into cb, or a destroy. */
static int diag_talk(struct mnl_socket *nl, __u16 type, __u16 flags, const struct inet_diag_req_v2 *req,
		     mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	unsigned int portid = mnl_socket_get_portid(nl);
	int ret;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = time(NULL);
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(*req)), req, sizeof(*req));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((ret = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, portid, cb, data);
		if (ret <= MNL_CB_STOP)
			break;
	}
	return ret < 0 ? -errno : 0;
}

/* The states of a connection its owner has closed: nobody reads or writes it any more. */
#define CLOSED_STATES                                                                          \
	((1 << TCP_FIN_WAIT1) | (1 << TCP_FIN_WAIT2) | (1 << TCP_CLOSING) | (1 << TCP_LAST_ACK) | \
	 (1 << TCP_TIME_WAIT))

int nl_destroy_closed(int family, const void *addr, __u16 port)
{
	/* the class id comes with the traffic class (idiag_ext has only 8 bits) */
	struct inet_diag_req_v2 req = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
					.idiag_states = CLOSED_STATES,
					.idiag_ext = 1 << (INET_DIAG_TCLASS - 1) };
	unsigned int round;
	struct tw_dump *t = calloc(1, sizeof(*t));
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	unsigned int i, gone = 0;
	int err = -ENOMEM;

	if (!t || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = t ? -errno : -ENOMEM;
		goto out;
	}
	t->addr = addr;
	t->alen = family == AF_INET ? 4 : 16;
	t->port = htons(port);
	/* TW_MAX at a time: after a busy run there are thousands (one per join) */
	do {
		t->n = 0;
		round = gone;
		req.id = (struct inet_diag_sockid){ 0 };
		err = diag_talk(nl, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &req, tw_dump_cb, t);
		for (i = 0; !err && i < t->n; i++) {
			req.id = t->ids[i];
			if (!diag_talk(nl, SOCK_DESTROY, NLM_F_ACK, &req, NULL, NULL))
				gone++;
		}
		/* a full batch means more may wait; a batch none of which went would come back */
	} while (!err && t->n == TW_MAX && gone > round);
out:
	if (nl)
		mnl_socket_close(nl);
	free(t);
	return err ? err : (int)gone;
}
