/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * MP_CONVERT codec (draft-boucadair-mptcp-plain-mode, section 4): one
 * option, and the SYN-payload framing "option [option] EOL original-data".
 * Validation rules come from xmcp_tcpopt.h, the code the XDP classifier
 * runs, so userspace never accepts what the datapath rejects or back.
 *
 * Errors are negative enum xmcp_mpc_err values; mpc_strerror() names them.
 */
#ifndef XMCP_MP_CONVERT_H
#define XMCP_MP_CONVERT_H

#include <stddef.h>
#include "xmcp_tcpopt.h"

#define MPC_DIR_DST 0 /* D bit clear: the address/port is the destination */
#define MPC_DIR_SRC 1 /* D bit set: the address/port is the source */
#define MPC_PROTO_TCP 6

struct mpc_option {
	__u8 dir;      /* MPC_DIR_DST or MPC_DIR_SRC */
	__u8 proto;    /* IANA protocol number */
	__u8 family;   /* 0 (no address), 4 or 6 */
	__u8 has_port; /* a port follows the address */
	__u16 port;    /* host byte order */
	__u8 addr[16]; /* network order; 4 bytes used for IPv4 */
};

struct mpc_frame {
	unsigned int n;			       /* options found (0..2) */
	struct mpc_option opt[XMCP_MPC_MAX];
	size_t data_off;		       /* where the original SYN data starts */
};

/* Length the option takes on the wire, or -XMCP_MPC_ERR_LEN. */
int mpc_option_len(const struct mpc_option *o);

/* Write one option into buf; returns its length or a negative error. */
int mpc_encode(const struct mpc_option *o, void *buf, size_t size);

/* Read the option at the start of buf; returns its length or an error. */
int mpc_decode(const void *buf, size_t len, struct mpc_option *o);

/*
 * Build a SYN payload: the options, EOL, then data. Returns its length,
 * or a negative error (-XMCP_MPC_ERR_TRUNC when out is too small).
 */
int mpc_frame_encode(const struct mpc_option *opts, unsigned int n, const void *data,
		     size_t data_len, void *out, size_t size);

/*
 * Parse the head of a SYN payload. Returns 0 when it does not start with an
 * MP_CONVERT (plain data), the offset of the original data when it does,
 * or a negative error when the framing breaks the draft.
 */
int mpc_frame_decode(const void *buf, size_t len, struct mpc_frame *f);

/*
 * mpc_frame_decode() gave err (0: not an MP_CONVERT) on the first len bytes
 * of a stream, buf: could more bytes still make them a valid framing
 * (wait), or not (refuse)? One or two bytes that can begin an MP_CONVERT
 * (kind 30, a valid length) may grow.
 */
int mpc_frame_may_grow(const void *buf, size_t len, int err);

const char *mpc_strerror(int err);
/* Short stable name of an error ("length", "address", ...), for JSON. */
const char *mpc_errname(int err);

#endif
