// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/mptcp.h>

#include "kernel/mptcp_pm.h"

/* Mirror the UAPI constants we build requests from; fail the build on drift. */
#if MPTCP_PM_VER != 1
#error "unexpected MPTCP path-manager netlink version"
#endif

struct genl {
	struct mnl_socket *nl;
	unsigned int portid;
	__u16 family_id;
};

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U16) >= 0)
		*(__u16 *)data = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb, data);
}

static struct nlmsghdr *genl_start(char *buf, __u16 type, __u8 cmd, __u16 flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = time(NULL);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : MPTCP_PM_VER;
	return nlh;
}

/* Send and run cb over every answer until the ack. */
static int genl_talk(struct genl *g, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int ret;

	if (mnl_socket_sendto(g->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((ret = mnl_socket_recvfrom(g->nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, g->portid, cb, data);
		if (ret <= MNL_CB_STOP)
			break;
	}
	return ret < 0 ? -errno : 0;
}

static int genl_open(struct genl *g)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int err;

	g->family_id = 0;
	g->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!g->nl)
		return -errno;
	if (mnl_socket_bind(g->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(g->nl);
		return err;
	}
	g->portid = mnl_socket_get_portid(g->nl);
	memset(buf, 0, sizeof(buf));
	nlh = genl_start(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MPTCP_PM_NAME);
	err = genl_talk(g, nlh, family_cb, &g->family_id);
	if (!err && !g->family_id)
		err = -ENOENT;
	if (err) {
		mnl_socket_close(g->nl);
		return err == -ENOENT ? -EPROTONOSUPPORT : err; /* kernel without MPTCP */
	}
	return 0;
}

static int pm_request_flags(__u8 cmd, __u16 flags, int (*fill)(struct nlmsghdr *, const void *),
			    const void *arg, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct genl g;
	int err = genl_open(&g);

	if (err)
		return err;
	memset(buf, 0, sizeof(buf)); /* attribute padding goes on the wire too */
	nlh = genl_start(buf, g.family_id, cmd, flags);
	if (fill)
		fill(nlh, arg);
	err = genl_talk(&g, nlh, cb, data);
	mnl_socket_close(g.nl);
	return err;
}

static int pm_request(__u8 cmd, int (*fill)(struct nlmsghdr *, const void *), const void *arg,
		      mnl_cb_t cb, void *data)
{
	return pm_request_flags(cmd, NLM_F_ACK, fill, arg, cb, data);
}

static int fill_endpoint(struct nlmsghdr *nlh, const void *arg)
{
	const struct pm_endpoint *e = arg;
	struct nlattr *nest = mnl_attr_nest_start(nlh, MPTCP_PM_ATTR_ADDR);

	mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, e->family);
	mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, e->id);
	if (e->family == AF_INET)
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR4, 4, e->addr);
	else
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR6, 16, e->addr);
	mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_FLAGS, e->flags);
	if (e->port)
		mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_PORT, e->port);
	if (e->ifindex)
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_IF_IDX, e->ifindex);
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

static int fill_id(struct nlmsghdr *nlh, const void *arg)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, MPTCP_PM_ATTR_ADDR);

	mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, *(const __u8 *)arg);
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

static int fill_limits(struct nlmsghdr *nlh, const void *arg)
{
	const __u32 *l = arg;

	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_RCV_ADD_ADDRS, l[0]);
	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_SUBFLOWS, l[1]);
	return 0;
}

static int limits_attr_cb(const struct nlattr *attr, void *data)
{
	__u32 *l = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	if (type == MPTCP_PM_ATTR_RCV_ADD_ADDRS)
		l[0] = mnl_attr_get_u32(attr);
	else if (type == MPTCP_PM_ATTR_SUBFLOWS)
		l[1] = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int limits_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), limits_attr_cb, data);
}

int pm_add_endpoint(const struct pm_endpoint *e)
{
	return pm_request(MPTCP_PM_CMD_ADD_ADDR, fill_endpoint, e, NULL, NULL);
}

int pm_del_endpoint(__u8 id)
{
	return pm_request(MPTCP_PM_CMD_DEL_ADDR, fill_id, &id, NULL, NULL);
}

int pm_get_limits(__u32 *add_addr_accepted, __u32 *subflows)
{
	__u32 l[2] = { 0, 0 };
	int err = pm_request(MPTCP_PM_CMD_GET_LIMITS, NULL, NULL, limits_cb, l);

	*add_addr_accepted = l[0];
	*subflows = l[1];
	return err;
}

int pm_set_limits(__u32 add_addr_accepted, __u32 subflows)
{
	__u32 l[2] = { add_addr_accepted, subflows };

	return pm_request(MPTCP_PM_CMD_SET_LIMITS, fill_limits, l, NULL, NULL);
}

/* An endpoint as a dump shows it, and what the search is after. */
struct implicit_search {
	struct pm_endpoint cur;
	const struct pm_endpoint *want;
	__u8 ids[256];
	unsigned int n;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	struct pm_endpoint *e = data;

	switch (mnl_attr_get_type(attr)) {
	case MPTCP_PM_ADDR_ATTR_FAMILY:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) >= 0)
			e->family = mnl_attr_get_u16(attr);
		break;
	case MPTCP_PM_ADDR_ATTR_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) >= 0)
			e->id = mnl_attr_get_u8(attr);
		break;
	case MPTCP_PM_ADDR_ATTR_FLAGS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			e->flags = mnl_attr_get_u32(attr);
		break;
	case MPTCP_PM_ADDR_ATTR_ADDR4:
		if (mnl_attr_get_payload_len(attr) == 4)
			memcpy(e->addr, mnl_attr_get_payload(attr), 4);
		break;
	case MPTCP_PM_ADDR_ATTR_ADDR6:
		if (mnl_attr_get_payload_len(attr) == 16)
			memcpy(e->addr, mnl_attr_get_payload(attr), 16);
		break;
	}
	return MNL_CB_OK;
}

static int endpoint_attr_cb(const struct nlattr *attr, void *data)
{
	struct implicit_search *s = data;
	const struct pm_endpoint *w = s->want;
	size_t alen = w->family == AF_INET ? 4 : 16;

	if (mnl_attr_get_type(attr) != MPTCP_PM_ATTR_ADDR || mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
		return MNL_CB_OK;
	memset(&s->cur, 0, sizeof(s->cur));
	mnl_attr_parse_nested(attr, addr_attr_cb, &s->cur);
	if ((s->cur.flags & MPTCP_PM_ADDR_FLAG_IMPLICIT) &&
	    (s->cur.id == w->id || (s->cur.family == w->family && !memcmp(s->cur.addr, w->addr, alen))) &&
	    s->n < sizeof(s->ids))
		s->ids[s->n++] = s->cur.id;
	return MNL_CB_OK;
}

static int endpoint_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), endpoint_attr_cb, data);
}

int pm_del_implicit_clash(const struct pm_endpoint *e)
{
	struct implicit_search s = { .want = e };
	unsigned int i;
	int err = pm_request_flags(MPTCP_PM_CMD_GET_ADDR, NLM_F_DUMP, NULL, NULL, endpoint_cb, &s);

	for (i = 0; !err && i < s.n; i++)
		err = pm_del_endpoint(s.ids[i]);
	return err ? err : (int)s.n;
}
