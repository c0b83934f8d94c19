/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The classifier's verdict on one frame, handed on with the frame: written
 * by XDP in front of the packet (bpf_xdp_adjust_meta), read by the tc
 * programs from skb->data_meta and by `xmcp classify` from
 * BPF_PROG_TEST_RUN's output. One struct, so that the writer and its three
 * readers cannot disagree on a byte of it.
 */
#ifndef INCLUDE_XMCP_META_H
#define INCLUDE_XMCP_META_H

#include "xmcp_class.h"

/* Offsets count from the first byte of the Ethernet frame. */
#define XMCP_META_MAGIC 0x786d6370 /* "xmcp" */
struct xmcp_meta {
	__u32 magic;
	__u8 cls;	    /* enum xmcp_class */
	__u8 reason;	    /* enum xmcp_malformed_reason, or XMCP_MF_NONE */
	__u8 n_convert;	    /* MP_CONVERT options recorded in convert_off */
	__u8 convert_err;   /* enum xmcp_mpc_err for syn_mp_convert_invalid */
	__u16 l3_off;	    /* IP header */
	__u16 l4_off;	    /* TCP header, 0 when not TCP */
	__u16 convert_off[2];
};
XMCP_ASSERT_SIZE(struct xmcp_meta, 16);
_Static_assert(__builtin_offsetof(struct xmcp_meta, cls) == 4, "xmcp_meta.cls moved");
_Static_assert(__builtin_offsetof(struct xmcp_meta, convert_off) == 12, "xmcp_meta.convert_off moved");

#endif
