// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* MP_CONVERT encoder/decoder; see include/mp_convert.h. */
#include <errno.h>
#include <string.h>

#include "mp_convert.h"

/* A short name for JSON and logs, and a sentence for people. */
static const struct {
	const char *name;
	const char *text;
} mpc_errors[XMCP_MPC_ERR_MAX] = {
	[XMCP_MPC_OK] = { "ok", "ok" },
	[XMCP_MPC_ERR_LEN] = { "length", "length is not 4, 8, 10, 20 or 22" },
	[XMCP_MPC_ERR_TRUNC] = { "truncated", "option runs past the data" },
	[XMCP_MPC_ERR_ADDR] = { "address", "special address (unspecified, loopback, link-local, multicast or broadcast)" },
	[XMCP_MPC_ERR_DUP_D] = { "duplicate_d", "two options with the same D bit" },
	[XMCP_MPC_ERR_NO_EOL] = { "no_eol", "options not followed by EOL" },
	[XMCP_MPC_ERR_KIND] = { "kind", "not an MP_CONVERT option" },
};

static int mpc_err_index(int err)
{
	if (err < 0)
		err = -err;
	return err < XMCP_MPC_ERR_MAX ? err : -1;
}

const char *mpc_strerror(int err)
{
	int i = mpc_err_index(err);

	return i < 0 ? "unknown error" : mpc_errors[i].text;
}

const char *mpc_errname(int err)
{
	int i = mpc_err_index(err);

	return i < 0 ? "unknown" : mpc_errors[i].name;
}

int mpc_option_len(const struct mpc_option *o)
{
	if (o->family == 0)
		return o->has_port ? -XMCP_MPC_ERR_LEN : XMCP_MPC_LEN_EMPTY;
	if (o->family == 4)
		return o->has_port ? XMCP_MPC_LEN_V4_PORT : XMCP_MPC_LEN_V4;
	if (o->family == 6)
		return o->has_port ? XMCP_MPC_LEN_V6_PORT : XMCP_MPC_LEN_V6;
	return -XMCP_MPC_ERR_LEN;
}

/* Run the datapath's own check over an option held in an optbuf. */
static int mpc_check_bytes(const __u8 *raw, size_t len)
{
	struct xmcp_optbuf buf = { { 0 } };
	size_t n = len < sizeof(buf.b) ? len : sizeof(buf.b);

	memcpy(buf.b, raw, n);
	if (!xmcp_is_mpc_start(&buf, 0, n))
		return n < 3 ? -XMCP_MPC_ERR_TRUNC : -XMCP_MPC_ERR_KIND;
	return -xmcp_mpc_check(&buf, 0, n);
}

int mpc_encode(const struct mpc_option *o, void *out, size_t size)
{
	int len = mpc_option_len(o);
	__u8 *p = out;
	size_t alen = o->family == 4 ? 4 : o->family == 6 ? 16 : 0;
	int err;

	if (len < 0)
		return len;
	if ((size_t)len > size)
		return -XMCP_MPC_ERR_TRUNC;
	p[0] = XMCP_TCPOPT_MPTCP;
	p[1] = len;
	p[2] = XMCP_MPTCP_SUB_CONVERT << 4 | (o->dir == MPC_DIR_SRC ? XMCP_MPC_D_BIT : 0);
	p[3] = o->proto;
	memcpy(p + 4, o->addr, alen);
	if (o->has_port) {
		p[4 + alen] = o->port >> 8;
		p[5 + alen] = o->port & 0xff;
	}
	/* Never emit what a receiver must reject (e.g. a loopback address). */
	err = mpc_check_bytes(p, len);
	return err ? err : len;
}

int mpc_decode(const void *in, size_t len, struct mpc_option *o)
{
	const __u8 *p = in;
	int err = mpc_check_bytes(p, len);
	size_t alen;

	if (err)
		return err;
	memset(o, 0, sizeof(*o));
	o->dir = (p[2] & XMCP_MPC_D_BIT) ? MPC_DIR_SRC : MPC_DIR_DST;
	o->proto = p[3];
	switch (p[1]) {
	case XMCP_MPC_LEN_V4_PORT:
		o->has_port = 1;
		/* fall through */
	case XMCP_MPC_LEN_V4:
		o->family = 4;
		break;
	case XMCP_MPC_LEN_V6_PORT:
		o->has_port = 1;
		/* fall through */
	case XMCP_MPC_LEN_V6:
		o->family = 6;
		break;
	}
	alen = o->family == 4 ? 4 : o->family == 6 ? 16 : 0;
	memcpy(o->addr, p + 4, alen);
	if (o->has_port)
		o->port = (__u16)(p[4 + alen] << 8 | p[5 + alen]);
	return p[1];
}

int mpc_frame_encode(const struct mpc_option *opts, unsigned int n, const void *data,
		     size_t data_len, void *out, size_t size)
{
	__u8 *p = out;
	size_t off = 0;
	unsigned int i;
	int len;

	if (n < 1 || n > XMCP_MPC_MAX)
		return -XMCP_MPC_ERR_DUP_D;
	if (n == 2 && opts[0].dir == opts[1].dir)
		return -XMCP_MPC_ERR_DUP_D;
	for (i = 0; i < n; i++) {
		len = mpc_encode(&opts[i], p + off, size - off);
		if (len < 0)
			return len;
		off += len;
	}
	if (off + 1 + data_len > size)
		return -XMCP_MPC_ERR_TRUNC;
	p[off++] = XMCP_TCPOPT_EOL;
	if (data_len)
		memcpy(p + off, data, data_len);
	return off + data_len;
}

int mpc_frame_decode(const void *in, size_t len, struct mpc_frame *f)
{
	struct xmcp_optbuf buf = { { 0 } };
	struct xmcp_scan s = { 0 };
	size_t n = len < sizeof(buf.b) ? len : sizeof(buf.b);
	unsigned int i;
	int data_off;

	memset(f, 0, sizeof(*f));
	memcpy(buf.b, in, n);
	data_off = xmcp_scan_syn_payload(&buf, n, &s);
	if (s.convert_err)
		return -s.convert_err;
	if (!data_off)
		return 0;
	for (i = 0; i < s.n_convert; i++) {
		int err = mpc_decode(buf.b + s.convert_off[i], n - s.convert_off[i], &f->opt[i]);

		if (err < 0)
			return err;
	}
	f->n = s.n_convert;
	f->data_off = data_off;
	return data_off;
}

int mpc_frame_may_grow(const void *buf, size_t len, int err)
{
	const __u8 *b = buf;

	if (len >= XMCP_MPC_FRAME_MAX)
		return 0;
	if (len < 3) /* too short for the decoder to tell: a prefix of an MP_CONVERT? */
		return !len || (b[0] == XMCP_TCPOPT_MPTCP && (len < 2 || xmcp_mpc_len_valid(b[1])));
	return err == -XMCP_MPC_ERR_NO_EOL || err == -XMCP_MPC_ERR_TRUNC;
}
