/* tap.h: a minimal TAP producer for C unit tests (header-only).
 *   ok(cond, "name %d", x);  is_int(got, want, "name");
 *   is_str(got, want, "name");  is_mem(got, gl, want, wl, "name");
 *   return done_testing();   (prints the plan; exit 1 if any failed)
 */
#ifndef FCSNAP_TAP_H
#define FCSNAP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static int __attribute__((format(printf, 2, 3), unused))
ok(int cond, const char *fmt_, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt_);
	vprintf(fmt_, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

#define is_int(got, want, ...) do { long long g_ = (long long)(got), w_ = (long long)(want); \
	if (!ok(g_ == w_, __VA_ARGS__)) printf("#   got %lld, want %lld\n", g_, w_); } while (0)
#define is_str(got, want, ...) do { const char *g_ = (got), *w_ = (want); \
	if (!ok(g_ && w_ && !strcmp(g_, w_), __VA_ARGS__)) \
		printf("#   got '%s'\n#  want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } while (0)
#define is_mem(got, gl, want, wl, ...) do { \
	ok((size_t)(gl) == (size_t)(wl) && !memcmp((got), (want), (wl)), __VA_ARGS__); } while (0)

static int __attribute__((unused))
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
