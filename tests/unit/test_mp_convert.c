// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the MP_CONVERT codec, the shared option scanner and the
 * MPTCP token the datapath computes.
 * Prints TAP; exits non-zero when any check fails.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "mp_convert.h"
#include "tap.h"
#include "xmcp_token.h"

#define CHECK(cond, ...) ok(cond, __VA_ARGS__)

/* An option for family 4 or 6; port < 0 means none. */
static struct mpc_option opt(int fam, __u8 dir, const char *addr, int port)
{
	struct mpc_option o = { .dir = dir, .proto = MPC_PROTO_TCP, .family = fam };

	inet_pton(fam == 4 ? AF_INET : AF_INET6, addr, o.addr);
	if (port >= 0) {
		o.has_port = 1;
		o.port = port;
	}
	return o;
}

#define opt4(...) opt(4, __VA_ARGS__)
#define opt6(...) opt(6, __VA_ARGS__)

static void test_roundtrip(const char *what, struct mpc_option o, int want_len)
{
	__u8 buf[32];
	struct mpc_option back;
	int len = mpc_encode(&o, buf, sizeof(buf));

	CHECK(len == want_len, "%s encodes to %d bytes (got %d)", what, want_len, len);
	CHECK(buf[0] == 30 && buf[1] == want_len && buf[2] >> 4 == 0xe,
	      "%s has kind 30, its length and subtype 0xe", what);
	CHECK(!!(buf[2] & 0x08) == (o.dir == MPC_DIR_SRC), "%s carries the D bit", what);
	CHECK(mpc_decode(buf, len, &back) == want_len, "%s decodes", what);
	CHECK(memcmp(&back, &o, sizeof(o)) == 0, "%s survives a round trip", what);
}

static void test_options(void)
{
	struct mpc_option empty = { .proto = MPC_PROTO_TCP };
	__u8 buf[32];

	test_roundtrip("empty option", empty, 4);
	test_roundtrip("ipv4 destination", opt4(MPC_DIR_DST, "198.51.100.7", -1), 8);
	test_roundtrip("ipv4 destination and port", opt4(MPC_DIR_DST, "198.51.100.7", 443), 10);
	test_roundtrip("ipv6 source", opt6(MPC_DIR_SRC, "2001:db8::7", -1), 20);
	test_roundtrip("ipv6 source and port", opt6(MPC_DIR_SRC, "2001:db8::7", 65535), 22);

	struct mpc_option bad = opt4(MPC_DIR_DST, "127.0.0.1", 80);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses ipv4 loopback");
	bad = opt4(MPC_DIR_DST, "224.0.0.5", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses ipv4 multicast");
	bad = opt4(MPC_DIR_DST, "255.255.255.255", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses limited broadcast");
	bad = opt6(MPC_DIR_DST, "::1", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses ipv6 loopback");
	bad = opt6(MPC_DIR_DST, "ff02::1", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses ipv6 multicast");
	bad = opt6(MPC_DIR_DST, "::ffff:127.0.0.1", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses v4-mapped loopback");
	bad = opt4(MPC_DIR_DST, "0.0.0.0", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses 0.0.0.0 (this host)");
	bad = opt4(MPC_DIR_DST, "0.1.2.3", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses 0.0.0.0/8");
	bad = opt4(MPC_DIR_DST, "169.254.1.1", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses ipv4 link-local");
	bad = opt6(MPC_DIR_DST, "fe80::1", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses ipv6 link-local");
	bad = opt6(MPC_DIR_DST, "::", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses ::");
	bad = opt6(MPC_DIR_DST, "::ffff:0.0.0.0", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses v4-mapped 0.0.0.0");
	bad = opt6(MPC_DIR_DST, "::ffff:169.254.9.9", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR, "refuses v4-mapped link-local");
	bad = opt6(MPC_DIR_DST, "::2", -1);
	CHECK(mpc_encode(&bad, buf, sizeof(buf)) == -XMCP_MPC_ERR_ADDR,
	      "refuses ::2 (IPv4-compatible, deprecated: never routed)");
	struct mpc_option ok = opt6(MPC_DIR_DST, "2001:db8::1", -1);
	CHECK(mpc_encode(&ok, buf, sizeof(buf)) == 20, "accepts 2001:db8::1");
	ok = opt6(MPC_DIR_DST, "::ffff:198.51.100.7", -1);
	CHECK(mpc_encode(&ok, buf, sizeof(buf)) == 20, "accepts a v4-mapped unicast address");
	ok = opt6(MPC_DIR_DST, "fec0::1", -1);
	CHECK(mpc_encode(&ok, buf, sizeof(buf)) == 20, "accepts fec0::1 (not link-local fe80::/10)");
	ok = opt4(MPC_DIR_DST, "169.255.0.1", -1);
	CHECK(mpc_encode(&ok, buf, sizeof(buf)) == 8, "accepts 169.255.0.1 (not link-local)");
	ok = opt4(MPC_DIR_DST, "255.255.255.254", -1);
	CHECK(mpc_encode(&ok, buf, sizeof(buf)) == 8, "accepts 255.255.255.254 (not limited broadcast)");
	ok = opt4(MPC_DIR_DST, "198.51.100.7", 1);
	CHECK(mpc_encode(&ok, buf, 9) == -XMCP_MPC_ERR_TRUNC, "reports a short output buffer");

	__u8 badlen[] = { 30, 9, 0xe0, 6, 1, 2, 3, 4, 0 };
	struct mpc_option o;
	CHECK(mpc_decode(badlen, sizeof(badlen), &o) == -XMCP_MPC_ERR_LEN, "rejects length 9");
	__u8 trunc[] = { 30, 10, 0xe0, 6, 1, 2, 3, 4 };
	CHECK(mpc_decode(trunc, sizeof(trunc), &o) == -XMCP_MPC_ERR_TRUNC, "rejects a cut option");
	__u8 capable[] = { 30, 4, 0x01, 0x81 };
	CHECK(mpc_decode(capable, sizeof(capable), &o) == -XMCP_MPC_ERR_KIND,
	      "MP_CAPABLE is not an MP_CONVERT");
	__u8 flags[] = { 30, 4, 0xe7, 17 };
	CHECK(mpc_decode(flags, sizeof(flags), &o) == 4 && o.proto == 17 && o.dir == MPC_DIR_DST,
	      "reserved flag bits are ignored, protocol is kept");
}

static void test_frames(void)
{
	struct mpc_option two[2] = { opt4(MPC_DIR_DST, "198.51.100.7", 443),
				     opt6(MPC_DIR_SRC, "2001:db8::1", 40000) };
	struct mpc_frame f;
	__u8 buf[128];
	int len;

	len = mpc_frame_encode(two, 2, "GET /", 5, buf, sizeof(buf));
	CHECK(len == 10 + 22 + 1 + 5, "two options, EOL and data make %d bytes", len);
	CHECK(mpc_frame_decode(buf, len, &f) == 33, "frame data starts after the EOL");
	CHECK(f.n == 2 && f.opt[0].port == 443 && f.opt[1].dir == MPC_DIR_SRC,
	      "both options decoded in order");
	CHECK(memcmp(buf + f.data_off, "GET /", 5) == 0, "original data follows the framing");

	struct mpc_option same[2] = { opt4(MPC_DIR_DST, "198.51.100.7", 1),
				      opt4(MPC_DIR_DST, "198.51.100.8", 2) };
	CHECK(mpc_frame_encode(same, 2, NULL, 0, buf, sizeof(buf)) == -XMCP_MPC_ERR_DUP_D,
	      "encoder refuses two options with the same D bit");

	__u8 dup[] = { 30, 4, 0xe0, 6, 30, 4, 0xe0, 6, 0 };
	CHECK(mpc_frame_decode(dup, sizeof(dup), &f) == -XMCP_MPC_ERR_DUP_D, "decoder rejects a duplicate D bit");
	__u8 three[] = { 30, 4, 0xe0, 6, 30, 4, 0xe8, 6, 30, 4, 0xe0, 6, 0 };
	CHECK(mpc_frame_decode(three, sizeof(three), &f) == -XMCP_MPC_ERR_DUP_D, "decoder rejects a third option");
	__u8 noeol[] = { 30, 4, 0xe0, 6, 'x' };
	CHECK(mpc_frame_decode(noeol, sizeof(noeol), &f) == -XMCP_MPC_ERR_NO_EOL, "decoder wants an EOL");
	__u8 cut[] = { 30, 4, 0xe0, 6 };
	CHECK(mpc_frame_decode(cut, sizeof(cut), &f) == -XMCP_MPC_ERR_NO_EOL, "framing cut before the EOL");
	__u8 plain[] = { 'G', 'E', 'T' };
	CHECK(mpc_frame_decode(plain, sizeof(plain), &f) == 0 && f.n == 0, "plain data is no framing");
	__u8 empty_eol[] = { 30, 4, 0xe0, 6, 0 };
	CHECK(mpc_frame_decode(empty_eol, sizeof(empty_eol), &f) == 5 && f.n == 1 && f.opt[0].family == 0,
	      "an empty MP_CONVERT and EOL");
}

static struct xmcp_scan scan(const __u8 *opts, size_t len)
{
	struct xmcp_optbuf buf = { { 0 } };
	struct xmcp_scan s = { 0 };

	memcpy(buf.b, opts, len);
	xmcp_scan_tcp_options(&buf, len, &s);
	return s;
}

static void test_option_walk(void)
{
	/* MSS, SACK-permitted, timestamps, NOP, window scale, MP_CAPABLE v1 */
	__u8 linux_syn[] = { 2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 30, 4, 0x01, 0x81 };
	struct xmcp_scan s = scan(linux_syn, sizeof(linux_syn));
	CHECK(s.flags == (XMCP_SCAN_MPC | XMCP_SCAN_MPTCP), "a Linux MPTCP SYN shows MP_CAPABLE only");

	__u8 join[] = { 30, 12, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	CHECK(scan(join, sizeof(join)).flags == (XMCP_SCAN_JOIN | XMCP_SCAN_MPTCP), "MP_JOIN found");
	/* the kernel's token is the last 12-byte MP_JOIN's; a 24-byte one after it only adds flags */
	__u8 join_then_ack[] = { 30, 12, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8,
				 30, 24, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	CHECK(scan(join_then_ack, sizeof(join_then_ack)).join_off == 0, "a later 24-byte MP_JOIN is not the join");
	__u8 ack_then_join[] = { 30, 16, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				 30, 12, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	CHECK(scan(ack_then_join, sizeof(ack_then_join)).join_off == 16, "the 12-byte MP_JOIN is the join");
	__u8 two_joins[] = { 30, 12, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 30, 12, 0x10, 0, 9, 9, 9, 9, 5, 6, 7, 8 };
	CHECK(scan(two_joins, sizeof(two_joins)).join_off == 12, "of two 12-byte MP_JOINs the last (the kernel's)");
	__u8 md5[] = { 1, 1, 19, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	CHECK(scan(md5, sizeof(md5)).flags == XMCP_SCAN_AUTH, "TCP-MD5 found");
	__u8 ao[] = { 29, 4, 1, 1 };
	CHECK(scan(ao, sizeof(ao)).flags == XMCP_SCAN_AUTH, "TCP-AO found");
	__u8 short_len[] = { 1, 8, 1 };
	CHECK(scan(short_len, sizeof(short_len)).flags & XMCP_SCAN_BAD, "length 1 is malformed");
	__u8 overrun[] = { 2, 8, 5, 0xb4 };
	CHECK(scan(overrun, sizeof(overrun)).flags & XMCP_SCAN_BAD, "option past the header is malformed");
	__u8 no_len[] = { 1, 1, 1, 2 };
	CHECK(scan(no_len, sizeof(no_len)).flags & XMCP_SCAN_BAD, "kind without a length byte is malformed");
	__u8 after_eol[] = { 0, 1, 8 };
	CHECK(scan(after_eol, sizeof(after_eol)).flags == 0, "bytes after EOL are not parsed");
	__u8 mpc_badlen[] = { 30, 5, 0x01, 0x81, 0 };
	CHECK(scan(mpc_badlen, sizeof(mpc_badlen)).flags == XMCP_SCAN_MPTCP,
	      "MP_CAPABLE of a size the kernel ignores: an MPTCP option, not MP_CAPABLE");
	__u8 all_nop[40];
	memset(all_nop, 1, sizeof(all_nop));
	CHECK(scan(all_nop, sizeof(all_nop)).flags == 0, "40 NOPs are walked to the end");
	__u8 nop_then_mpc[40];
	memset(nop_then_mpc, 1, sizeof(nop_then_mpc));
	memcpy(nop_then_mpc + 36, (const __u8[]){ 30, 4, 0x01, 0x81 }, 4);
	CHECK(scan(nop_then_mpc, sizeof(nop_then_mpc)).flags == (XMCP_SCAN_MPC | XMCP_SCAN_MPTCP),
	      "MP_CAPABLE in the last 4 bytes after 36 NOPs");
	__u8 conv_in_opts[] = { 30, 4, 0x01, 0x81, 30, 8, 0xe0, 6, 198, 51, 100, 7 };
	s = scan(conv_in_opts, sizeof(conv_in_opts));
	CHECK(s.n_convert == 1 && s.convert_off[0] == 4 && !s.convert_err,
	      "MP_CONVERT in the option space is recorded");
	__u8 conv_bad[] = { 30, 8, 0xe0, 6, 127, 0, 0, 1 };
	CHECK(scan(conv_bad, sizeof(conv_bad)).convert_err == XMCP_MPC_ERR_ADDR,
	      "loopback MP_CONVERT in the option space is an error");
}

/* The datapath's token of a key, against SHA-256 computed elsewhere (sha256sum). */
static void test_token(void)
{
	/* 8 zero bytes: SHA-256 af5570f5a1810b7a... */
	CHECK(xmcp_mptcp_token(0, 0) == 0xaf5570f5, "token of the all-zero key");
	/* 01 23 45 67 89 ab cd ef: SHA-256 55c53f5d490297900... */
	CHECK(xmcp_mptcp_token(0x01234567, 0x89abcdef) == 0x55c53f5d, "token of 0123456789abcdef");
	/* ff x 8: SHA-256 12a3ae445661ce5d... */
	CHECK(xmcp_mptcp_token(0xffffffff, 0xffffffff) == 0x12a3ae44, "token of the all-ones key");
	__u8 tsopt_dss[] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 30, 8, 0x20, 0x01, 0, 0, 0, 9 };
	CHECK(scan(tsopt_dss, sizeof(tsopt_dss)).flags == XMCP_SCAN_MPTCP,
	      "a data segment's DSS after timestamps marks an MPTCP subflow");
	__u8 mpc_key[] = { 30, 12, 0x01, 0x81, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct xmcp_scan s = scan(mpc_key, sizeof(mpc_key));
	CHECK(s.mpc_off == 0 && s.mpc_len == 12, "a SYN+ACK's MP_CAPABLE with its key is located");
}

int main(void)
{
	test_options();
	test_frames();
	test_option_walk();
	test_token();
	return done_testing();
}
