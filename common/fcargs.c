/* fcargs: see fcargs.h. */
#include "fcargs.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Words of the item starting at w[i]: an option and its value, or one. */
static int
item_len(char *const *w, int n, int i)
{
	if (strncmp(w[i], "--", 2) || strchr(w[i], '=') || i + 1 >= n || w[i + 1][0] == '-')
		return 1;
	return 2;
}

/* Does the option of word a have the name of option word b? */
static int
same_opt(const char *a, const char *b)
{
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");

	return !strncmp(a, "--", 2) && !strncmp(b, "--", 2) && la == lb && !memcmp(a, b, la);
}

/* Is the option w[i] named again in w at an item start from `from` on? */
static int
named_in(const char *opt, char *const *w, int n, int from)
{
	int j;

	for (j = from; j < n; j += item_len(w, n, j))
		if (same_opt(opt, w[j]))
			return 1;
	return 0;
}

/* The merged list into out (when not NULL; add's words taken from dup).
 * Returns its length. */
static int
merge_into(char *const *args, int n, char *const *add, int nadd, char **out, char **dup)
{
	int i, k, len, m = 0;

	for (i = 0; i < n; i += len) {
		len = item_len(args, n, i);
		if (named_in(args[i], add, nadd, 0))
			continue;
		for (k = 0; k < len; k++, m++)
			if (out)
				out[m] = args[i + k];
	}
	for (i = 0; i < nadd; i += len) {
		len = item_len(add, nadd, i);
		if (named_in(add[i], add, nadd, i + len))
			continue;
		for (k = 0; k < len; k++, m++)
			if (out)
				out[m] = dup[i + k];
	}
	return m;
}

static int
listed(char *const *w, int n, const char *p)
{
	int i;

	for (i = 0; i < n; i++)
		if (w[i] == p)
			return 1;
	return 0;
}

int
fcargs_merge(char **args, int *n, int max, char *const *add, int nadd)
{
	char **out, **dup;
	int i, m = merge_into(args, *n, add, nadd, NULL, NULL);

	if (m > max)
		return fail("too many firecracker arguments (limit %d)", max);
	out = calloc((size_t)m + 1, sizeof *out);
	dup = calloc((size_t)nadd + 1, sizeof *dup);
	for (i = 0; out && dup && i < nadd; i++)
		if (!(dup[i] = strdup(add[i])))
			break;
	if (!out || !dup || i < nadd) {
		for (i = 0; dup && i < nadd; i++)
			free(dup[i]);
		free(out);
		free(dup);
		return fail("out of memory");
	}
	merge_into(args, *n, add, nadd, out, dup);
	for (i = 0; i < *n; i++)
		if (!listed(out, m, args[i]))
			free(args[i]);
	for (i = 0; i < nadd; i++)
		if (!listed(out, m, dup[i]))
			free(dup[i]);
	memcpy(args, out, (size_t)m * sizeof *out);
	*n = m;
	free(out);
	free(dup);
	return 0;
}

/* ---- a restore's arguments ---- */

enum { FLAG, LEVEL, NUMBER };

static const struct {
	const char *name;
	int kind;
} allowed[] = {
	{ "--level", LEVEL },
	{ "--show-level", FLAG },
	{ "--show-log-origin", FLAG },
	{ "--boot-timer", FLAG },
	{ "--enable-pci", FLAG },
	{ "--http-api-max-payload-size", NUMBER },
	{ "--mmds-size-limit", NUMBER },
};

static const char *const levels[] = { "Error", "Warning", "Info", "Debug", "Trace", "Off" };

static int
value_ok(int kind, const char *s)
{
	size_t i;

	if (kind == NUMBER) {
		if (!*s || strlen(s) > 12)
			return 0;
		for (; *s; s++)
			if (*s < '0' || *s > '9')
				return 0;
		return 1;
	}
	for (i = 0; i < sizeof levels / sizeof *levels; i++)
		if (strcasecmp(s, levels[i]) == 0)
			return 1;
	return 0;
}

int
fcargs_harmless(char *const *v, int n, int i)
{
	size_t k;

	for (k = 0; k < sizeof allowed / sizeof *allowed; k++) {
		if (strcmp(v[i], allowed[k].name))
			continue;
		if (allowed[k].kind == FLAG)
			return 1;
		return i + 1 < n && value_ok(allowed[k].kind, v[i + 1]) ? 2 : 0;
	}
	return 0;
}

int
fcargs_restore(char *const *rec, int nrec, char *const *host, int nhost,
    struct fcargs *fa)
{
	char *drop[FCARGS_MAX];
	int i, w, k, nd = 0;

	memset(fa, 0, sizeof *fa);
	if (nrec > FCARGS_MAX)
		return fail("more than %d firecracker arguments", FCARGS_MAX);
	for (i = 0; i < nrec; i += w) {
		k = fcargs_harmless(rec, nrec, i);
		w = k ? k : item_len(rec, nrec, i);
		if (named_in(rec[i], host, nhost, 0))
			continue;
		memcpy(k ? fa->v + fa->n : drop + nd, rec + i, (size_t)w * sizeof *rec);
		*(k ? &fa->n : &nd) += w;
	}
	fcargs_join(drop, nd, fa->dropped, sizeof fa->dropped);
	if (fa->n + nhost > FCARGS_MAX)
		return fail("more than %d firecracker arguments", FCARGS_MAX);
	for (i = 0; i < nhost; i++)
		fa->v[fa->n++] = host[i];
	return 0;
}

void
fcargs_join(char *const *v, int n, char *out, size_t len)
{
	size_t used = 0, l, room;
	int i;

	if (len < 5) {
		if (len)
			out[0] = 0;
		return;
	}
	out[0] = 0;
	for (i = 0; i < n; i++) {
		l = (i > 0) + strlen(v[i]);
		room = i + 1 < n ? 5 : 1;       /* " ..." and the NUL, or the NUL */
		if (used + l + room > len) {
			snprintf(out + used, len - used, "%s...", i > 0 ? " " : "");
			break;
		}
		if (i > 0)
			out[used++] = ' ';
		memcpy(out + used, v[i], l - (i > 0));
		used += l - (i > 0);
		out[used] = 0;
	}
	text_shown(out);        /* the words may come from a bucket */
}
