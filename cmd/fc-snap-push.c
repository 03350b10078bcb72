/* fc-snap-push: ship a local snapshot to S3 as deduplicated chunks.
 * See man/fc-snap-push.1 and fcsnap-s3(5).
 *
 * The snapshot dir is opened once and every file is read through that fd,
 * so a refresh publishing meanwhile cannot mix generations.  Holes are
 * found with SEEK_DATA and never read; all-zero chunks are recorded as
 * null; the bucket's chunks/ is listed once; missing chunks go up in
 * parallel; then meta.json; then the manifest, last. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "manifest.h"
#include "meta.h"
#include "remote.h"
#include "s3.h"
#include "store.h"
#include "util.h"

static const char usage_text[] =
"usage: fc-snap-push [options] NAME [s3://BUCKET/PREFIX]\n"
"       fc-snap-push [options] -l NAME --bucket BUCKET [--prefix PREFIX]\n"
"Upload the local snapshot NAME to S3 as deduplicated chunks; all-zero\n"
"chunks and chunks the bucket already has are skipped.  The URL defaults\n"
"to $FCSNAP_REMOTE.\n"
"\n"
"  -l, --lang NAME         the snapshot name (instead of the NAME argument)\n"
"      --bucket BUCKET     the bucket (instead of the URL)\n"
"      --prefix PREFIX     key prefix inside the bucket (with --bucket)\n"
"  -j, --jobs N            parallel uploads (default 8, at most 64)\n"
"      --chunk-size SIZE   chunk size (default 4M; 64K..1G)\n"
"  -n, --dry-run           compute and report, upload nothing\n"
"      --json              print a JSON summary on stdout\n"
"  -v, --verbose           progress on stderr even when it is not a terminal\n"
"  -h, --help              show this help\n"
"      --version           print the version\n";

enum { O_BUCKET = 256, O_PREFIX, O_CHUNK, O_JSON, O_VERSION };

struct ref {                    /* one non-zero chunk position */
	unsigned char sha[SHA256_LEN];
	int f;
	uint64_t i;
};

struct have {                   /* a chunk the bucket has */
	unsigned char sha[SHA256_LEN];
	long long size;
};

struct stats {
	uint64_t total, uploaded, zero, present, dup, bytes;
};

static struct opts {
	const char *name, *url, *bucket, *prefix;
	int jobs, dry, json, verbose;
	uint64_t chunk_size;
} o = { .jobs = 8, .chunk_size = MANIFEST_DEF_CHUNK };

static struct manifest man;
static struct remote rem;
static int fds[MANIFEST_NFILES] = { -1, -1, -1 };
static struct ref *refs;
static size_t nrefs;
static struct stats S;

static int
cmp_sha(const void *a, const void *b)
{
	return memcmp(a, b, SHA256_LEN);
}

static int
all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Is [off, off+len) entirely a hole? */
static int
is_hole(int fd, off_t off, off_t len)
{
	off_t d = lseek(fd, off, SEEK_DATA);

	if (d < 0)
		return errno == ENXIO;
	return d >= off + len;
}

static int
add_ref(const unsigned char sha[SHA256_LEN], int f, uint64_t i)
{
	static size_t cap;

	if (nrefs == cap) {
		size_t nc = cap ? cap * 2 : 256;
		struct ref *v = realloc(refs, nc * sizeof *v);

		if (!v)
			return fail("out of memory");
		refs = v;
		cap = nc;
	}
	memcpy(refs[nrefs].sha, sha, SHA256_LEN);
	refs[nrefs].f = f;
	refs[nrefs].i = i;
	nrefs++;
	return 0;
}

/* Split file k into chunks: zero ones marked, others hashed. */
static int
scan_file(int k, unsigned char *buf)
{
	struct mfile *f = &man.files[k];
	uint64_t i;

	for (i = 0; i < f->nchunks; i++) {
		off_t off = (off_t)(i * man.chunk_size);
		size_t len = (size_t)manifest_chunk_len(&man, f, i);
		ssize_t got;

		if (remote_stop)
			return fail("interrupted; nothing was published");
		S.total++;
		if (is_hole(fds[k], off, (off_t)len)) {
			S.zero++;
			continue;
		}
		got = pread(fds[k], buf, len, off);
		if (got != (ssize_t)len)
			return fail_errno("reading %s of snapshot %s at offset %lld",
			    f->name, o.name, (long long)off);
		if (all_zero(buf, len)) {
			S.zero++;
			continue;
		}
		sha256(buf, len, f->chunks[i].sha);
		f->chunks[i].zero = 0;
		if (add_ref(f->chunks[i].sha, k, i) < 0)
			return -1;
	}
	return 0;
}

static int
open_snapshot(const struct store *st, char **metatext, size_t *metalen, struct meta *m)
{
	uint64_t sizes[MANIFEST_NFILES];
	unsigned modes[MANIFEST_NFILES];
	char path[64];
	struct stat sb;
	int dfd, k;

	dfd = store_open_snap(st, o.name);
	if (dfd < 0)
		return -1;
	for (k = 0; k < MANIFEST_NFILES; k++) {
		fds[k] = openat(dfd, manifest_files[k], O_RDONLY | O_CLOEXEC);
		if (fds[k] < 0 || fstat(fds[k], &sb) < 0)
			return fail_errno("snapshot %s: opening %s", o.name, manifest_files[k]);
		sizes[k] = (uint64_t)sb.st_size;
		modes[k] = sb.st_mode & 0777;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", dfd);
	if (meta_read(path, m) < 0)
		return fail("snapshot %s: %s", o.name, meta_reason());
	if (fmt(path, sizeof path, "/proc/self/fd/%d/meta.json", dfd) < 0)
		return -1;
	*metatext = read_file(path, 1 << 20, metalen);
	close(dfd);
	if (!*metatext)
		return -1;
	if (manifest_init(&man, o.name, o.chunk_size, sizes, modes) < 0)
		return -1;
	snprintf(man.created_at, sizeof man.created_at, "%s", m->created_at);
	return 0;
}

/* Sorted list of the chunks the bucket has. */
static int
list_remote(struct have **out, size_t *n)
{
	struct s3_list l;
	struct have *v;
	char *pre;
	size_t i, k = 0;

	memset(&l, 0, sizeof l);
	pre = remote_key(&rem, "chunks/", NULL, NULL);
	if (!pre)
		return -1;
	if (s3_list(&rem.c, pre, NULL, 0, &l) < 0) {
		free(pre);
		return -1;
	}
	free(pre);
	v = calloc(l.n ? l.n : 1, sizeof *v);
	if (!v) {
		s3_list_free(&l);
		return fail("out of memory");
	}
	for (i = 0; i < l.n; i++) {
		const char *b = strrchr(l.objs[i].key, '/');

		b = b ? b + 1 : l.objs[i].key;
		if (manifest_hex(b, strlen(b), v[k].sha) < 0)
			continue;
		v[k++].size = l.objs[i].size;
	}
	s3_list_free(&l);
	qsort(v, k, sizeof *v, cmp_sha);
	*out = v;
	*n = k;
	return 0;
}

struct slot {
	struct s3_req req;
	struct s3_result res;
	char *key;
	char hex[SHA256_HEX_LEN + 1];
	uint64_t len;
	int busy;
};

static int
start_upload(struct s3_pool *p, struct slot *s, const struct ref *r)
{
	const struct mfile *f = &man.files[r->f];
	struct s3_req init = S3_REQ_INIT;

	sha256_hex(r->sha, s->hex);
	s->key = remote_key(&rem, "chunks", s->hex, NULL);
	if (!s->key)
		return -1;
	s->len = manifest_chunk_len(&man, f, r->i);
	s->req = init;
	s->req.method = "PUT";
	s->req.key = s->key;
	s->req.body_fd = fds[r->f];
	s->req.body_off = (off_t)(r->i * man.chunk_size);
	s->req.body_len = (off_t)s->len;
	s->req.payload_hash = s->hex;
	s->req.udata = s;
	memset(&s->res, 0, sizeof s->res);
	s->busy = 1;
	return s3_pool_start(p, &s->req, &s->res);
}

static int
upload(const struct ref **todo, size_t n, uint64_t bytes)
{
	struct slot *slots = calloc((size_t)o.jobs, sizeof *slots);
	struct s3_pool *p;
	struct progress pr;
	size_t next = 0;
	int k, r = 0;
	char what[96];

	if (!slots)
		return fail("out of memory");
	p = s3_pool_new(&rem.c, o.jobs);
	if (!p) {
		free(slots);
		return -1;
	}
	snprintf(what, sizeof what, "push %s", o.name);
	progress_init(&pr, what, bytes, o.verbose);
	while (next < n || s3_pool_running(p)) {
		struct s3_req *done;
		struct slot *s;
		int w;

		for (k = 0; k < o.jobs && next < n && !remote_stop; k++) {
			if (slots[k].busy)
				continue;
			if (start_upload(p, &slots[k], todo[next++]) < 0) {
				r = -1;
				goto out;
			}
		}
		if (remote_stop) {
			r = fail("interrupted; nothing was published (no manifest was written)");
			goto out;
		}
		w = s3_pool_wait_for(p, &done, 200);
		if (w < 0) {
			r = -1;
			goto out;
		}
		progress_draw(&pr, 0);
		if (!done)
			continue;
		s = done->udata;
		s->busy = 0;
		if (!s->res.ok) {
			r = fail("%s", s->res.err);
			s3_result_free(&s->res);
			free(s->key);
			goto out;
		}
		S.uploaded++;
		S.bytes += s->len;
		progress_add(&pr, s->len);
		s3_result_free(&s->res);
		free(s->key);
		s->key = NULL;
	}
out:
	progress_end(&pr);
	s3_pool_free(p);
	for (k = 0; k < o.jobs; k++)
		if (slots[k].busy) {
			s3_result_free(&slots[k].res);
			free(slots[k].key);
		}
	free(slots);
	return r;
}

/* Decide what to upload, then do it. */
static int
push_chunks(uint64_t *want_bytes)
{
	struct have *hv = NULL;
	const struct ref **todo;
	size_t nh = 0, nt = 0, i, j;
	uint64_t bytes = 0;
	int r;

	if (list_remote(&hv, &nh) < 0)
		return -1;
	qsort(refs, nrefs, sizeof *refs, cmp_sha);
	todo = calloc(nrefs ? nrefs : 1, sizeof *todo);
	if (!todo) {
		free(hv);
		return fail("out of memory");
	}
	for (i = 0; i < nrefs; i = j) {
		uint64_t len = manifest_chunk_len(&man, &man.files[refs[i].f], refs[i].i);
		const struct have *h = bsearch(refs[i].sha, hv, nh, sizeof *hv, cmp_sha);

		for (j = i + 1; j < nrefs && !memcmp(refs[j].sha, refs[i].sha, SHA256_LEN); j++)
			;
		if (h && (uint64_t)h->size == len) {
			S.present += j - i;
			continue;
		}
		S.dup += j - i - 1;
		todo[nt++] = &refs[i];
		bytes += len;
	}
	free(hv);
	*want_bytes = bytes;
	if (o.dry) {
		S.uploaded = nt;
		S.bytes = bytes;
		free(todo);
		return 0;
	}
	r = upload(todo, nt, bytes);
	free(todo);
	return r;
}

static int
put_text(const char *file, const char *text, size_t n)
{
	char *key = remote_key(&rem, "snapshots", o.name, file);
	int r;

	if (!key)
		return -1;
	r = s3_put_mem(&rem.c, key, text, n);
	free(key);
	return r;
}

static void
summary(double secs)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "name", o.name);
	jw_kstr(&w, "remote", rem.url);
	jw_kbool(&w, "dry_run", o.dry);
	jw_key(&w, "chunk_size"); jw_uint(&w, man.chunk_size);
	jw_key(&w, "chunks_total"); jw_uint(&w, S.total);
	jw_key(&w, "uploaded"); jw_uint(&w, S.uploaded);
	jw_key(&w, "skipped_zero"); jw_uint(&w, S.zero);
	jw_key(&w, "skipped_present"); jw_uint(&w, S.present);
	jw_key(&w, "skipped_duplicate"); jw_uint(&w, S.dup);
	jw_key(&w, "bytes_uploaded"); jw_uint(&w, S.bytes);
	jw_key(&w, "seconds"); jw_double(&w, secs);
	jw_obj_end(&w);
	if (jw_text(&w))
		printf("%s\n", jw_text(&w));
	jw_free(&w);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lang", required_argument, NULL, 'l' },
		{ "bucket", required_argument, NULL, O_BUCKET },
		{ "prefix", required_argument, NULL, O_PREFIX },
		{ "jobs", required_argument, NULL, 'j' },
		{ "chunk-size", required_argument, NULL, O_CHUNK },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, O_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long sz;
	long long v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:j:nvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o.name = optarg; break;
		case O_BUCKET: o.bucket = optarg; break;
		case O_PREFIX: o.prefix = optarg; break;
		case 'j':
			if (parse_long(optarg, 1, 64, &v, "--jobs") < 0)
				usage_die("%s", errmsg());
			o.jobs = (int)v;
			break;
		case O_CHUNK:
			if (parse_size(optarg, &sz, "--chunk-size") < 0)
				usage_die("%s", errmsg());
			o.chunk_size = sz;
			if (o.chunk_size < MANIFEST_MIN_CHUNK || o.chunk_size > MANIFEST_MAX_CHUNK)
				usage_die("bad --chunk-size '%s': use 64K..1G", optarg);
			break;
		case 'n': o.dry = 1; break;
		case O_JSON: o.json = 1; break;
		case 'v': o.verbose = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case O_VERSION: printf("%s (fcsnap) %s\n", progname, FCSNAP_VERSION); exit(0);
		case ':': usage_die("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				usage_die("unknown option '-%c'", optopt);
			usage_die("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!o.name && optind < argc)
		o.name = argv[optind++];
	if (!o.url && optind < argc)
		o.url = argv[optind++];
	if (optind < argc)
		usage_die("unexpected argument '%s'", argv[optind]);
	if (!o.name)
		usage_die("which snapshot? give NAME (or --lang NAME)");
	if (name_check(o.name, "snapshot name") < 0)
		usage_die("%s", errmsg());
}

int
main(int argc, char **argv)
{
	struct store st;
	struct meta m;
	char *metatext = NULL, *url = NULL, *mtext;
	size_t metalen = 0;
	unsigned char *buf;
	uint64_t want = 0;
	int64_t t0 = now_ms();
	int k;

	prog_init(argv);
	parse_args(argc, argv);
	meta_init(&m);
	if (remote_resolve(o.url, o.bucket, o.prefix, &url) < 0)
		usage_die("%s", errmsg());
	remote_catch_signals();
	if (store_init(&st) < 0 || open_snapshot(&st, &metatext, &metalen, &m) < 0)
		die("%s", errmsg());
	if (remote_open(&rem, url, NULL) < 0)
		die("%s", errmsg());
	buf = malloc(man.chunk_size);
	if (!buf)
		die("out of memory");
	for (k = 0; k < MANIFEST_NFILES; k++)
		if (scan_file(k, buf) < 0)
			die("%s", errmsg());
	free(buf);
	if (push_chunks(&want) < 0)
		die("%s", errmsg());
	if (!o.dry) {
		mtext = manifest_write(&man);
		if (!mtext)
			die("%s", errmsg());
		if (remote_stop)
			die("interrupted; nothing was published (no manifest was written)");
		if (put_text("meta.json", metatext, metalen) < 0 ||
		    put_text("manifest", mtext, strlen(mtext)) < 0)
			die("%s", errmsg());
		free(mtext);
	}
	if (o.json)
		summary((double)(now_ms() - t0) / 1000.0);
	for (k = 0; k < MANIFEST_NFILES; k++)
		close(fds[k]);
	free(refs);
	free(metatext);
	free(url);
	meta_free(&m);
	manifest_free(&man);
	remote_close(&rem);
	if (fflush(stdout) != 0)
		die("writing to stdout failed");
	return 0;
}
