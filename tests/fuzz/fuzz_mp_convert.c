// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the MP_CONVERT decoder (user/lib/mp_convert.c), which
 * parses bytes straight off the network on the MCP and the HAG. Besides
 * "no crash, no out-of-bounds read" (ASan, UBSan), it checks what a caller
 * relies on:
 *   - a decoded head lies inside the input and holds 1 or 2 options with
 *     different D bits;
 *   - encoding the decoded options and decoding that again gives them back
 *     (the flag bits the draft says to ignore are the only loss);
 *   - mpc_frame_may_grow() never asks to wait for a framing that is
 *     already at its maximum length.
 *
 *   make fuzz [FUZZ_SECS=300]     (a short run is part of make test)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mp_convert.h"

#define CHECK(c)                   \
	do {                       \
		if (!(c))          \
			abort();   \
	} while (0)

static void same_option(const struct mpc_option *a, const struct mpc_option *b)
{
	CHECK(a->dir == b->dir && a->proto == b->proto && a->family == b->family &&
	      a->has_port == b->has_port);
	CHECK(!a->has_port || a->port == b->port);
	CHECK(memcmp(a->addr, b->addr, a->family == 4 ? 4 : a->family == 6 ? 16 : 0) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mpc_frame f, g;
	uint8_t out[XMCP_OPTBUF_SIZE];
	int off = mpc_frame_decode(data, size, &f), len;
	unsigned int i;

	if (off < 0) {
		CHECK(!mpc_frame_may_grow(data, size, off) || size < XMCP_MPC_FRAME_MAX);
		CHECK(mpc_strerror(off) != NULL && mpc_errname(off) != NULL);
		return 0;
	}
	if (off == 0)
		return 0;
	CHECK((size_t)off <= size && f.data_off == (size_t)off);
	CHECK(f.n >= 1 && f.n <= 2);
	CHECK(f.n == 1 || f.opt[0].dir != f.opt[1].dir);
	len = mpc_frame_encode(f.opt, f.n, NULL, 0, out, sizeof(out));
	CHECK(len > 0 && len <= off);
	CHECK(mpc_frame_decode(out, len, &g) == len && g.n == f.n);
	for (i = 0; i < f.n; i++)
		same_option(&f.opt[i], &g.opt[i]);
	return 0;
}
