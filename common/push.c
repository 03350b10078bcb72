/* push: the engine of fc-snap-push (contract: push.h).
 *
 * The snapshot dir is opened once and every file is read through that fd,
 * so a refresh publishing meanwhile cannot mix generations.  The bucket's
 * chunks/ is listed once, first; then each chunk is read (holes found with
 * SEEK_DATA/SEEK_HOLE and never read), named in its stored form (chunk.h:
 * null, raw, or sparse without its zero pages) and, when the bucket lacks
 * it and this push has not sent it yet, its upload starts at once, so
 * hashing overlaps the network.  Bodies are file ranges (plus the sparse
 * header), signed with the object's SHA-256.  Then the working-set hint
 * if the snapshot has one (hint.h), meta.json, and the manifest, last. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk.h"
#include "hint.h"
#include "manifest.h"
#include "meta.h"
#include "push.h"
#include "s3obj.h"
#include "s3pool.h"
#include "util.h"

struct have {                   /* an object the bucket has under chunks/ */
	unsigned char sha[SHA256_LEN];
	int sparse;
	long long size;
};

struct seen {                   /* a chunk this push has sent (hash set) */
	unsigned char sha[SHA256_LEN];
	unsigned char sparse, used;
};

struct slot {                   /* one upload in flight */
	struct s3_req req;
	struct s3_result res;
	char *key;
	char hex[SHA256_HEX_LEN + 1];
	unsigned char *head;            /* the sparse header, sent from here */
	struct s3_seg *segs;
	size_t segcap;
	uint64_t raw, stored;
	int busy;
	int check;                      /* a HEAD or GET of a listed chunk (verify) */
	unsigned char id[SHA256_LEN];   /* its name (verify=full) */
	int k;                          /* its position: file, chunk */
	uint64_t i;
};

struct redo {                   /* a listed chunk the bucket failed to show */
	int k;
	uint64_t i;
};

static struct {
	const char *name;
	int jobs, dry, verbose, verify;
	uint64_t chunk_size;
} o;

static struct manifest man;
static struct remote *rem;
static int fds[MANIFEST_NFILES] = { -1, -1, -1 };
static struct push_stats S;
static struct meta meta;          /* what push_open read */
static char *meta_text;
static size_t meta_len;
static struct hint hint;          /* the snapshot's hint, checked (n 0: none) */

static struct {
	struct have *hv;                /* sorted */
	size_t nh;
	struct seen *seen;
	size_t nseen, capseen;          /* capseen: a power of 2 */
	unsigned char *buf, *head;      /* the chunk being scanned */
	struct s3_pool *pool;
	struct slot *slots;
	int nslots, *freev, nfree;
	struct redo *redo;              /* verify: chunks to send after all */
	int devnull;                    /* verify=full: where GET bodies go */
	size_t nredo, capredo;
	struct progress pr;
} P;

static int
cmp_have(const void *a, const void *b)
{
	const struct have *x = a, *y = b;
	int c = memcmp(x->sha, y->sha, SHA256_LEN);

	return c ? c : x->sparse - y->sparse;
}

/* Does the bucket have c (the key, with the right size)? */
static int
bucket_has(const struct chunk *c)
{
	struct have key, *h;

	memcpy(key.sha, c->id, SHA256_LEN);
	key.sparse = c->form == CHUNK_SPARSE;
	h = bsearch(&key, P.hv, P.nh, sizeof *P.hv, cmp_have);
	return h && (uint64_t)h->size == c->stored;
}

static size_t
seen_slot(const struct seen *v, size_t cap, const unsigned char *sha, int sparse)
{
	size_t i;

	memcpy(&i, sha, sizeof i);
	for (i &= cap - 1;; i = (i + 1) & (cap - 1))
		if (!v[i].used || (v[i].sparse == sparse && !memcmp(v[i].sha, sha, SHA256_LEN)))
			return i;
}

/* Add c to the chunks sent: 1 when it was there already, 0, -1. */
static int
seen_add(const struct chunk *c)
{
	int sparse = c->form == CHUNK_SPARSE;
	size_t i;

	if (2 * (P.nseen + 1) > P.capseen) {
		size_t nc = P.capseen ? 2 * P.capseen : 1024, k;
		struct seen *v = calloc(nc, sizeof *v);

		if (!v)
			return fail("out of memory");
		for (k = 0; k < P.capseen; k++)
			if (P.seen[k].used)
				v[seen_slot(v, nc, P.seen[k].sha, P.seen[k].sparse)] = P.seen[k];
		free(P.seen);
		P.seen = v;
		P.capseen = nc;
	}
	i = seen_slot(P.seen, P.capseen, c->id, sparse);
	if (P.seen[i].used)
		return 1;
	memcpy(P.seen[i].sha, c->id, SHA256_LEN);
	P.seen[i].sparse = (unsigned char)sparse;
	P.seen[i].used = 1;
	P.nseen++;
	return 0;
}

static int
read_range(int fd, unsigned char *buf, off_t a, off_t e)
{
	errno = 0;
	if (pread(fd, buf, (size_t)(e - a), a) != (ssize_t)(e - a)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

/* Read [off, off+len) of fd into buf; holes are not read (zeros are put
 * there).  0, 1 when it is all hole, -1.  Where SEEK_DATA is not
 * supported everything is read. */
static int
read_chunk(int fd, off_t off, size_t len, unsigned char *buf)
{
	off_t end = off + (off_t)len, pos = off, d, h;
	int any = 0;

	while (pos < end) {
		d = lseek(fd, pos, SEEK_DATA);
		if (d < 0 && errno != ENXIO)
			return read_range(fd, buf + (pos - off), pos, end);
		if (d < 0 || d > end)
			d = end;
		if (d >= end && !any)
			return 1;
		memset(buf + (pos - off), 0, (size_t)(d - pos));
		if (d >= end)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0 || h > end)
			h = end;
		if (read_range(fd, buf + (d - off), d, h) < 0)
			return -1;
		any = 1;
		pos = h;
	}
	return 0;
}

/* The snapshot's working-set hint, if it has one of this generation that
 * parses (one line says why one that does not is left out). */
static void
read_hint(int dfd, const char *created_at, uint64_t mem_size)
{
	size_t len;
	char *text;
	int r;

	if (faccessat(dfd, HINT_FILE, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	text = read_file_trusted(dfd, HINT_FILE, HINT_MAX_BYTES, &len);
	if (!text) {
		warnmsg("snapshot %s: its working-set hint is left out: %s %s", o.name,
		    HINT_FILE, errmsg());
		return;
	}
	r = hint_parse(text, len, created_at, (mem_size + 4095) / 4096, &hint);
	free(text);
	if (r < 0)
		warnmsg("snapshot %s: its working-set hint is left out: %s (remove %s; the "
		    "next lazy restore records one)", o.name, errmsg(), HINT_FILE);
	if (r != 0)
		hint_free(&hint);
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
		fds[k] = open_trusted(dfd, manifest_files[k], O_RDONLY, 0);
		if (fds[k] < 0)
			return fail("snapshot %s is damaged: %s %s", o.name,
			    manifest_files[k], errmsg());
		if (fstat(fds[k], &sb) < 0)
			return fail_errno("snapshot %s: %s", o.name, manifest_files[k]);
		sizes[k] = (uint64_t)sb.st_size;
		modes[k] = sb.st_mode & 0777;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", dfd);
	if (meta_read(path, m) < 0)
		return fail("snapshot %s: %s", o.name, meta_reason());
	*metatext = read_file_trusted(dfd, "meta.json", 1 << 20, metalen);
	if (*metatext)
		read_hint(dfd, m->created_at, sizes[1]);
	close(dfd);
	if (!*metatext)
		return fail("snapshot %s: meta.json %s", o.name, errmsg());
	if (manifest_init(&man, o.name, o.chunk_size, sizes, modes) < 0)
		return -1;
	snprintf(man.created_at, sizeof man.created_at, "%s", m->created_at);
	return 0;
}

/* The sorted list of the objects the bucket has under chunks/. */
static int
list_remote(void)
{
	struct s3_list l;
	char *pre;
	size_t i, k = 0;

	memset(&l, 0, sizeof l);
	pre = remote_key(rem, "chunks/", NULL, NULL);
	if (!pre)
		return -1;
	if (s3_list(&rem->c, pre, NULL, 0, &l) < 0) {
		free(pre);
		return -1;
	}
	free(pre);
	P.hv = calloc(l.n ? l.n : 1, sizeof *P.hv);
	if (!P.hv) {
		s3_list_free(&l);
		return fail("out of memory");
	}
	for (i = 0; i < l.n; i++) {
		const char *b = strrchr(l.objs[i].key, '/');

		b = b ? b + 1 : l.objs[i].key;
		if (chunk_name_parse(b, strlen(b), P.hv[k].sha, &P.hv[k].sparse) < 0)
			continue;
		P.hv[k++].size = l.objs[i].size;
	}
	s3_list_free(&l);
	qsort(P.hv, k, sizeof *P.hv, cmp_have);
	P.nh = k;
	return 0;
}

/* ---- uploads ---------------------------------------------------------- */

static void
slot_clear(struct slot *s)
{
	if (s->busy)
		s3_result_free(&s->res);
	free(s->key);
	s->key = NULL;
	s->busy = 0;
}

/* Remember chunk i of file k for sending after the scan. */
static int
redo_add(int k, uint64_t i)
{
	if (P.nredo == P.capredo) {
		size_t nc = P.capredo ? 2 * P.capredo : 64;
		struct redo *v = realloc(P.redo, nc * sizeof *v);

		if (!v)
			return fail("out of memory");
		P.redo = v;
		P.capredo = nc;
	}
	P.redo[P.nredo++] = (struct redo){ k, i };
	return 0;
}

/* Is the listed chunk of s as it should be?  HEAD: its size; full: the
 * size and SHA-256 of the body. */
static int
intact(const struct slot *s)
{
	if (!s->res.ok)
		return 0;
	if (o.verify != PUSH_VERIFY_FULL)
		return s->res.content_length == (long long)s->stored;
	return s->res.out_bytes == (off_t)s->stored &&
	    memcmp(s->res.sha256, s->id, SHA256_LEN) == 0;
}

/* A check of a listed chunk came back: intact, or to send again
 * (missing: a server that quarantined it; another size; full: other
 * bytes, or a body longer than it). */
static int
checked(struct slot *s)
{
	if (intact(s)) {
		S.verified++;
		return 0;
	}
	if (!s->res.ok && !s->res.not_found && !s->res.too_big)
		return fail("%s", s->res.err);
	S.verified++;
	S.repaired++;
	S.present--;
	return redo_add(s->k, s->i);
}

/* Take the uploads that have finished, waiting up to timeout_ms for the
 * first. 0, or -1 when one failed (or the wait did). */
static int
reap(int timeout_ms)
{
	for (;;) {
		struct s3_req *done;
		struct slot *s;

		if (!s3_pool_running(P.pool))
			return 0;
		if (s3_pool_wait_for(P.pool, &done, timeout_ms) < 0)
			return -1;
		progress_draw(&P.pr, 0);
		if (!done)
			return 0;
		s = done->udata;
		P.freev[P.nfree++] = (int)(s - P.slots);
		if (s->check) {
			int r = checked(s);

			slot_clear(s);
			if (r < 0)
				return -1;
			timeout_ms = 0;
			continue;
		}
		if (!s->res.ok) {
			fail("%s", s->res.err);
			slot_clear(s);
			return -1;
		}
		S.uploaded++;
		S.bytes += s->stored;
		S.raw += s->raw;
		progress_add(&P.pr, s->raw);
		slot_clear(s);
		timeout_ms = 0;
	}
}

/* A free slot, once the pool has room: 1, 0 when stopped, -1. */
static int
take_slot(struct slot **out)
{
	while (s3_pool_slots(P.pool) <= 0 || P.nfree == 0) {
		if (remote_stop)
			return 0;
		if (reap(200) < 0)
			return -1;
	}
	*out = &P.slots[P.freev[--P.nfree]];
	return 1;
}

/* Prepare slot s for a request of method on chunk c's key. 0 or -1. */
static int
slot_req(struct slot *s, const char *method, const struct chunk *c)
{
	struct s3_req init = S3_REQ_INIT;
	char nm[CHUNK_NAME_MAX];

	chunk_name(c->id, c->form == CHUNK_SPARSE, nm);
	if (!(s->key = remote_key(rem, "chunks", nm, NULL)))
		return -1;
	s->stored = c->stored;
	s->req = init;
	s->req.method = method;
	s->req.key = s->key;
	s->req.udata = s;
	return 0;
}

/* Start slot s's request. 0 or -1. */
static int
slot_send(struct slot *s)
{
	memset(&s->res, 0, sizeof s->res);
	s->busy = 1;
	if (s3_pool_start(P.pool, &s->req, &s->res) < 0) {
		s->busy = 0;
		return -1;
	}
	return 0;
}

/* Start a check of the listed chunk c (position k, i): a HEAD (is it
 * there with its size?), or with verify=full a GET whose body is hashed
 * and dropped. */
static int
start_check(int k, uint64_t i, const struct chunk *c)
{
	int full = o.verify == PUSH_VERIFY_FULL;
	struct slot *s;
	int r;

	if ((r = take_slot(&s)) <= 0)
		return r;
	if (slot_req(s, full ? "GET" : "HEAD", c) < 0)
		return -1;
	if (full) {
		s->req.out_fd = P.devnull;
		s->req.mem_max = (size_t)c->stored;    /* longer is wrong too */
		s->req.hash_body = 1;
		memcpy(s->id, c->id, SHA256_LEN);
	}
	s->check = 1;
	s->k = k;
	s->i = i;
	return slot_send(s);
}

/* Start the upload of chunk c, the bytes of file k at off (P.head holds
 * its header), as soon as the pool has room. */
static int
start_upload(int k, off_t off, const struct chunk *c)
{
	struct slot *s;
	int r;

	if ((r = take_slot(&s)) <= 0)
		return r;
	s->check = 0;
	if (s->segcap < c->nruns + 1) {
		struct s3_seg *v = realloc(s->segs, (c->nruns + 1) * sizeof *v);

		if (!v)
			return fail("out of memory");
		s->segs = v;
		s->segcap = c->nruns + 1;
	}
	memcpy(s->head, P.head, chunk_head_len(c->len));
	sha256_hex(c->id, s->hex);
	if (slot_req(s, "PUT", c) < 0)
		return -1;
	s->raw = c->len;
	s->req.segs = s->segs;
	s->req.nsegs = chunk_segs(c, s->head, fds[k], off, s->segs);
	s->req.payload_hash = s->hex;   /* the server checks the body */
	return slot_send(s);
}

/* Chunk i of file k: name it, record it, send it if the bucket lacks it. */
static int
one_chunk(int k, uint64_t i)
{
	struct mfile *f = &man.files[k];
	off_t off = (off_t)(i * man.chunk_size);
	uint64_t len = manifest_chunk_len(&man, f, i);
	struct chunk c;
	int r;

	S.total++;
	r = read_chunk(fds[k], off, (size_t)len, P.buf);
	if (r < 0)
		return fail_errno("reading %s of snapshot %s at offset %lld",
		    f->name, o.name, (long long)off);
	if (r == 0)
		chunk_make(P.buf, len, P.head, &c);
	if (r == 1 || c.form == CHUNK_ZERO) {
		S.zero++;
		progress_add(&P.pr, len);
		return 0;
	}
	memcpy(f->chunks[i].sha, c.id, SHA256_LEN);
	f->chunks[i].zero = 0;
	f->chunks[i].sparse = c.form == CHUNK_SPARSE;
	if (bucket_has(&c)) {
		S.present++;
		progress_add(&P.pr, len);
		if (!o.verify || (r = seen_add(&c)) > 0)
			return 0;
		return r < 0 ? -1 : start_check(k, i, &c);
	}
	if ((r = seen_add(&c)) != 0) {
		S.dup += r > 0;
		progress_add(&P.pr, len);
		return r < 0 ? -1 : 0;
	}
	if (!o.dry)
		return start_upload(k, off, &c);
	S.uploaded++;
	S.bytes += c.stored;
	S.raw += len;
	progress_add(&P.pr, len);
	return 0;
}

static int
setup(const char *what)
{
	size_t hl = chunk_head_len(man.chunk_size);
	uint64_t total = 0;
	int k, n;

	P.buf = malloc(man.chunk_size);
	P.head = malloc(hl);
	if (!P.buf || !P.head)
		return fail("out of memory");
	if (o.verify == PUSH_VERIFY_FULL &&
	    (P.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		return fail_errno("opening /dev/null");
	if (!o.dry || o.verify) {
		if (!(P.pool = s3_pool_new(&rem->c, o.jobs)))
			return -1;
		n = s3_pool_capacity(P.pool);
		P.slots = calloc((size_t)n, sizeof *P.slots);
		P.freev = calloc((size_t)n, sizeof *P.freev);
		if (!P.slots || !P.freev)
			return fail("out of memory");
		for (P.nslots = n, k = 0; k < n; k++) {
			if (!(P.slots[k].head = malloc(hl)))
				return fail("out of memory");
			P.freev[P.nfree++] = k;
		}
	}
	for (k = 0; k < MANIFEST_NFILES; k++)
		total += man.files[k].size;
	progress_init(&P.pr, what, total, o.verbose);
	return 0;
}

static void
teardown(void)
{
	int k;

	progress_end(&P.pr);
	s3_pool_free(P.pool);           /* kills what still runs */
	for (k = 0; k < P.nslots; k++) {
		slot_clear(&P.slots[k]);
		free(P.slots[k].head);
		free(P.slots[k].segs);
	}
	free(P.slots);
	free(P.freev);
	free(P.buf);
	free(P.head);
	free(P.hv);
	free(P.seen);
	free(P.redo);
	if (P.devnull >= 0)
		close(P.devnull);
	P.devnull = -1;
}

/* Verify: send the listed chunks the bucket did not have after all. */
static int
send_redo(void)
{
	size_t n;
	int r = 0;

	for (n = 0; n < P.nredo && r == 0 && !remote_stop; n++) {
		struct mfile *f = &man.files[P.redo[n].k];
		off_t off = (off_t)(P.redo[n].i * man.chunk_size);
		uint64_t len = manifest_chunk_len(&man, f, P.redo[n].i);
		struct chunk c;

		if (read_chunk(fds[P.redo[n].k], off, (size_t)len, P.buf) != 0)
			return fail_errno("reading %s of snapshot %s at offset %lld",
			    f->name, o.name, (long long)off);
		chunk_make(P.buf, len, P.head, &c);
		if (o.dry) {
			S.uploaded++;
			S.bytes += c.stored;
			S.raw += len;
			continue;
		}
		r = start_upload(P.redo[n].k, off, &c);
	}
	while (r == 0 && !remote_stop && s3_pool_running(P.pool))
		r = reap(200);
	return r;
}

/* List the bucket, then scan the files chunk by chunk, starting each
 * upload as soon as its name is known, so hashing overlaps the network. */
static int
push_chunks(void)
{
	static char what[96];
	uint64_t i;
	int k, r = 0;

	snprintf(what, sizeof what, "push %s", o.name);
	P.devnull = -1;
	if (list_remote() < 0 || setup(what) < 0)
		return -1;
	for (k = 0; k < MANIFEST_NFILES && r == 0; k++)
		for (i = 0; i < man.files[k].nchunks && r == 0; i++) {
			if (!remote_stop && P.pool)
				r = reap(0);
			if (remote_stop)
				break;
			if (r == 0)
				r = one_chunk(k, i);
		}
	while (r == 0 && !remote_stop && P.pool && s3_pool_running(P.pool))
		r = reap(200);
	if (r == 0 && P.nredo)
		r = send_redo();
	if (r == 0 && remote_stop)
		r = fail("interrupted; nothing was published (no manifest was written)");
	return r;
}

static int
put_text(const char *file, const char *text, size_t n)
{
	char *key = remote_key(rem, "snapshots", o.name, file);
	int r;

	if (!key)
		return -1;
	r = s3_put_mem(&rem->c, key, text, n);
	free(key);
	return r;
}

/* Close the snapshot's files, free what push_open read. */
static void
release(void)
{
	int k;

	for (k = 0; k < MANIFEST_NFILES; k++) {
		if (fds[k] >= 0)
			close(fds[k]);
		fds[k] = -1;
	}
	free(meta_text);
	meta_text = NULL;
	hint_free(&hint);
	meta_free(&meta);
	manifest_free(&man);
}

int
push_open(const struct store *st, const char *name, const struct push_opts *po)
{
	o.name = name;
	o.jobs = po->jobs;
	o.dry = po->dry_run;
	o.verbose = po->verbose;
	o.verify = po->verify;
	o.chunk_size = po->chunk_size;
	meta_init(&meta);
	if (open_snapshot(st, &meta_text, &meta_len, &meta) < 0) {
		release();
		return -1;
	}
	return 0;
}

/* The hint as uploaded: format 2, its pages' blocks found in mem as the
 * manifest stores it (hint.h); NULL (message) when that fails. */
static char *
hint_object(size_t *len)
{
	struct hint_block *blk;
	size_t nblk;
	char *t;

	if (hint_blocks_make(fds[1], man.files[1].size, &man.files[1], man.chunk_size,
	    hint.pages, hint.n, &blk, &nblk) < 0)
		return NULL;
	t = hint_format_blocks(man.created_at, hint.pages, hint.n, man.chunk_size, blk, nblk,
	    len);
	free(blk);
	return t;
}

/* The hint when there is one (a bucket's hint of an older generation is
 * left: its created_at tells a pull it is stale), meta.json, then the
 * manifest, last. */
static int
publish(void)
{
	char *mtext = manifest_write(&man), *htext = NULL;
	size_t hlen = 0;
	int r;

	if (!mtext)
		return -1;
	if (remote_stop) {
		free(mtext);
		return fail("interrupted; nothing was published (no manifest was written)");
	}
	if (hint.n && !(htext = hint_object(&hlen)))
		warnmsg("snapshot %s: its working-set hint is left out: %s", o.name, errmsg());
	r = (htext && put_text(HINT_FILE, htext, hlen) < 0) ||
	    put_text("meta.json", meta_text, meta_len) < 0 ||
	    put_text("manifest", mtext, strlen(mtext)) < 0 ? -1 : 0;
	free(htext);
	free(mtext);
	return r;
}

int
push_snapshot(struct remote *r, struct push_stats *st)
{
	int rc;

	rem = r;
	rc = push_chunks();
	teardown();
	if (rc == 0 && !o.dry)
		rc = publish();
	S.chunk_size = man.chunk_size;
	*st = S;
	release();
	return rc;
}
