/* snapls: the snapshots fc-snap-ls lists.  See snapls.h. */
#include "snapls.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3obj.h"
#include "util.h"

static void
load_local(const struct store *s, struct snapls_ent *e)
{
	char dir[PATH_MAX];

	meta_init(&e->m);
	if (store_snap_dir(s, e->name, dir, sizeof dir) < 0) {
		snprintf(e->reason, sizeof e->reason, "%s", errmsg());
		return;
	}
	if (meta_read(dir, &e->m) < 0) {
		snprintf(e->reason, sizeof e->reason, "%s", meta_reason()[0] ?
		    meta_reason() : errmsg());
		return;
	}
	if (meta_check_files(dir, &e->m) < 0) {
		snprintf(e->reason, sizeof e->reason, "%s", errmsg());
		return;
	}
	/* the store's name is authoritative */
	snprintf(e->m.name, sizeof e->m.name, "%s", e->name);
	e->ok = 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names with a manifest under <prefix>/snapshots/, sorted. */
static int
remote_names(struct remote *rem, char ***out)
{
	struct s3_list l;
	char *pre, **v;
	size_t i, pl;
	int n = 0;

	memset(&l, 0, sizeof l);
	pre = remote_key(rem, "snapshots/", NULL, NULL);
	if (!pre)
		return -1;
	if (s3_list(&rem->c, pre, NULL, 0, &l) < 0) {
		free(pre);
		return -1;
	}
	pl = strlen(pre);
	v = calloc(l.n + 1, sizeof *v);
	for (i = 0; v && i < l.n; i++) {
		const char *k = l.objs[i].key + pl, *sl;

		if (strncmp(l.objs[i].key, pre, pl) != 0)
			continue;
		sl = strchr(k, '/');
		if (!sl || strcmp(sl, "/manifest") != 0 || (size_t)(sl - k) > 63)
			continue;
		v[n] = strndup(k, (size_t)(sl - k));
		if (!v[n] || name_check(v[n], "snapshot name") < 0) {
			free(v[n]);
			continue;
		}
		n++;
	}
	free(pre);
	s3_list_free(&l);
	if (!v)
		return fail("out of memory");
	qsort(v, (size_t)n, sizeof *v, cmp_str);
	*out = v;
	return n;
}

/* A bucket's meta.json: only its data, its strings checked (meta.h). */
static void
load_remote(struct remote *rem, struct snapls_ent *e)
{
	struct meta raw;
	char *key, *text = NULL;
	size_t n;
	int r;

	meta_init(&e->m);
	key = remote_key(rem, "snapshots", e->name, "meta.json");
	if (!key) {
		snprintf(e->reason, sizeof e->reason, "%s", errmsg());
		return;
	}
	r = s3_get_mem(&rem->c, key, 1 << 20, &text, &n);
	free(key);
	if (r != 0) {
		snprintf(e->reason, sizeof e->reason, "%s", r > 0 ?
		    "meta.json is missing" : errmsg());
		return;
	}
	meta_init(&raw);
	r = meta_parse(text, n, &raw);
	if (r == 0)
		r = meta_take_data(&raw, &e->m);
	meta_free(&raw);
	free(text);
	if (r < 0) {
		snprintf(e->reason, sizeof e->reason, "%s", meta_reason());
		return;
	}
	snprintf(e->m.name, sizeof e->m.name, "%s", e->name);
	e->ok = 1;
}

/* The remote names to list: all, or those asked for that exist. */
static int
select_remote(struct remote *rem, char **args, int nargs, char ***out, int *rc)
{
	char **all = NULL, **v;
	int n, i, k, m = 0;

	n = remote_names(rem, &all);
	if (n < 0 || nargs == 0) {
		if (n >= 0)
			*out = all;
		return n;
	}
	v = calloc((size_t)nargs + 1, sizeof *v);
	if (!v) {
		store_free_names(all, n);
		return fail("out of memory");
	}
	for (i = 0; i < nargs; i++) {
		for (k = 0; k < n && strcmp(all[k], args[i]) != 0; k++)
			;
		if (k == n) {
			warnmsg("no snapshot named %s at %s", args[i], rem->url);
			*rc = 1;
			continue;
		}
		v[m] = strdup(args[i]);
		if (v[m])
			m++;
	}
	store_free_names(all, n);
	*out = v;
	return m;
}

/* The names to list: all, or the ones asked for (each checked). */
static int
select_names(const struct store *s, char **args, int nargs, char ***out, int *rc)
{
	char **v;
	int i, n = 0;

	if (nargs == 0)
		return store_list(s, out);
	v = calloc((size_t)nargs, sizeof *v);
	if (!v)
		return fail("out of memory");
	for (i = 0; i < nargs; i++) {
		if (name_check(args[i], "snapshot name") < 0) {
			warnmsg("%s", errmsg());
			*rc = 1;
			continue;
		}
		if (!store_has(s, args[i])) {
			warnmsg("no snapshot named %s in %s/snapshots", args[i], s->root);
			*rc = 1;
			continue;
		}
		v[n] = strdup(args[i]);
		if (!v[n]) {
			store_free_names(v, n);
			return fail("out of memory");
		}
		n++;
	}
	*out = v;
	return n;
}

/* Entries for names[0 .. n-1] (taken over), each loaded when load. */
static int
entries(struct snapls *l, char **names, int n, int load, const struct store *s,
    struct remote *r)
{
	int i;

	l->v = calloc((size_t)n + 1, sizeof *l->v);
	if (!l->v) {
		store_free_names(names, n);
		return fail("out of memory");
	}
	for (i = 0; i < n; i++) {
		l->v[i].name = names[i];
		meta_init(&l->v[i].m);
		if (load && r)
			load_remote(r, &l->v[i]);
		else if (load)
			load_local(s, &l->v[i]);
	}
	free(names);
	l->n = n;
	return 0;
}

int
snapls_local(struct snapls *l, const struct store *s, char **names, int nnames, int load)
{
	char **v = NULL;
	int n;

	memset(l, 0, sizeof *l);
	n = select_names(s, names, nnames, &v, &l->missing);
	if (n < 0)
		return -1;
	return entries(l, v, n, load, s, NULL);
}

int
snapls_remote(struct snapls *l, struct remote *r, char **names, int nnames, int load)
{
	char **v = NULL;
	int n;

	memset(l, 0, sizeof *l);
	n = select_remote(r, names, nnames, &v, &l->missing);
	if (n < 0)
		return -1;
	return entries(l, v, n, load, NULL, r);
}

void
snapls_free(struct snapls *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		meta_free(&l->v[i].m);
		free(l->v[i].name);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}
