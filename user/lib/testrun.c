// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/datapath.h"
#include "lib/testrun.h"
#include "lib/util.h"
#include "xmcp.skel.h"

int testrun_open(struct xmcp_testrun *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->skel = xmcp__open();
	if (!t->skel) {
		err = -errno;
		xmcp_explain_load_error("the classifier", err);
		return err;
	}
	/* Only the XDP program is needed here. */
	dp_select_progs(t->skel, DP_FOR_CLASSIFY);
	err = xmcp__load(t->skel);
	if (err) {
		xmcp_explain_load_error("the classifier", err);
		xmcp__destroy(t->skel);
		t->skel = NULL;
		return err;
	}
	t->prog_fd = bpf_program__fd(t->skel->progs.xmcp_xdp);
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
