/* fcargs: see fcargs.h. */
#include "fcargs.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

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

/* The words option v[i] takes: itself, and the next when it is no option. */
static int
words(char *const *v, int n, int i)
{
	return i + 1 < n && strncmp(v[i + 1], "--", 2) ? 2 : 1;
}

static int
given(char *const *host, int nhost, const char *opt)
{
	int i;

	for (i = 0; i < nhost; i++)
		if (strcmp(host[i], opt) == 0)
			return 1;
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
		w = k ? k : words(rec, nrec, i);
		if (given(host, nhost, rec[i]))
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

/* s into out, each byte that is not printable ASCII as '?': the words may
 * come from a bucket and go to a terminal. */
static void
shown(char *out, const char *s)
{
	for (; *s; s++)
		*out++ = *s >= 0x20 && *s < 0x7f ? *s : '?';
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
			return;
		}
		if (i > 0)
			out[used++] = ' ';
		shown(out + used, v[i]);
		used += l - (i > 0);
	}
	out[used] = 0;
}
