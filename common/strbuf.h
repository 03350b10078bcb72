/* strbuf: a growable NUL-terminated byte string.
 *
 *   struct strbuf b = STRBUF_INIT;
 *   sb_adds(&b, "x"); sb_addf(&b, "%d", 3);
 *   char *s = sb_finish(&b);     // malloc'd, or NULL ("out of memory" set)
 *
 * Appends never fail visibly: an allocation failure marks the buffer, and
 * sb_finish/sb_ok report it once. b.s is always NUL-terminated when
 * non-NULL. */
#ifndef FCSNAP_STRBUF_H
#define FCSNAP_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *s;
	size_t len, cap;
	int oom;
};
#define STRBUF_INIT { NULL, 0, 0, 0 }

void sb_add(struct strbuf *b, const void *p, size_t n);
void sb_adds(struct strbuf *b, const char *s);
void sb_addc(struct strbuf *b, char c);
void sb_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Make room for n more bytes (exactly: for a size known in advance). */
void sb_reserve(struct strbuf *b, size_t n);
/* Drop everything after the first n bytes. */
void sb_truncate(struct strbuf *b, size_t n);
/* 0 if no allocation failed so far, else -1 with "out of memory" set. */
int sb_ok(const struct strbuf *b);
/* The string (caller frees; "" when empty), or NULL after a failure (the
 * buffer is freed either way). */
char *sb_finish(struct strbuf *b);
void sb_free(struct strbuf *b);

#endif
