// SPDX-License-Identifier: GPL-2.0
/*
 * The policy in the datapath: xmcp's programs on the policy's devices,
 * each with its steering mode (the role says which), and the subscriber,
 * class and mode maps the programs read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/admission.h"
#include "daemon/daemon.h"
#include "policy/modes.h"
#include "roles/roles.h"
#include "lib/util.h"
#include "xmcp.skel.h"

int maps_attach_devices(struct daemon *d)
{
	const struct pol_ifs *groups[DEV_GROUPS] = { &d->pol->lan, &d->pol->access, &d->pol->wan };
	int steer_fd = bpf_program__fd(d->dp.skel->progs.XMCP_PROG_STEER);
	int steer_cb_fd = bpf_program__fd(d->dp.skel->progs.XMCP_PROG_STEER_CB);
	int modes_fd = bpf_map__fd(d->dp.skel->maps.xmcp_steer_ifs);
	static const __u32 modes[] = { [POL_XDP_AUTO] = XDP_MODE_UNSPEC, [POL_XDP_NATIVE] = XDP_MODE_NATIVE,
				       [POL_XDP_GENERIC] = XDP_MODE_SKB, [POL_XDP_TC] = XMCP_IFACE_MODE_TC };
	__u32 mode = modes[d->pol->xdp_mode];
	const char *why;
	unsigned int i;
	enum dev_group g;
	struct xmcp_iface rec;
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), own_id;

	own_id = bpf_obj_get_info_by_fd(bpf_program__fd(d->dp.skel->progs.xmcp_xdp), &info, &len) ? 0 : info.id;

	for (g = 0; g < DEV_GROUPS; g++)
		for (i = 0; i < groups[g]->n; i++) {
			const char *dev = groups[g]->name[i];
			__u32 m = d->role->steer_mode(d->pol, g);
			struct journal_entry e = { .op = J_DEVICE };
			int ifindex = xmcp_ifindex(dev);

			if (ifindex < 0)
				return -1;
			/* recorded first; what xmcp created there (a clsact) once it is known */
			e.a = ifindex;
			snprintf(e.text, sizeof(e.text), "%s", dev);
			if (journal_record(&d->journal, &e))
				return -1;
			if (dp_attach_dev(&d->dp, dev, mode, steer_fd, steer_cb_fd, &rec, &why) < 0) {
				journal_forget_last(&d->journal);
				return -1;
			}
			e.b = rec.flags;
			/* another program runs there (libxdp's dispatcher): detaching it needs CAP_SYS_ADMIN */
			if (rec.xdp_prog_id && rec.xdp_prog_id != own_id)
				d->keep_sys_admin = true;
			if (journal_update_last(&d->journal, &e) ||
			    bpf_map_update_elem(modes_fd, &ifindex, &m, BPF_ANY))
				return -1;
			fprintf(stderr, "xmcp: %s: classifier in %s (%s)\n", dev, dp_xdp_mode_name(rec.xdp_mode), why);
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


/*
 * np's modes, classes and subscribers into the maps; old's subscribers that
 * np has not go last (old NULL: the first load). Stops at the first step
 * that fails (a reload then puts the running policy back: maps_restore).
 */
int maps_apply(struct daemon *d, const struct policy *old, const struct policy *np)
{
	if (np->has_modes && load_modes(d, np))
		return -1;
	if (np->n_classes && admission_load_classes(np, bpf_map__fd(d->dp.skel->maps.XMCP_MAP_CLASSES)))
		return -1;
	return sync_subscribers(d, old, np);
}

/* A reload that failed: the running policy p's maps again, every step tried (np: the one refused). */
void maps_restore(struct daemon *d, const struct policy *np, const struct policy *p)
{
	if (p->has_modes)
		load_modes(d, p);
	if (p->n_classes)
		admission_load_classes(p, bpf_map__fd(d->dp.skel->maps.XMCP_MAP_CLASSES));
	sync_subscribers(d, np, p);
}

int maps_load_policy(struct daemon *d)
{
	return maps_apply(d, NULL, d->pol);
}
