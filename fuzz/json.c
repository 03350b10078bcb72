/* libFuzzer target: the JSON tokenizer and readers.
 *
 * Tokenizes the input with a few token budgets; on success checks every
 * token's range and links, reads every token with json_str / json_int /
 * json_bool, walks with json_next / json_get / json_index, and round-trips
 * every decodable string through the writer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const char *s, int n)
{
	struct jw w;
	struct json_tok t[2];
	const char *out;
	char back[4096];
	int r;

	jw_init(&w);
	jw_strn(&w, s, (size_t)n);
	out = jw_text(&w);
	if (!out)
		abort();
	r = json_parse(out, strlen(out), t, 2, NULL);
	if (r != 1 || t[0].type != JSON_STRING)
		abort();
	r = json_str(out, t, 0, back, sizeof back);
	if (r != n || memcmp(back, s, (size_t)n))
		abort();
	jw_free(&w);
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
