/* credproc: see credproc.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credproc.h"
#include "json.h"
#include "runcap.h"
#include "util.h"

#define OUT_MAX 65536

static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Words of line into buf (each NUL-terminated), pointers into w (room for
 * strlen(line) + 1). Returns the count or -1. */
static int
split(const char *s, char *buf, char **w)
{
	int n = 0, in = 0;
	char q = 0, *o = buf;

	for (; *s; s++) {
		if (q == '\'') {
			if (*s == '\'')
				q = 0;
			else
				*o++ = *s;
			continue;
		}
		if (q == '"') {
			if (*s == '"')
				q = 0;
			else if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				*o++ = *++s;
			else
				*o++ = *s;
			continue;
		}
		if (blank(*s)) {
			if (in)
				*o++ = 0, in = 0;
			continue;
		}
		if (!in)
			w[n++] = o, in = 1;
		if (*s == '\'' || *s == '"')
			q = *s;
		else if (*s == '\\' && !*++s)
			return fail("credential_process: a backslash ends the line");
		else
			*o++ = *s;
	}
	if (q)
		return fail("credential_process: unterminated %c quote", q);
	if (in)
		*o = 0;
	return n;
}

int
credproc_split(const char *line, char ***argv)
{
	size_t len = strlen(line);
	char **w, *buf;
	int n;

	*argv = NULL;
	if (!(w = malloc((len + 2) * sizeof *w + len + 1)))
		return fail("out of memory");
	buf = (char *)(w + len + 2);
	if ((n = split(line, buf, w)) < 0) {
		free(w);
		return -1;
	}
	if (n == 0) {
		free(w);
		return fail("credential_process is empty");
	}
	w[n] = NULL;
	*argv = w;
	return 0;
}

static int
check_version(const char *what, const char *js, size_t n)
{
	struct json_tok t[256];
	int64_t v;
	int nt = json_parse(js, n, t, (int)ARRAY_LEN(t), NULL), i;

	if (nt < 0 || t[0].type != JSON_OBJECT)
		return fail("%s: its output is not a JSON object", what);
	i = json_get(js, t, 0, "Version");
	if (i < 0 || json_int(js, t, i, &v) < 0 || v != 1)
		return fail("%s: its output lacks \"Version\": 1 (the only version there is)", what);
	return 0;
}

int
credproc_fetch(struct creds *c)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct runcap rc = { NULL, NULL, -1, OUT_MAX, CREDPROC_TIMEOUT_S * 1000LL };
	char **argv, what[600], said[300];
	int code, r = -1;

	if (credproc_split(c->cmd, &argv) < 0)
		return -1;
	snprintf(what, sizeof what, "credential_process '%s'", argv[0]);
	rc.argv = argv;
	if (runcap(&rc, &out, &err, &code) < 0) {
		fail("%s: %s", what, errmsg());
	} else if (code) {
		creds_clean(said, sizeof said, err.s ? err.s : "", err.s ? strcspn(err.s, "\n") : 0);
		fail("%s exited with status %d%s%s", what, code, *said ? ": " : "", said);
	} else if (sb_ok(&out) == 0 && check_version(what, out.s ? out.s : "", out.len) == 0) {
		r = creds_set_json(c, what, out.s, out.len);
	}
	if (out.s)
		memset(out.s, 0, out.len);
	sb_free(&out);
	sb_free(&err);
	free(argv);
	return r;
}
