// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/datapath.h"
#include "lib/testrun.h"
#include "lib/util.h"
#include "xmcp.skel.h"

int testrun_open(struct xmcp_testrun *t, bool tc)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->tc = tc;
	t->skel = xmcp__open();
	if (!t->skel) {
		err = -errno;
		xmcp_explain_load_error("the classifier", err);
		return err;
	}
	/* Only the classifier is needed here. */
	dp_select_progs(t->skel, tc ? DP_TC_CLASSIFY : DP_FOR_CLASSIFY);
	err = xmcp__load(t->skel);
	if (err) {
		xmcp_explain_load_error("the classifier", err);
		xmcp__destroy(t->skel);
		t->skel = NULL;
		return err;
	}
	t->prog_fd = tc ? bpf_program__fd(t->skel->progs.XMCP_PROG_TC_CLASSIFY)
			: bpf_program__fd(t->skel->progs.XMCP_PROG_XDP);
	return 0;
}

/*
 * The tc classifier on one frame: it leaves the class in skb->cb, which
 * the test run hands back in the context (its tail call finds no program
 * here and it returns TC_ACT_OK).
 */
static int classify_tc(const struct xmcp_testrun *t, const void *pkt, size_t len, struct xmcp_meta *meta)
{
	struct __sk_buff ctx_in = {}, ctx_out = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = pkt,
		.data_size_in = len,
		.ctx_in = &ctx_in,
		.ctx_size_in = sizeof(ctx_in),
		.ctx_out = &ctx_out,
		.ctx_size_out = sizeof(ctx_out),
		.repeat = 1,
	);

	if (bpf_prog_test_run_opts(t->prog_fd, &opts))
		return -errno;
	if (opts.retval != 0 /* TC_ACT_OK */)
		return -EPROTO;
	_Static_assert(sizeof(*meta) <= sizeof(ctx_out.cb), "the class fits skb->cb");
	memcpy(meta, ctx_out.cb, sizeof(*meta));
	if (meta->magic != XMCP_META_MAGIC || meta->cls >= XMCP_CLASS_MAX)
		return -EBADMSG;
	return 0;
}

void testrun_close(struct xmcp_testrun *t)
{
	xmcp__destroy(t->skel);
	t->skel = NULL;
}

int testrun_classify(const struct xmcp_testrun *t, const void *pkt, size_t len,
		     struct xmcp_meta *meta)
{
	unsigned char out[sizeof(*meta) + 65536];
	struct xdp_md ctx_in = { .data_end = len }, ctx_out = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = pkt,
		.data_size_in = len,
		.data_out = out,
		.data_size_out = sizeof(out),
		/* a context makes the kernel report the metadata length back */
		.ctx_in = &ctx_in,
		.ctx_size_in = sizeof(ctx_in),
		.ctx_out = &ctx_out,
		.ctx_size_out = sizeof(ctx_out),
		.repeat = 1,
	);
	int err;

	if (len > 65535)
		return -EMSGSIZE;
	if (t->tc)
		return classify_tc(t, pkt, len, meta);
	err = bpf_prog_test_run_opts(t->prog_fd, &opts);
	if (err)
		return -errno;
	if (opts.retval != XDP_PASS)
		return -EPROTO;
	/* data_out starts at data_meta; ctx_out.data is the metadata length. */
	if (ctx_out.data != sizeof(*meta))
		return -ENODATA;
	memcpy(meta, out, sizeof(*meta));
	if (meta->magic != XMCP_META_MAGIC || meta->cls >= XMCP_CLASS_MAX)
		return -EBADMSG;
	return 0;
}

int testrun_time(int prog_fd, const void *pkt, size_t len, unsigned int repeat, __u32 *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = pkt,
		.data_size_in = len,
		.repeat = repeat,
	);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*ns = opts.duration;
	return 0;
}
