/* libFuzzer target: the JSON tokenizer and readers.
 *
 * Tokenizes the input with a few token budgets; on success checks every
 * token's range and links, reads every token with json_str / json_int /
 * json_bool, walks with json_next / json_get / json_index, and round-trips
 * every decodable string through the writer.  The writer's documented
 * mapping (json.h) is the oracle: valid UTF-8 comes back as it was, and
 * each byte that is not UTF-8 comes back as the character U+0080..U+00FF
 * of the same value; writing that again must be a fixed point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0: what
 * json.h calls UTF-8 (shortest form, no surrogates, at most U+10FFFF),
 * written here again from the definition rather than copied. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned long cp, min;
	size_t k, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) { k = 2; cp = s[0] & 0x1f; min = 0x80; }
	else if ((s[0] & 0xf0) == 0xe0) { k = 3; cp = s[0] & 0x0f; min = 0x800; }
	else if ((s[0] & 0xf8) == 0xf0) { k = 4; cp = s[0] & 0x07; min = 0x10000; }
	else return 0;
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* s as the writer's mapping says it reads back: into out (2n bytes). */
static size_t
mapped(const unsigned char *s, size_t n, unsigned char *out)
{
	size_t i = 0, o = 0, k;

	while (i < n) {
		k = utf8_seq(s + i, n - i);
		if (k) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		out[o++] = (unsigned char)(0xc0 | s[i] >> 6);
		out[o++] = (unsigned char)(0x80 | (s[i] & 0x3f));
		i++;
	}
	return o;
}

/* Write s, read it back: returns the length read into back (cap bytes). */
static int
write_read(const char *s, size_t n, char *back, size_t cap)
{
	struct jw w;
	struct json_tok t[2];
	const char *out;
	int r;

	jw_init(&w);
	jw_strn(&w, s, n);
	out = jw_text(&w);
	if (!out)
		abort();
	r = json_parse(out, strlen(out), t, 2, NULL);
	if (r != 1 || t[0].type != JSON_STRING)
		abort();
	r = json_str(out, t, 0, back, cap);
	if (r < 0)
		abort();
	jw_free(&w);
	return r;
}

static void
roundtrip(const char *s, int n)
{
	static unsigned char want[8192];
	static char back[8192], again[8192];
	size_t wn = mapped((const unsigned char *)s, (size_t)n, want);
	int r;

	r = write_read(s, (size_t)n, back, sizeof back);
	if ((size_t)r != wn || memcmp(back, want, wn))
		abort();
	/* the mapped text is valid UTF-8: writing it again changes nothing */
	if (write_read(back, (size_t)r, again, sizeof again) != r || memcmp(again, back, (size_t)r))
		abort();
}

static void
check_tokens(const char *js, size_t len, const struct json_tok *t, int n)
{
	char buf[4096];
	int64_t v;
	int i, b, k, j;

	if (json_next(t, 0) != n)
		abort();
	for (i = 0; i < n; i++) {
		if (t[i].start < 0 || t[i].end < t[i].start || (size_t)t[i].end > len)
			abort();
		if (t[i].parent >= i || (i > 0 && t[i].parent < 0))
			abort();
		if (json_next(t, i) <= i || json_next(t, i) > n)
			abort();
		k = json_str(js, t, i, buf, sizeof buf);
		if (k >= 0) {
			if ((size_t)k >= sizeof buf || buf[k] || memchr(buf, 0, (size_t)k))
				abort();
			roundtrip(buf, k);
		}
		(void)json_int(js, t, i, &v);
		(void)json_bool(t, i, &b);
		if (t[i].type == JSON_OBJECT)
			(void)json_get(js, t, i, "a");
		if (t[i].type == JSON_ARRAY)
			for (j = 0; j <= t[i].size; j++)
				if ((json_index(t, i, j) < 0) != (j == t[i].size))
					abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_tok t[1024];
	const char *js = (const char *)data;
	int n, n2;

	n = json_parse(js, size, t, 1024, NULL);
	if (n == 0 || n < JSON_EDEPTH)
		abort();
	if (n > 0) {
		check_tokens(js, size, t, n);
		/* one token short must be ENOMEM, never a crash */
		n2 = json_parse(js, size, t, n - 1, NULL);
		if (n2 != JSON_ENOMEM)
			abort();
		n2 = json_parse(js, size, t, n, NULL);
		if (n2 != n)
			abort();
	}
	return 0;
}
