/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The MPTCP token of a key (RFC 8684 section 3.2): the most significant 32
 * bits of the SHA-256 of the 64-bit key, in network order. Shared by the
 * datapath, which reads the key from the server's MP_CAPABLE SYN+ACK to
 * budget the connection's joins before the daemon knows it, and by the unit
 * tests, which check it against SHA-256 test vectors.
 *
 * One 64-byte block: the 8-byte key, the 0x80 pad byte, zeros, and the
 * message length (64 bits). Run once per MP_CAPABLE SYN+ACK only.
 */
#ifndef XMCP_TOKEN_H
#define XMCP_TOKEN_H

#include "xmcp_types.h"

#define XMCP_ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/* SHA-256 round constants (FIPS 180-4, 4.2.2); in BPF, read-only data. */
static const __u32 xmcp_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/*
 * The token of the key whose network-order bytes, read as two big-endian
 * words, are hi (bytes 0-3) and lo (bytes 4-7). Host-order result.
 */
XMCP_INLINE __u32 xmcp_mptcp_token(__u32 hi, __u32 lo)
{
	__u32 w[16] = { hi, lo, 0x80000000u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64 };
	__u32 a = 0x6a09e667, b = 0xbb67ae85, c = 0x3c6ef372, d = 0xa54ff53a;
	__u32 e = 0x510e527f, f = 0x9b05688c, g = 0x1f83d9ab, h = 0x5be0cd19;
	__u32 t1, t2, s0, s1, x, y, i;

	/* one iteration at a time: unrolled, the rounds spill past BPF's 512-byte stack */
#ifdef __clang__
#pragma clang loop unroll(disable)
#endif
	for (i = 0; i < 64; i++) {
		if (i >= 16) {
			x = w[(i + 1) & 15];
			y = w[(i + 14) & 15];
			s0 = XMCP_ROR32(x, 7) ^ XMCP_ROR32(x, 18) ^ (x >> 3);
			s1 = XMCP_ROR32(y, 17) ^ XMCP_ROR32(y, 19) ^ (y >> 10);
			w[i & 15] += s0 + w[(i + 9) & 15] + s1;
		}
		t1 = h + (XMCP_ROR32(e, 6) ^ XMCP_ROR32(e, 11) ^ XMCP_ROR32(e, 25)) + ((e & f) ^ (~e & g)) +
		     xmcp_sha256_k[i & 63] + w[i & 15];
		t2 = (XMCP_ROR32(a, 2) ^ XMCP_ROR32(a, 13) ^ XMCP_ROR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	return 0x6a09e667 + a;
}

#endif
