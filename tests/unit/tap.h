/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small TAP producer for the C unit tests (tests/unit/, run by
 * tests/bats/unit.bats): "ok N - what" or "not ok N - what" per check, the
 * file and line of a failed one and what was expected on "#" lines, the
 * plan "1..N" last (done_testing). Exit with done_testing()'s value: 1 if
 * any check failed.
 *
 *   ok(cond, "what %d", x);          a condition
 *   is_int(got, want, "what");       two integers, both shown on failure
 *   is_str(got, want, "what");       two strings (NULL allowed)
 *   like(got, part, "what");         got contains part
 *   skip("why", "what");             a check that cannot run here, said so
 */
#ifndef XMCP_TAP_H
#define XMCP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static inline int tap_result(int pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline int tap_result(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

#define ok(cond, ...) tap_result(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                          \
	do {                                                                            \
		long long tap_g_ = (got), tap_w_ = (want);                              \
		if (!tap_result(tap_g_ == tap_w_, __FILE__, __LINE__, __VA_ARGS__))     \
			printf("#   got %lld, want %lld\n", tap_g_, tap_w_);                \
	} while (0)

#define is_str(got, want, ...)                                                          \
	do {                                                                            \
		const char *tap_g_ = (got), *tap_w_ = (want);                           \
		int tap_p_ = tap_g_ && tap_w_ ? !strcmp(tap_g_, tap_w_) : tap_g_ == tap_w_; \
		if (!tap_result(tap_p_, __FILE__, __LINE__, __VA_ARGS__))               \
			printf("#   got '%s', want '%s'\n", tap_g_ ?: "(null)", tap_w_ ?: "(null)"); \
	} while (0)

#define like(got, part, ...)                                                            \
	do {                                                                            \
		const char *tap_g_ = (got), *tap_w_ = (part);                           \
		if (!tap_result(tap_g_ && strstr(tap_g_, tap_w_), __FILE__, __LINE__, __VA_ARGS__)) \
			printf("#   got '%s', want it to contain '%s'\n", tap_g_ ?: "(null)", tap_w_); \
	} while (0)

/* TAP's own skip directive: counted, shown, never silent. */
#define skip(why, what) (tap_count++, printf("ok %d - %s # skip %s\n", tap_count, (what), (why)))

#define diag(...) (printf("# "), printf(__VA_ARGS__), putchar('\n'))

/* The plan, last; the exit status: 0, or 1 if any check failed. */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed)
		fprintf(stderr, "%d of %d checks failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

#endif
