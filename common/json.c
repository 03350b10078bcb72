/* json: see json.h. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *js;
	size_t len, pos;
	struct json_tok *t;
	int nt, next;
	int depth;
};

static int parse_value(struct parser *p, int parent);

static void
skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->js[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int
new_tok(struct parser *p, enum json_type type, int start, int parent)
{
	struct json_tok *k;

	if (p->next >= p->nt)
		return JSON_ENOMEM;
	k = &p->t[p->next];
	k->type = type;
	k->start = start;
	k->end = -1;
	k->size = 0;
	k->parent = parent;
	return p->next++;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int
parse_string(struct parser *p, int parent)
{
	size_t start = ++p->pos;
	int i, k;

	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->js[p->pos];
		if (c == '"') {
			k = new_tok(p, JSON_STRING, (int)start, parent);
			if (k < 0)
				return k;
			p->t[k].end = (int)p->pos;
			p->pos++;
			return k;
		}
		if (c < 0x20)
			return JSON_EINVAL;
		if (c == '\\') {
			if (++p->pos >= p->len)
				return JSON_EPART;
			switch (p->js[p->pos]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				break;
			case 'u':
				for (i = 1; i <= 4; i++) {
					if (p->pos + i >= p->len)
						return JSON_EPART;
					if (hexval(p->js[p->pos + i]) < 0)
						return JSON_EINVAL;
				}
				p->pos += 4;
				break;
			default:
				return JSON_EINVAL;
			}
		}
		p->pos++;
	}
	return JSON_EPART;
}

static int
parse_number(struct parser *p, int parent)
{
	size_t start = p->pos, d;
	int k;
	const char *s = p->js;

#define AT_END (p->pos >= p->len)
	if (s[p->pos] == '-')
		p->pos++;
	if (AT_END)
		return JSON_EPART;
	if (s[p->pos] == '0') {
		p->pos++;
	} else if (s[p->pos] >= '1' && s[p->pos] <= '9') {
		while (!AT_END && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	} else {
		return JSON_EINVAL;
	}
	if (!AT_END && s[p->pos] == '.') {
		p->pos++;
		d = p->pos;
		while (!AT_END && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
		if (p->pos == d)
			return AT_END ? JSON_EPART : JSON_EINVAL;
	}
	if (!AT_END && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		p->pos++;
		if (!AT_END && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		d = p->pos;
		while (!AT_END && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
		if (p->pos == d)
			return AT_END ? JSON_EPART : JSON_EINVAL;
	}
#undef AT_END
	k = new_tok(p, JSON_NUMBER, (int)start, parent);
	if (k < 0)
		return k;
	p->t[k].end = (int)p->pos;
	return k;
}

static int
parse_literal(struct parser *p, int parent, const char *word, enum json_type type)
{
	size_t n = strlen(word), i;
	int k;

	for (i = 0; i < n; i++) {
		if (p->pos + i >= p->len)
			return JSON_EPART;
		if (p->js[p->pos + i] != word[i])
			return JSON_EINVAL;
	}
	k = new_tok(p, type, (int)p->pos, parent);
	if (k < 0)
		return k;
	p->pos += n;
	p->t[k].end = (int)p->pos;
	return k;
}

/* Object or array; p->pos at the opening bracket. */
static int
parse_container(struct parser *p, int parent, int is_obj)
{
	char close = is_obj ? '}' : ']';
	int k, r, key;

	if (++p->depth > JSON_MAX_DEPTH)
		return JSON_EDEPTH;
	k = new_tok(p, is_obj ? JSON_OBJECT : JSON_ARRAY, (int)p->pos, parent);
	if (k < 0)
		return k;
	p->pos++;
	skip_ws(p);
	if (p->pos >= p->len)
		return JSON_EPART;
	if (p->js[p->pos] == close)
		goto done;
	for (;;) {
		skip_ws(p);
		if (p->pos >= p->len)
			return JSON_EPART;
		if (is_obj) {
			if (p->js[p->pos] != '"')
				return JSON_EINVAL;
			key = parse_string(p, k);
			if (key < 0)
				return key;
			skip_ws(p);
			if (p->pos >= p->len)
				return JSON_EPART;
			if (p->js[p->pos] != ':')
				return JSON_EINVAL;
			p->pos++;
			r = parse_value(p, key);
			if (r < 0)
				return r;
			p->t[key].size = 1;
		} else {
			r = parse_value(p, k);
			if (r < 0)
				return r;
		}
		p->t[k].size++;
		skip_ws(p);
		if (p->pos >= p->len)
			return JSON_EPART;
		if (p->js[p->pos] == close)
			break;
		if (p->js[p->pos] != ',')
			return JSON_EINVAL;
		p->pos++;
	}
done:
	p->pos++;
	p->t[k].end = (int)p->pos;
	p->depth--;
	return k;
}

static int
parse_value(struct parser *p, int parent)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return JSON_EPART;
	switch (p->js[p->pos]) {
	case '{': return parse_container(p, parent, 1);
	case '[': return parse_container(p, parent, 0);
	case '"': return parse_string(p, parent);
	case 't': return parse_literal(p, parent, "true", JSON_TRUE);
	case 'f': return parse_literal(p, parent, "false", JSON_FALSE);
	case 'n': return parse_literal(p, parent, "null", JSON_NULL);
	default:
		if (p->js[p->pos] == '-' || (p->js[p->pos] >= '0' && p->js[p->pos] <= '9'))
			return parse_number(p, parent);
		return JSON_EINVAL;
	}
}

int
json_parse(const char *js, size_t len, struct json_tok *t, int nt, size_t *errpos)
{
	struct parser p = { js, len, 0, t, nt, 0, 0 };
	int r;

	if (len > 0x7fffffff)
		return JSON_EINVAL;
	r = parse_value(&p, -1);
	if (r >= 0) {
		skip_ws(&p);
		if (p.pos < p.len)
			r = JSON_EINVAL;
	}
	if (errpos)
		*errpos = p.pos;
	return r < 0 ? r : p.next;
}

const char *
json_strerror(int code)
{
	switch (code) {
	case JSON_ENOMEM: return "too many JSON tokens";
	case JSON_EINVAL: return "invalid JSON";
	case JSON_EPART: return "truncated JSON";
	case JSON_EDEPTH: return "JSON nested too deeply";
	default: return "JSON error";
	}
}

int
json_next(const struct json_tok *t, int i)
{
	int n, j;

	switch (t[i].type) {
	case JSON_OBJECT:
		n = t[i].size;
		j = i + 1;
		while (n-- > 0)
			j = json_next(t, j + 1); /* key, then value */
		return j;
	case JSON_ARRAY:
		n = t[i].size;
		j = i + 1;
		while (n-- > 0)
			j = json_next(t, j);
		return j;
	default:
		return i + 1;
	}
}

int
json_eq(const char *js, const struct json_tok *t, int i, const char *s)
{
	size_t n = strlen(s);

	return t[i].type == JSON_STRING && (size_t)(t[i].end - t[i].start) == n &&
	    memcmp(js + t[i].start, s, n) == 0;
}

int
json_get(const char *js, const struct json_tok *t, int obj, const char *key)
{
	int n, j;

	if (obj < 0 || t[obj].type != JSON_OBJECT)
		return -1;
	n = t[obj].size;
	j = obj + 1;
	while (n-- > 0) {
		if (json_eq(js, t, j, key))
			return j + 1;
		j = json_next(t, j + 1);
	}
	return -1;
}

int
json_index(const struct json_tok *t, int arr, int k)
{
	int j;

	if (arr < 0 || t[arr].type != JSON_ARRAY || k < 0 || k >= t[arr].size)
		return -1;
	j = arr + 1;
	while (k-- > 0)
		j = json_next(t, j);
	return j;
}

static int
put_utf8(char *out, size_t n, size_t *o, unsigned long cp)
{
	unsigned char b[4];
	int len, i;

	if (cp < 0x80) { b[0] = (unsigned char)cp; len = 1; }
	else if (cp < 0x800) { b[0] = 0xc0 | (cp >> 6); b[1] = 0x80 | (cp & 0x3f); len = 2; }
	else if (cp < 0x10000) {
		b[0] = 0xe0 | (cp >> 12); b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f); len = 3;
	} else {
		b[0] = 0xf0 | (cp >> 18); b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f); b[3] = 0x80 | (cp & 0x3f); len = 4;
	}
	if (*o + (size_t)len >= n)
		return -1;
	for (i = 0; i < len; i++)
		out[(*o)++] = (char)b[i];
	return 0;
}

static unsigned long
hex4(const char *s)
{
	return (unsigned long)(hexval(s[0]) << 12 | hexval(s[1]) << 8 | hexval(s[2]) << 4 | hexval(s[3]));
}

int
json_str(const char *js, const struct json_tok *t, int i, char *out, size_t n)
{
	const char *s, *e;
	size_t o = 0;
	unsigned long cp, lo;
	char c;

	if (i < 0 || t[i].type != JSON_STRING || n == 0)
		return -1;
	s = js + t[i].start;
	e = js + t[i].end;
	while (s < e) {
		if (*s != '\\') {
			if (o + 1 >= n)
				return -1;
			out[o++] = *s++;
			continue;
		}
		s++;
		switch (c = *s++) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			cp = hex4(s);
			s += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (e - s < 6 || s[0] != '\\' || s[1] != 'u')
					return -1;
				lo = hex4(s + 2);
				if (lo < 0xdc00 || lo > 0xdfff)
					return -1;
				s += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
				return -1;
			}
			if (put_utf8(out, n, &o, cp) < 0)
				return -1;
			continue;
		default: break; /* " \ / */
		}
		if (o + 1 >= n)
			return -1;
		out[o++] = c;
	}
	out[o] = 0;
	return (int)o;
}

int
json_int(const char *js, const struct json_tok *t, int i, int64_t *v)
{
	char buf[32], *end;
	int len;
	long long x;

	if (i < 0 || t[i].type != JSON_NUMBER)
		return -1;
	len = t[i].end - t[i].start;
	if (len <= 0 || len >= (int)sizeof buf)
		return -1;
	memcpy(buf, js + t[i].start, (size_t)len);
	buf[len] = 0;
	if (strpbrk(buf, ".eE"))
		return -1;
	errno = 0;
	x = strtoll(buf, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

int
json_bool(const struct json_tok *t, int i, int *v)
{
	if (i < 0 || (t[i].type != JSON_TRUE && t[i].type != JSON_FALSE))
		return -1;
	*v = t[i].type == JSON_TRUE;
	return 0;
}

/* ---- writer ---- */

void
jw_init(struct jw *w)
{
	memset(w, 0, sizeof *w);
	w->first[0] = 1;
}

void
jw_free(struct jw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static void
put(struct jw *w, const char *s, size_t n)
{
	char *nb;
	size_t nc;

	if (w->err)
		return;
	if (w->len + n + 1 > w->cap) {
		nc = w->cap ? w->cap : 256;
		while (nc < w->len + n + 1)
			nc *= 2;
		nb = realloc(w->buf, nc);
		if (!nb) {
			w->err = 1;
			return;
		}
		w->buf = nb;
		w->cap = nc;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

/* Comma before a value or key unless first at this depth or after a key. */
static void
sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (!w->first[w->depth])
		put(w, ",", 1);
	w->first[w->depth] = 0;
}

static void
open_(struct jw *w, const char *c)
{
	sep(w);
	put(w, c, 1);
	if (w->depth >= JSON_MAX_DEPTH) {
		w->err = 1;
		return;
	}
	w->first[++w->depth] = 1;
}

static void
close_(struct jw *w, const char *c)
{
	if (w->depth > 0)
		w->depth--;
	put(w, c, 1);
}

void jw_obj(struct jw *w) { open_(w, "{"); }
void jw_obj_end(struct jw *w) { close_(w, "}"); }
void jw_arr(struct jw *w) { open_(w, "["); }
void jw_arr_end(struct jw *w) { close_(w, "]"); }

/* Length of the valid UTF-8 sequence at s (shortest form, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t
utf8_len(const char *s_, size_t n)
{
	const unsigned char *s = (const unsigned char *)s_;
	unsigned long cp;
	size_t k, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) { k = 2; cp = s[0] & 0x1f; }
	else if (s[0] >= 0xe0 && s[0] <= 0xef) { k = 3; cp = s[0] & 0x0f; }
	else if (s[0] >= 0xf0 && s[0] <= 0xf4) { k = 4; cp = s[0] & 0x07; }
	else return 0;
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* Byte c (0x80..0xff) as the character U+00XX, in UTF-8. */
static void
put_utf8_byte(struct jw *w, unsigned char c)
{
	char b[2] = { (char)(0xc0 | c >> 6), (char)(0x80 | (c & 0x3f)) };

	put(w, b, 2);
}

static void
put_escaped(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i, run = 0;

	put(w, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default:
			if (c >= 0x20 && c < 0x7f)
				continue;
			if (c >= 0x80) {
				size_t k = utf8_len(s + i, n - i);
				if (k) {
					i += k - 1;
					continue;
				}
				/* not UTF-8: the byte as U+00XX, so the
				 * output stays valid JSON */
				put(w, s + run, i - run);
				put_utf8_byte(w, c);
				run = i + 1;
				continue;
			}
		}
		put(w, s + run, i - run);
		if (esc) {
			put(w, esc, 2);
		} else {
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			put(w, u, 6);
		}
		run = i + 1;
	}
	put(w, s + run, n - run);
	put(w, "\"", 1);
}

int
json_utf8(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_len(s + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

void
jw_key(struct jw *w, const char *k)
{
	sep(w);
	put_escaped(w, k, strlen(k));
	put(w, ":", 1);
	w->after_key = 1;
}

void
jw_strn(struct jw *w, const char *s, size_t n)
{
	sep(w);
	put_escaped(w, s, n);
}

void jw_str(struct jw *w, const char *s) { jw_strn(w, s, strlen(s)); }

void
jw_int(struct jw *w, int64_t v)
{
	char b[32];

	sep(w);
	put(w, b, (size_t)snprintf(b, sizeof b, "%lld", (long long)v));
}

void
jw_uint(struct jw *w, uint64_t v)
{
	char b[32];

	sep(w);
	put(w, b, (size_t)snprintf(b, sizeof b, "%llu", (unsigned long long)v));
}

void
jw_double(struct jw *w, double v)
{
	char b[64];

	sep(w);
	if (v != v || v > 1e308 || v < -1e308) { /* NaN/inf are not JSON */
		put(w, "null", 4);
		return;
	}
	/* the shortest of 15..17 significant digits that reads back as v */
	for (int prec = 15; prec <= 17; prec++) {
		int n = snprintf(b, sizeof b, "%.*g", prec, v);

		if (prec == 17 || strtod(b, NULL) == v) {
			put(w, b, (size_t)n);
			return;
		}
	}
}

void
jw_bool(struct jw *w, int v)
{
	sep(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void
jw_null(struct jw *w)
{
	sep(w);
	put(w, "null", 4);
}

void jw_kstr(struct jw *w, const char *k, const char *v) { jw_key(w, k); jw_str(w, v); }
void jw_kint(struct jw *w, const char *k, int64_t v) { jw_key(w, k); jw_int(w, v); }
void jw_kbool(struct jw *w, const char *k, int v) { jw_key(w, k); jw_bool(w, v); }

const char *
jw_text(struct jw *w)
{
	if (w->err)
		return NULL;
	if (!w->buf)
		put(w, "", 0);
	return w->err ? NULL : w->buf;
}
