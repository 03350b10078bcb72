/* fc-snap-ls: list the snapshots in the local store, or in an S3 remote
 * (--remote: one ListObjectsV2 walk of <prefix>/snapshots/; a snapshot is
 * listed when its manifest exists, described by its meta.json).
 * Reads meta.json and stats the snapshot's files (never following a
 * symlink); a damaged entry is listed as damaged, not skipped. */
#include "json.h"
#include "snapls.h"
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

static int
print_json(const struct snapls_ent *e)
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
cells(const struct snapls_ent *e, char c[NCOL][64])
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
print_table(const struct snapls_ent *v, int n)
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
	struct remote rem;
	struct snapls l;
	const char *url = NULL;
	int c, mode = OUT_TABLE, i, r, missing;

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
		if (remote_open(&rem, url, NULL) < 0)
			die("%s", errmsg());
		r = snapls_remote(&l, &rem, argv + optind, argc - optind, mode != OUT_QUIET);
		remote_close(&rem);
	} else {
		if (store_init(&s) < 0)
			die("%s", errmsg());
		r = snapls_local(&l, &s, argv + optind, argc - optind, mode != OUT_QUIET);
	}
	if (r < 0)
		die("%s", errmsg());
	for (i = 0; i < l.n; i++) {
		if (mode == OUT_QUIET)
			printf("%s\n", l.v[i].name);
		else if (mode == OUT_JSON && print_json(&l.v[i]) < 0)
			die("%s", errmsg());
	}
	if (mode == OUT_TABLE && l.n > 0)
		print_table(l.v, l.n);
	missing = l.missing;
	snapls_free(&l);
	if (fflush(stdout) != 0)
		die("writing to stdout failed");
	return missing ? 1 : 0;
}
