// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "policy/modes.h"
#include "lib/util.h"
#include "xmcp_maps.h"

/* addr/mask as the datapath compares them: canonical form (xmcp_addr.h), 32-bit words. */
static void rule_prefix(const struct pol_prefix *pp, struct xmcp_mode_rule *r)
{
	struct xmcp_addr a;
	__u8 m[16] = { 0 };
	unsigned int len, off = 0, i;

	len = xmcp_addr_prefix(&a, pp->family == AF_INET, pp->addr, pp->len);
	for (i = 0; i < 16; i++, off += 8)
		m[i] = len >= off + 8 ? 0xff : len > off ? (__u8)(0xff << (8 - (len - off))) : 0;
	for (i = 0; i < 16; i++)
		a.a[i] &= m[i];
	memcpy(r->addr, a.a, 16);
	memcpy(r->mask, m, 16);
}

/* Rule k of the policy, as prefixes x ports entries from *n on. */
static void expand_rule(const struct pol_mode_rule *pr, struct xmcp_modes *ms)
{
	unsigned int np = pr->n_prefixes ?: 1, nq = pr->n_ports ?: 1, i, j;

	for (i = 0; i < np; i++)
		for (j = 0; j < nq && ms->n_rules < XMCP_MAX_MODE_RULES; j++) {
			struct xmcp_mode_rule *r = &ms->rule[ms->n_rules++];

			memset(r, 0, sizeof(*r)); /* no prefix: mask 0 matches any address */
			if (pr->n_prefixes)
				rule_prefix(&pr->prefixes[i], r);
			r->port = pr->n_ports ? pr->ports[j] : 0;
			r->mode = pr->mode;
		}
}

int modes_load(const struct policy *p, int modes_fd, int on_fd)
{
	struct xmcp_modes *ms = calloc(1, sizeof(*ms));
	__u32 key = 0, on = 0, idle;
	unsigned int k;
	int err = 0;

	if (!ms)
		return -1;
	ms->default_mode = p->default_mode;
	ms->lifetime_ns = (__u64)p->learned_lifetime * 1000000000ULL;
	for (k = 0; k < p->n_mode_rules; k++)
		expand_rule(&p->mode_rules[k], ms);
	bpf_map_lookup_elem(on_fd, &key, &on);
	idle = !(on & 1);
	if (bpf_map_update_elem(modes_fd, &idle, ms, BPF_ANY) ||
	    bpf_map_update_elem(on_fd, &key, &idle, BPF_ANY)) {
		xmcp_err("cannot load the modes by destination: %s", strerror(errno));
		err = -1;
	}
	free(ms);
	return err;
}
