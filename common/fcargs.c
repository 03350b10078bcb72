/* fcargs: see fcargs.h. */
#include "fcargs.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

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
