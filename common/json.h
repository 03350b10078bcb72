/* json: a jsmn-shaped tokenizer (our own code) and a small writer.
 *
 * Tokenizer: the caller supplies the token array; nothing is allocated.
 * Tokens are laid out in document order; an object's size is its number of
 * keys, an array's its number of elements; a key token is followed by its
 * value token.  Parsing is strict RFC 8259: one value, optional surrounding
 * whitespace, no trailing commas, no comments, control characters must be
 * escaped, numbers in JSON's grammar, literals true/false/null only.
 */
#ifndef FCSNAP_JSON_H
#define FCSNAP_JSON_H

#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NONE = 0, JSON_OBJECT, JSON_ARRAY, JSON_STRING,
	JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL };

struct json_tok {
	enum json_type type;
	int start, end;   /* byte range in the text; strings exclude quotes */
	int size;         /* object: number of keys; array: elements */
	int parent;       /* index of the enclosing container/key, -1 at top */
};

enum {
	JSON_ENOMEM = -1, /* more tokens needed than given */
	JSON_EINVAL = -2, /* not valid JSON */
	JSON_EPART  = -3, /* valid so far but truncated */
	JSON_EDEPTH = -4, /* nested deeper than JSON_MAX_DEPTH */
};
#define JSON_MAX_DEPTH 64

/* Tokenize js[0..len). Returns the number of tokens (>= 1) or a JSON_E*
 * code. *errpos (may be NULL) gets the byte offset of an error. */
int json_parse(const char *js, size_t len, struct json_tok *t, int nt, size_t *errpos);
const char *json_strerror(int code);

/* Index of the token after the subtree rooted at i. */
int json_next(const struct json_tok *t, int i);
/* Value token of key in object obj, or -1. */
int json_get(const char *js, const struct json_tok *t, int obj, const char *key);
/* Element k of array arr, or -1. */
int json_index(const struct json_tok *t, int arr, int k);
/* Token i is a string equal to s (raw compare, no unescaping). */
int json_eq(const char *js, const struct json_tok *t, int i, const char *s);

/* Decode string token i (escapes and \uXXXX, surrogate pairs -> UTF-8) into
 * out (NUL-terminated). Returns the length, or -1 if not a string, too long
 * for out, or containing a \u0000 or a lone surrogate. */
int json_str(const char *js, const struct json_tok *t, int i, char *out, size_t n);
/* Integer number token (no fraction/exponent) in int64 range: 0 or -1. */
int json_int(const char *js, const struct json_tok *t, int i, int64_t *v);
/* true/false token: 0 or -1. */
int json_bool(const struct json_tok *t, int i, int *v);

/* Is s[0..n) valid UTF-8 (what the writer passes through unchanged)? 1 or 0. */
int json_utf8(const char *s, size_t n);

/* Writer.  Appends to a growing buffer; commas are placed automatically.
 * Strings are escaped as JSON needs; bytes that are not UTF-8 are written
 * as the character U+00XX of the same value, so the text is always valid
 * JSON (and valid UTF-8).
 * Any allocation failure sets w->err and makes later calls no-ops. */
struct jw {
	char *buf;
	size_t len, cap;
	int err;
	int depth;
	unsigned char first[JSON_MAX_DEPTH + 1]; /* nothing written yet at depth */
	int after_key;
};
void jw_init(struct jw *w);
void jw_free(struct jw *w);
void jw_obj(struct jw *w);          /* { */
void jw_obj_end(struct jw *w);      /* } */
void jw_arr(struct jw *w);          /* [ */
void jw_arr_end(struct jw *w);      /* ] */
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* Convenience: key + value. */
void jw_kstr(struct jw *w, const char *k, const char *v);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_kbool(struct jw *w, const char *k, int v);
/* The text so far (NUL-terminated), or NULL after an error. */
const char *jw_text(struct jw *w);

#endif
