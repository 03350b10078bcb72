/* fc-snap-ls: list the snapshots in the local store, or in an S3 remote
 * (--remote: one ListObjectsV2 walk of <prefix>/snapshots/; a snapshot is
 * listed when its manifest exists, described by its meta.json).
 * Reads meta.json and stats the snapshot's files (never following a
 * symlink); a damaged entry is listed as damaged, not skipped. */
#include "json.h"
#include "meta.h"
#include "remote.h"
#include "s3obj.h"
#include "store.h"
#include "util.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
"usage: fc-snap-ls [-q | --json] [--remote s3://BUCKET/PREFIX] [NAME...]\n"
"List the snapshots in the local store, or in an S3 remote (all, or the\n"
"NAMEs given).\n"
"\n"
"  -q, --quiet        print names only, one per line\n"
"  -j, --json         print one JSON object per line\n"
"  -r, --remote URL   list the snapshots pushed to URL (s3://bucket/prefix)\n"
"  -h, --help         show this help\n"
"      --version      print the version\n"
"\n"
"The table shows NAME, VMSTATE size, MEM size (apparent), MEM-USED (on disk),\n"
"DISK size, FC (Firecracker version) and CREATED.  A snapshot whose meta.json\n"
"is missing or damaged, or whose files are missing, of the wrong size, or not\n"
"regular files owned by us or root, is listed as \"damaged: <reason>\".\n"
"Store: $FCSNAP_DIR (default /var/lib/fcsnap for root).  A remote snapshot is\n"
"listed once its manifest exists (fc-snap-push writes it last).\n";

enum { OUT_TABLE, OUT_QUIET, OUT_JSON };

struct ent {
	char *name;
	int ok;
	struct meta m;
	char reason[512];
};

/* 512, 12K, 1.5M, 512M, 2G: powers of 1024, one decimal below 10. */
static void
human(char *out, size_t n, unsigned long long v)
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(out, n, "%llu", v);
		return;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (d < 10 && d != (double)(long long)d)
		snprintf(out, n, "%.1f%c", d, units[u]);
	else
		snprintf(out, n, "%.0f%c", d, units[u]);
}

static void
load(const struct store *s, struct ent *e)
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
print_json(const struct ent *e)
{
	struct jw w;
	char *s;

	if (e->ok) {
		s = meta_to_json(&e->m);
		if (!s)
			return -1;
		printf("%s\n", s);
		free(s);
		return 0;
	}
	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "name", e->name);
	jw_kstr(&w, "damaged", e->reason);
	jw_obj_end(&w);
	if (!jw_text(&w)) {
		jw_free(&w);
		return fail("out of memory");
	}
	printf("%s\n", jw_text(&w));
	jw_free(&w);
	return 0;
}

enum { C_NAME, C_VMSTATE, C_MEM, C_MEMUSED, C_DISK, C_FC, C_CREATED, NCOL };

static void
cells(const struct ent *e, char c[NCOL][64])
{
	snprintf(c[C_NAME], 64, "%s", e->name);
	human(c[C_VMSTATE], 64, e->m.vmstate.size);
	human(c[C_MEM], 64, e->m.mem.size);
	human(c[C_MEMUSED], 64, e->m.mem.disk);
	human(c[C_DISK], 64, e->m.rootfs.size);
	snprintf(c[C_FC], 64, "%s", e->m.fc_version);
	snprintf(c[C_CREATED], 64, "%s", e->m.created_at);
}

/* NAME left-aligned, sizes right-aligned, the rest left-aligned; the last
 * column is not padded. */
static void
print_row(const int *w, const char *const *c)
{
	int k;

	printf("%-*s", w[0], c[0]);
	for (k = 1; k < NCOL; k++) {
		if (k < C_FC)
			printf("  %*s", w[k], c[k]);
		else if (k < NCOL - 1)
			printf("  %-*s", w[k], c[k]);
		else
			printf("  %s", c[k]);
	}
	printf("\n");
}

static void
print_table(const struct ent *v, int n)
{
	static const char *head[NCOL] = { "NAME", "VMSTATE", "MEM", "MEM-USED",
		"DISK", "FC", "CREATED" };
	char c[NCOL][64];
	const char *row[NCOL];
	int w[NCOL], i, k, l;

	for (k = 0; k < NCOL; k++)
		w[k] = (int)strlen(head[k]);
	for (i = 0; i < n; i++) {
		if (!v[i].ok) {
			l = (int)strlen(v[i].name);
			if (l > w[C_NAME])
				w[C_NAME] = l;
			continue;
		}
		cells(&v[i], c);
		for (k = 0; k < NCOL; k++) {
			l = (int)strlen(c[k]);
			if (l > w[k])
				w[k] = l;
		}
	}
	print_row(w, head);
	for (i = 0; i < n; i++) {
		if (!v[i].ok) {
			printf("%-*s  damaged: %s\n", w[C_NAME], v[i].name, v[i].reason);
			continue;
		}
		cells(&v[i], c);
		for (k = 0; k < NCOL; k++)
			row[k] = c[k];
		print_row(w, row);
	}
}

/* ---- remote ---------------------------------------------------------- */

static struct remote rem;

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names with a manifest under <prefix>/snapshots/, sorted. */
static int
remote_names(char ***out)
{
	struct s3_list l;
	char *pre, **v;
	size_t i, pl;
	int n = 0;

	memset(&l, 0, sizeof l);
	pre = remote_key(&rem, "snapshots/", NULL, NULL);
	if (!pre)
		return -1;
	if (s3_list(&rem.c, pre, NULL, 0, &l) < 0) {
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
load_remote(struct ent *e)
{
	struct meta raw;
	char *key, *text = NULL;
	size_t n;
	int r;

	meta_init(&e->m);
	key = remote_key(&rem, "snapshots", e->name, "meta.json");
	if (!key) {
		snprintf(e->reason, sizeof e->reason, "%s", errmsg());
		return;
	}
	r = s3_get_mem(&rem.c, key, 1 << 20, &text, &n);
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
select_remote(char **args, int nargs, char ***out, int *rc)
{
	char **all = NULL, **v;
	int n, i, k, m = 0;

	n = remote_names(&all);
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
			warnmsg("no snapshot named %s at %s", args[i], rem.url);
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

static void
remote_setup(const char *url)
{
	if (remote_open(&rem, url, NULL) < 0)
		die("%s", errmsg());
}

static void
remote_cleanup(void)
{
	remote_close(&rem);
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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "remote", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct store s;
	struct ent *v;
	char **names = NULL;
	const char *url = NULL;
	int c, mode = OUT_TABLE, n, i, rc = 0;

	prog_init(argv);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qjr:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': mode = OUT_QUIET; break;
		case 'j': mode = OUT_JSON; break;
		case 'r': url = optarg; break;
		case ':': usage_die("option '%s' needs an argument", argv[optind - 1]);
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("%s (fcsnap) %s\n", progname, FCSNAP_VERSION); return 0;
		default:
			if (optopt)
				usage_die("unknown option '-%c'", optopt);
			usage_die("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (url) {
		remote_setup(url);
		n = select_remote(argv + optind, argc - optind, &names, &rc);
	} else {
		if (store_init(&s) < 0)
			die("%s", errmsg());
		n = select_names(&s, argv + optind, argc - optind, &names, &rc);
	}
	if (n < 0) {
		if (url)
			remote_cleanup();
		die("%s", errmsg());
	}
	if (mode == OUT_QUIET) {
		for (i = 0; i < n; i++)
			printf("%s\n", names[i]);
		store_free_names(names, n);
		if (url)
			remote_cleanup();
		return fflush(stdout) == 0 ? rc : 1;
	}
	v = calloc((size_t)n + 1, sizeof *v);
	if (!v)
		die("out of memory");
	for (i = 0; i < n; i++) {
		v[i].name = names[i];
		if (url)
			load_remote(&v[i]);
		else
			load(&s, &v[i]);
	}
	if (mode == OUT_JSON) {
		for (i = 0; i < n; i++)
			if (print_json(&v[i]) < 0)
				die("%s", errmsg());
	} else if (n > 0) {
		print_table(v, n);
	}
	for (i = 0; i < n; i++)
		meta_free(&v[i].m);
	free(v);
	store_free_names(names, n);
	if (url)
		remote_cleanup();
	if (fflush(stdout) != 0)
		die("writing to stdout failed");
	return rc;
}
