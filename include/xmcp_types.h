/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fixed-width types for headers shared by the BPF programs and userspace.
 * BPF objects include vmlinux.h first, which already defines __u8 & co;
 * userspace takes them from the UAPI header.
 */
#ifndef XMCP_TYPES_H
#define XMCP_TYPES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __bpf__
#define XMCP_INLINE static __attribute__((always_inline)) inline
/*
 * A global BPF function: the verifier checks it once on its own instead of
 * once per call path, which keeps the option walk far below the complexity
 * limit. Its pointer arguments may be NULL as far as the verifier knows.
 * Weak, because every part of the datapath that scans options compiles its
 * own copy: the static linker keeps one (the first) in build/xmcp.bpf.o,
 * and libbpf skips the others' code.
 */
#define XMCP_SUBPROG __attribute__((noinline, weak))
#else
#define XMCP_INLINE static inline
#define XMCP_SUBPROG static inline
#endif

/* C11 in userspace and clang's C dialect for BPF both know _Static_assert. */
#define XMCP_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), #type " changed size: kernel and user views would drift")

#endif
