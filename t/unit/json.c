/* Unit tests for common/json.c: tokenizer, readers and writer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"
#include "tap.h"

#define NT 256
static struct json_tok t[NT];

static int
P(const char *s)
{
	return json_parse(s, strlen(s), t, NT, NULL);
}

/* Decode the single string document s. */
static int
str_of(const char *s, char *out, size_t n)
{
	if (P(s) != 1)
		return -100;
	return json_str(s, t, 0, out, n);
}

static void
test_escapes(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "\"\\\"\"", "\"" }, { "\"\\\\\"", "\\" }, { "\"\\/\"", "/" },
		{ "\"\\b\"", "\b" }, { "\"\\f\"", "\f" }, { "\"\\n\"", "\n" },
		{ "\"\\r\"", "\r" }, { "\"\\t\"", "\t" },
		{ "\"\\u0041\"", "A" }, { "\"\\u00e9\"", "\xc3\xa9" }, { "\"\\u00E9\"", "\xc3\xa9" },
		{ "\"\\u07ff\"", "\xdf\xbf" }, { "\"\\u0800\"", "\xe0\xa0\x80" },
		{ "\"\\u20ac\"", "\xe2\x82\xac" }, { "\"\\uffff\"", "\xef\xbf\xbf" },
		{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80" },
		{ "\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80" },
		{ "\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf" },
		{ "\"a\\u0001b\"", "a\x01" "b" },
		{ "\"\xc3\xa9 raw utf-8 \xf0\x9f\x98\x80\"", "\xc3\xa9 raw utf-8 \xf0\x9f\x98\x80" },
		{ "\"mix\\\\n\\n\\u005c\"", "mix\\n\n\\" },
		{ "\"\"", "" },
	};
	char out[64];
	size_t i;
	int n;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		n = str_of(cases[i].in, out, sizeof out);
		ok(n == (int)strlen(cases[i].out) && !strcmp(out, cases[i].out),
		    "json_str decodes %s", cases[i].in);
	}
}

static void
test_bad_strings(void)
{
	static const char *refused[] = {
		"\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\ud83dx\"",
		"\"\\ud83d\\ud83d\"", "\"\\u0000\"", "\"a\\ud83d\\\"\"",
	};
	char out[64];
	size_t i;

	for (i = 0; i < ARRAY_LEN(refused); i++)
		is_int(str_of(refused[i], out, sizeof out), -1,
		    "json_str refuses %s (lone surrogate or NUL)", refused[i]);
	is_int(P("\"\\x\""), JSON_EINVAL, "unknown escape is invalid");
	is_int(P("\"\\u12g4\""), JSON_EINVAL, "non-hex in \\u is invalid");
	is_int(P("\"\\U0041\""), JSON_EINVAL, "\\U is not an escape");
	is_int(P("\"a\nb\""), JSON_EINVAL, "raw newline in a string is invalid");
	is_int(P("\"a\tb\""), JSON_EINVAL, "raw tab in a string is invalid");
	is_int(P("\"\x01\""), JSON_EINVAL, "raw control character in a string is invalid");
	is_int(P("\"\x7f\""), 1, "DEL is allowed raw");

	is_int(str_of("\"abcd\"", out, 5), 4, "json_str fits exactly (4 bytes + NUL in 5)");
	is_int(str_of("\"abcd\"", out, 4), -1, "json_str refuses a too-small buffer");
	is_int(str_of("\"\\u20ac\"", out, 3), -1, "json_str refuses a cut multi-byte character");
	is_int(str_of("\"\\u20ac\"", out, 4), 3, "json_str: 3-byte character fits in 4");
	P("[1]");
	is_int(json_str("[1]", t, 1, out, sizeof out), -1, "json_str on a number is -1");
	is_int(json_str("[1]", t, -1, out, sizeof out), -1, "json_str on index -1 is -1");
}

static void
test_depth(void)
{
	char buf[512];
	int i;

	for (i = 0; i < JSON_MAX_DEPTH; i++) {
		buf[i] = '[';
		buf[2 * JSON_MAX_DEPTH - 1 - i] = ']';
	}
	buf[2 * JSON_MAX_DEPTH] = 0;
	is_int(P(buf), JSON_MAX_DEPTH, "nesting of exactly JSON_MAX_DEPTH arrays accepted");
	for (i = 0; i <= JSON_MAX_DEPTH; i++) {
		buf[i] = '[';
		buf[2 * JSON_MAX_DEPTH + 1 - i] = ']';
	}
	buf[2 * JSON_MAX_DEPTH + 2] = 0;
	is_int(P(buf), JSON_EDEPTH, "one level deeper is JSON_EDEPTH");
	for (i = 0; i < 200; i++)
		buf[i] = i % 2 ? '[' : '{';
	buf[200] = 0;
	for (i = 0; i < 200; i++)
		if (buf[i] == '{')
			buf[i] = '[';
	is_int(P(buf), JSON_EDEPTH, "deep truncated nesting reports depth, not a crash");
	strcpy(buf, "{\"a\":");
	for (i = 0; i < 70; i++)
		strcat(buf, "{\"a\":");
	is_int(P(buf), JSON_EDEPTH, "deep nesting of objects is JSON_EDEPTH");
}

static void
test_truncated(void)
{
	static const char doc[] =
		"{\"id\": \"vm-1\", \"esc\": \"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\n\","
		" \"n\": [0, -1, 12.5e-3, 1E+2, -0.0], \"t\": true, \"f\": false,"
		" \"z\": null, \"o\": {\"e\": {}, \"a\": []}}";
	size_t i, len = strlen(doc);
	int good = 1, r;

	is_int(json_parse(doc, len, t, NT, NULL), 24, "the whole document parses (24 tokens)");
	for (i = 0; i < len; i++) {
		r = json_parse(doc, i, t, NT, NULL);
		if (r != JSON_EPART) {
			printf("# prefix %zu: %d\n", i, r);
			good = 0;
		}
	}
	ok(good, "every proper prefix of the document is JSON_EPART");
	is_int(P(""), JSON_EPART, "empty input is JSON_EPART");
	is_int(P("  \n\t"), JSON_EPART, "whitespace only is JSON_EPART");
	is_int(P("-"), JSON_EPART, "lone minus is truncated");
	is_int(P("1."), JSON_EPART, "number ending in a dot is truncated");
	is_int(P("1e"), JSON_EPART, "number ending in e is truncated");
	is_int(P("1e+"), JSON_EPART, "number ending in e+ is truncated");
	is_int(P("tru"), JSON_EPART, "cut literal is truncated");
	is_int(P("\"abc\\"), JSON_EPART, "string ending in a backslash is truncated");
}

static void
test_invalid(void)
{
	static const char *bad[] = {
		"[1,]", "{\"a\":1,}", "[,1]", "{,}", "01", "-01", "00", "1.e5", ".5", "+1",
		"--1", "1.5.", "0x10", "NaN", "Infinity", "-Infinity", "True", "nul1", "truex",
		"nulL", "'a'", "[1 2]", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{1:2}", "{\"a\"}",
		"1 2", "[1]]", "{}}", "]", "}", ":", ",", "[1,,2]", "{\"a\"::1}", "/* c */ 1",
		"1 // c", "[1]x", "\"a\"\"b\"", "\xef\xbb\xbf{}", "\x00", "[\x01]", "1e5.0",
		"{\"a\":1,\"b\"}", "[-]", "[1.]", "-a", "\"\\",
	};
	size_t i, n;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		n = i == ARRAY_LEN(bad) - 1 ? 2 : (i == 40 ? 1 : strlen(bad[i]));
		is_int(json_parse(bad[i], n, t, NT, NULL),
		    i == ARRAY_LEN(bad) - 1 ? JSON_EPART : JSON_EINVAL, "invalid: %s", bad[i]);
	}
	is_int(P(" {\"a\" : [ 1 , 2 ] } \r\n"), 5, "whitespace everywhere allowed");
	is_int(P("-0"), 1, "-0 is a number");
	is_int(P("0.5e-10"), 1, "fraction and exponent");
	is_int(P("\"\\/\""), 1, "escaped slash");
}

static void
test_enomem(void)
{
	static const char doc[] = "{\"a\":[1,2],\"b\":null}";
	int k;

	is_int(json_parse(doc, strlen(doc), t, NT, NULL), 7, "7 tokens");
	for (k = 0; k < 7; k++)
		if (json_parse(doc, strlen(doc), t, k, NULL) != JSON_ENOMEM)
			break;
	is_int(k, 7, "every budget below 7 tokens is JSON_ENOMEM");
	is_int(json_parse(doc, strlen(doc), t, 7, NULL), 7, "exactly 7 tokens is enough");
	is_int(json_parse(doc, strlen(doc), NULL, 0, NULL), JSON_ENOMEM, "no token array: ENOMEM");
	ok(strstr(json_strerror(JSON_ENOMEM), "tokens") != NULL, "json_strerror names the problem");
}

static void
test_navigation(void)
{
	static const char doc[] =
		"{\"a\":{\"x\":[1,2],\"y\":{}},\"b\":[true,false,null,[3]],\"c\":\"s\",\"k\\u0041\":1}";
	int n, a, b, c, x, el;
	int64_t v;
	int bv;
	size_t errpos = 0;

	n = json_parse(doc, strlen(doc), t, NT, &errpos);
	is_int(n, 20, "navigation doc has 20 tokens");
	is_int(errpos, strlen(doc), "errpos at the end on success");
	is_int(t[0].size, 4, "object size counts keys");
	a = json_get(doc, t, 0, "a");
	b = json_get(doc, t, 0, "b");
	c = json_get(doc, t, 0, "c");
	ok(a > 0 && t[a].type == JSON_OBJECT, "json_get finds a nested object");
	ok(b > 0 && t[b].type == JSON_ARRAY && t[b].size == 4, "json_get skips the subtree before b");
	ok(c > 0 && json_eq(doc, t, c, "s"), "json_get finds c after two subtrees");
	is_int(json_get(doc, t, 0, "missing"), -1, "missing key is -1");
	is_int(json_get(doc, t, 0, "kA"), -1, "keys are compared raw (no unescaping)");
	is_int(json_get(doc, t, b, "a"), -1, "json_get on an array is -1");
	is_int(json_get(doc, t, -1, "a"), -1, "json_get on -1 is -1");
	x = json_get(doc, t, a, "x");
	is_int(json_next(t, a), b - 1, "json_next skips a whole object");
	is_int(json_next(t, 0), n, "json_next of the root is the token count");
	el = json_index(t, x, 1);
	ok(el > 0 && json_int(doc, t, el, &v) == 0 && v == 2, "json_index reads element 1");
	is_int(json_index(t, x, 2), -1, "json_index past the end is -1");
	is_int(json_index(t, x, -1), -1, "json_index negative is -1");
	is_int(json_index(t, a, 0), -1, "json_index on an object is -1");
	el = json_index(t, b, 3);
	ok(el > 0 && t[el].type == JSON_ARRAY && t[el].size == 1, "json_index past nested values");
	ok(json_bool(t, json_index(t, b, 0), &bv) == 0 && bv == 1, "json_bool true");
	ok(json_bool(t, json_index(t, b, 1), &bv) == 0 && bv == 0, "json_bool false");
	is_int(json_bool(t, json_index(t, b, 2), &bv), -1, "json_bool on null is -1");
	is_int(t[json_index(t, b, 2)].type, JSON_NULL, "null token type");
	is_int(t[x].parent, x - 1, "a value's parent is its key");
	is_int(t[x - 1].parent, a, "a key's parent is its object");
}

static void
test_int(void)
{
	static const struct { const char *s; int ok; int64_t v; } cases[] = {
		{ "0", 1, 0 }, { "-0", 1, 0 }, { "42", 1, 42 }, { "-17", 1, -17 },
		{ "9223372036854775807", 1, INT64_MAX },
		{ "-9223372036854775808", 1, INT64_MIN },
		{ "9223372036854775808", 0, 0 }, { "-9223372036854775809", 0, 0 },
		{ "100000000000000000000000000000000000", 0, 0 },
		{ "1.0", 0, 0 }, { "1e3", 0, 0 }, { "1E3", 0, 0 }, { "\"1\"", 0, 0 }, { "true", 0, 0 },
	};
	int64_t v;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		v = 12345;
		ok(P(cases[i].s) == 1, "parse %s", cases[i].s);
		r = json_int(cases[i].s, t, 0, &v);
		if (cases[i].ok)
			ok(r == 0 && v == cases[i].v, "json_int %s", cases[i].s);
		else
			ok(r == -1 && v == 12345, "json_int refuses %s and leaves *v", cases[i].s);
	}
}

static void
test_writer(void)
{
	struct jw w;
	const char *s;
	char raw[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9\xf0\x9f\x98\x80 end";

	jw_init(&w);
	jw_str(&w, raw);
	is_str(jw_text(&w), "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f \xc3\xa9\xf0\x9f\x98\x80 end\"",
	    "writer escapes quotes, backslash and control characters, passes UTF-8");
	jw_free(&w);

	jw_init(&w);
	jw_strn(&w, "a\0b", 3);
	is_str(jw_text(&w), "\"a\\u0000b\"", "writer escapes NUL inside jw_strn");
	jw_free(&w);

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "s", "v");
	jw_kint(&w, "min", INT64_MIN);
	jw_key(&w, "u");
	jw_uint(&w, UINT64_MAX);
	jw_kbool(&w, "t", 1);
	jw_key(&w, "n");
	jw_null(&w);
	jw_key(&w, "d");
	jw_double(&w, 0.5);
	jw_key(&w, "nan");
	jw_double(&w, 0.0 / 0.0);
	jw_key(&w, "a");
	jw_arr(&w);
	jw_int(&w, 1);
	jw_arr(&w);
	jw_arr_end(&w);
	jw_obj(&w);
	jw_obj_end(&w);
	jw_bool(&w, 0);
	jw_arr_end(&w);
	jw_obj_end(&w);
	is_str(jw_text(&w), "{\"s\":\"v\",\"min\":-9223372036854775808,\"u\":18446744073709551615,"
	    "\"t\":true,\"n\":null,\"d\":0.5,\"nan\":null,\"a\":[1,[],{},false]}",
	    "writer places commas and colons");
	jw_free(&w);

	jw_init(&w);
	is_str(jw_text(&w), "", "empty writer gives an empty string");
	jw_free(&w);

	jw_init(&w);
	for (int i = 0; i <= JSON_MAX_DEPTH; i++)
		jw_arr(&w);
	s = jw_text(&w);
	ok(s == NULL && w.err, "writer refuses nesting deeper than JSON_MAX_DEPTH");
	jw_free(&w);
}

static void
test_roundtrip(void)
{
	static const char *strs[] = {
		"", "plain", "quote \" backslash \\ slash /", "\b\f\n\r\t",
		"\x01\x02\x03\x1e\x1f\x7f", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		"fault: \"path\" /tmp/x\\y not found\n",
	};
	struct jw w;
	const char *js;
	char out[256];
	size_t i;
	int n, good = 1, k;
	int64_t v;

	jw_init(&w);
	jw_obj(&w);
	jw_key(&w, "list");
	jw_arr(&w);
	for (i = 0; i < ARRAY_LEN(strs); i++)
		jw_str(&w, strs[i]);
	jw_arr_end(&w);
	jw_kint(&w, "big", INT64_MAX);
	jw_kstr(&w, "k\"ey\n", "v");
	jw_obj_end(&w);
	js = jw_text(&w);
	n = json_parse(js, strlen(js), t, NT, NULL);
	ok(n > 0, "writer output parses");
	k = json_get(js, t, 0, "list");
	for (i = 0; i < ARRAY_LEN(strs); i++) {
		int e = json_index(t, k, (int)i);
		if (json_str(js, t, e, out, sizeof out) != (int)strlen(strs[i]) || strcmp(out, strs[i]))
			good = 0;
	}
	ok(good, "every string reads back identical after write -> parse -> json_str");
	ok(json_int(js, t, json_get(js, t, 0, "big"), &v) == 0 && v == INT64_MAX,
	    "int64 max reads back");
	ok(json_get(js, t, 0, "k\\\"ey\\n") > 0, "escaped key is found by its raw form");
	jw_free(&w);
}

/* Bytes that are not UTF-8 come out as U+00XX characters: valid JSON. */
static void
test_writer_bad_utf8(void)
{
	struct jw w;
	struct json_tok tk[4];
	char back[64];

	jw_init(&w);
	jw_str(&w, "a\xff\xc0\x80\xed\xa0\x80\xe2\x82 \xc3\xa9");
	is_str(jw_text(&w), "\"a\xc3\xbf\xc3\x80\xc2\x80\xc3\xad\xc2\xa0\xc2\x80"
	    "\xc3\xa2\xc2\x82 \xc3\xa9\"",
	    "writer: stray, overlong, surrogate and truncated sequences become U+00XX");
	ok(json_parse(jw_text(&w), strlen(jw_text(&w)), tk, 4, NULL) == 1 &&
	    json_str(jw_text(&w), tk, 0, back, sizeof back) > 0,
	    "writer: the result parses and reads back");
	jw_free(&w);
}

int
main(void)
{
	test_escapes();
	test_bad_strings();
	test_depth();
	test_truncated();
	test_invalid();
	test_enomem();
	test_navigation();
	test_int();
	test_writer();
	test_roundtrip();
	test_writer_bad_utf8();
	return done_testing();
}
