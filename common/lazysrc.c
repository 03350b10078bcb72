/* lazysrc: mem's chunks fetched on demand into a pull dir.  See lazysrc.h. */
#include "lazysrc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk.h"
#include "hint.h"
#include "pager.h"
#include "pull.h"
#include "s3pool.h"
#include "store.h"
#include "util.h"

#define JOURNAL_MAX (64u << 20)
#define FILL_JOBS 4            /* chunks the fill fetches at once */
#define PREFETCH_JOBS 8        /* connections for the hint's blocks */

void
lazysrc_free(struct lazysrc *s)
{
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->jfd >= 0)
		close(s->jfd);
	if (s->ropen)
		remote_close(&s->r);
	manifest_free(&s->m);
	free(s->have);
	free(s->seen);
	free(s->url);
	free(s->pre);
	free(s->pre_blk);
	free(s->pre_mask);
	memset(s, 0, sizeof *s);
	s->memfd = s->jfd = -1;
}

/* Mark the mem chunks journaled since the last look. */
static int
catch_up(struct lazysrc *s)
{
	char buf[65536], *line, *nl;
	ssize_t n;

	for (;;) {
		if (s->jpos >= JOURNAL_MAX)
			return fail("%s/journal is larger than %u bytes", s->dir, JOURNAL_MAX);
		n = pread(s->jfd, buf, sizeof buf - 1, (off_t)s->jpos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail_errno("reading %s/journal", s->dir);
		if (n == 0)
			return 0;
		buf[n] = 0;
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			unsigned long long ci;
			int f, used = 0;

			*nl = 0;
			if (sscanf(line, "%d %llu%n", &f, &ci, &used) == 2 && !line[used] &&
			    f == PULL_MEM && ci < s->nchunks && !s->have[ci]) {
				s->have[ci] = 1;
				s->nhave++;
			}
		}
		if (line == buf)
			return 0;       /* a torn last line: its writer is at it */
		s->jpos += (uint64_t)(line - buf);
	}
}

static int
open_files(struct lazysrc *s)
{
	char path[PATH_MAX];
	size_t n;
	char *text;
	int r;

	if (path_join(path, sizeof path, s->dir, "manifest") < 0)
		return -1;
	text = read_file_trusted(AT_FDCWD, path, MANIFEST_MAX_BYTES, &n);
	if (!text)
		return fail("%s: %s", path, errmsg());
	r = manifest_parse(text, n, &s->m);
	free(text);
	if (r < 0)
		return fail("%s: %s", path, errmsg());
	if (path_join(path, sizeof path, s->dir, "mem") < 0)
		return -1;
	s->memfd = open_trusted(AT_FDCWD, path, O_RDWR, 0);
	if (s->memfd < 0)
		return fail("%s %s", path, errmsg());
	if (path_join(path, sizeof path, s->dir, "journal") < 0)
		return -1;
	s->jfd = open_trusted(AT_FDCWD, path, O_RDWR | O_APPEND, 0);
	if (s->jfd < 0)
		return fail("%s %s", path, errmsg());
	return 0;
}

/* The name is what follows ".pull-" in the dir's last component. */
static int
name_of(struct lazysrc *s)
{
	const char *b = strrchr(s->dir, '/');

	b = b ? b + 1 : s->dir;
	if (strncmp(b, ".pull-", 6) || fmt(s->name, sizeof s->name, "%s", b + 6) < 0 ||
	    name_check(s->name, "snapshot name") < 0)
		return fail("%s is not a pull dir (snapshots/.pull-NAME)", s->dir);
	return 0;
}

int
lazysrc_open(struct lazysrc *s, const char *dir, const char *url, long long fetch_ms)
{
	struct s3_opts o = S3_OPTS_INIT;
	const struct mfile *f;
	uint64_t i;

	memset(s, 0, sizeof *s);
	s->memfd = s->jfd = -1;
	s->fetch_ms = fetch_ms;
	if (fmt(s->dir, sizeof s->dir, "%s", dir) < 0 || name_of(s) < 0 || open_files(s) < 0)
		return -1;
	f = &s->m.files[PULL_MEM];
	s->nchunks = f->nchunks;
	s->have = calloc(s->nchunks ? s->nchunks : 1, 1);
	s->seen = calloc(s->nchunks ? s->nchunks : 1, 1);
	if (!s->have || !s->seen || !(s->url = strdup(url)))
		return fail("out of memory");
	for (i = 0; i < s->nchunks; i++)
		if (f->chunks[i].zero) {
			s->have[i] = 1;
			s->nhave++;
		}
	/* each attempt bounded by the fetch timeout; the retries are ours */
	o.retries = 0;
	o.connect_timeout_ms = fetch_ms < o.connect_timeout_ms ? fetch_ms : o.connect_timeout_ms;
	o.stall_ms = fetch_ms < o.stall_ms ? fetch_ms : o.stall_ms;
	o.max_time_ms = fetch_ms;
	if (remote_open(&s->r, url, &o) < 0)
		return -1;
	s->ropen = 1;
	s->owner = getpid();
	if (catch_up(s) < 0)
		return -1;
	/* what is here now is whole in the file the pager then scans */
	memcpy(s->seen, s->have, s->nchunks);
	return 0;
}

/* ---- one chunk ---- */

static int
lock_chunk(struct lazysrc *s, uint64_t i, int type, int wait)
{
	struct flock fl = { .l_type = (short)type, .l_whence = SEEK_SET,
		.l_start = (off_t)i, .l_len = 1 };

	while (fcntl(s->jfd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		if (!wait && (errno == EAGAIN || errno == EACCES))
			return 1;
		return fail_errno("locking chunk %llu of %s/journal", (unsigned long long)i,
		    s->dir);
	}
	return 0;
}

static int
transient(const struct s3_result *rs)
{
	return rs->http_status == 0 || rs->http_status >= 500 || rs->http_status == 429 ||
	    rs->http_status == 408;
}

/* GET the object of chunk i into rs, retried until fetch_ms has passed. */
static int
get_chunk(struct lazysrc *s, uint64_t i, const char *nm, const char *key,
    struct s3_result *rs)
{
	const struct mchunk *mc = &s->m.files[PULL_MEM].chunks[i];
	uint64_t len = manifest_chunk_len(&s->m, &s->m.files[PULL_MEM], i);
	int64_t deadline = now_ms() + s->fetch_ms, wait = 100;
	off_t at = (off_t)(i * s->m.chunk_size);

	for (;;) {
		struct s3_req rq = S3_REQ_INIT;

		memset(rs, 0, sizeof *rs);
		rq.key = key;
		rq.mem_max = (size_t)chunk_max_stored(len, mc->sparse);
		rq.hash_body = 1;
		if (s3_do(&s->r.c, &rq, rs) == 0)
			return 0;
		if (rs->not_found) {
			s3_result_free(rs);
			s->fatal = 1;
			return fail("chunk %s of mem at offset %lld is missing on the server "
			    "(%s); nothing was published (push the snapshot again with "
			    "fc-snap-push --verify)", nm, (long long)at, key);
		}
		if (!transient(rs) || now_ms() + wait > deadline) {
			char why[512];

			s->fatal = !transient(rs);
			snprintf(why, sizeof why, "%s", rs->err);
			s3_result_free(rs);
			return fail("fetching chunk %s of mem at offset %lld failed (tried for "
			    "%.1f s): %s; nothing was published (fc-snap-pull resumes the "
			    "partial pull in %s)", nm, (long long)at,
			    (double)(now_ms() + s->fetch_ms - deadline) / 1000, why, s->dir);
		}
		s3_result_free(rs);
		sleep_ms(wait);
		wait = wait * 2 > 2000 ? 2000 : wait * 2;
	}
}

/* The object of chunk i, fetched into rs (nm its name, key its key):
 * check it, write it into mem and journal it. */
static int
place(struct lazysrc *s, uint64_t i, const struct s3_result *rs, const char *nm,
    const char *key)
{
	const struct mchunk *mc = &s->m.files[PULL_MEM].chunks[i];
	uint64_t len = manifest_chunk_len(&s->m, &s->m.files[PULL_MEM], i);
	off_t at = (off_t)(i * s->m.chunk_size);
	const unsigned char *body = (const unsigned char *)rs->body;
	char why[300], line[64];
	int r, n;

	why[0] = 0;
	if (chunk_check(body, rs->body_len, len, mc->sparse) < 0)
		snprintf(why, sizeof why, "%s", errmsg());
	else if (memcmp(rs->sha256, mc->sha, SHA256_LEN) != 0)
		snprintf(why, sizeof why, "its SHA-256 is not its name");
	if (why[0]) {
		s->fatal = 1;
		return fail("chunk %s of mem at offset %lld is corrupt on the server (%s: %s); "
		    "nothing was published (repair the bucket with fc-snap-push "
		    "--verify=full)", nm, (long long)at, key, why);
	}
	errno = ENOSPC;
	r = mc->sparse ? chunk_put_sparse(s->memfd, at, body, len, 1) :
	    chunk_put_raw(s->memfd, at, body, len, s->m.format < 2, 1);
	if (r < 0) {
		s->fatal = 1;
		return fail_errno("writing mem at offset %lld into %s", (long long)at, s->dir);
	}
	n = snprintf(line, sizeof line, "%d %llu\n", PULL_MEM, (unsigned long long)i);
	if (write_all(s->jfd, line, (size_t)n) < 0) {
		s->fatal = 1;
		return fail_errno("writing the journal in %s", s->dir);
	}
	s->st.fetched++;
	s->st.bytes += rs->body_len;
	return 0;
}

/* Fetch chunk i, check it, write it into mem and journal it. */
static int
fetch_chunk(struct lazysrc *s, uint64_t i)
{
	const struct mchunk *mc = &s->m.files[PULL_MEM].chunks[i];
	struct s3_result rs;
	char nm[CHUNK_NAME_MAX], *key;
	int r;

	chunk_name(mc->sha, mc->sparse, nm);
	key = remote_key(&s->r, "chunks", nm, NULL);
	if (!key)
		return -1;
	r = get_chunk(s, i, nm, key, &rs);
	if (r == 0) {
		r = place(s, i, &rs, nm, key);
		s3_result_free(&rs);
	}
	free(key);
	return r;
}

/* OFD locks belong to an open file description, which a fork shares:
 * each process locks through a journal fd of its own, opened again
 * through /proc (the same inode even when a publish has unlinked it). */
static int
own_journal(struct lazysrc *s)
{
	char path[64];
	int fd;

	if (s->owner == getpid())
		return 0;
	snprintf(path, sizeof path, "/proc/self/fd/%d", s->jfd);
	fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("%s/journal", s->dir);
	close(s->jfd);
	s->jfd = fd;
	s->owner = getpid();
	return 0;
}

/* Chunk i present: 0 it was, 1 it arrived, 2 another process holds it
 * (!wait), -1. */
static int
ensure(struct lazysrc *s, uint64_t i, int wait)
{
	int r;

	if (s->have[i])
		return 0;
	if (own_journal(s) < 0) {
		s->fatal = 1;
		return -1;
	}
	r = lock_chunk(s, i, F_WRLCK, wait);
	if (r != 0)
		return r < 0 ? -1 : 2;
	r = catch_up(s);
	if (r == 0 && !s->have[i]) {
		r = fetch_chunk(s, i);
		if (r == 0) {
			s->have[i] = 1;
			s->nhave++;
		}
	} else if (r == 0) {
		s->st.shared++;
	}
	lock_chunk(s, i, F_UNLCK, 0);
	return r < 0 ? -1 : 1;
}

int
lazysrc_need(struct lazysrc *s, uint64_t off, uint64_t len)
{
	uint64_t cs = s->m.chunk_size, i, last;
	int got = 0;

	if (!len)
		return 0;
	last = (off + len - 1) / cs;
	for (i = off / cs; i <= last && i < s->nchunks; i++) {
		if (s->seen[i])
			continue;
		if (ensure(s, i, 1) < 0)
			return -1;
		s->seen[i] = 1;
		got = 1;
	}
	return got;
}

/* Wait until no fault has come for idle_ms. */
static void
quiet(const struct lazysrc *s)
{
	int64_t left;

	while (s->last_fault) {
		left = __atomic_load_n(s->last_fault, __ATOMIC_RELAXED) + s->idle_ms * 1000000 -
		    now_ns();
		if (left <= 0)
			return;
		sleep_ms(left / 1000000 + 1);
	}
}

/* ---- the fill: FILL_JOBS chunks at a time ---- */

struct fslot {
	struct s3_req rq;
	struct s3_result rs;
	char nm[CHUNK_NAME_MAX];
	char *key;
	uint64_t i;
	int busy;
};

/* Milliseconds until no fault has come for idle_ms (0: quiet now). */
static int
quiet_in(const struct lazysrc *s)
{
	int64_t left;

	if (!s->last_fault)
		return 0;
	left = __atomic_load_n(s->last_fault, __ATOMIC_RELAXED) + s->idle_ms * 1000000 -
	    now_ns();
	return left <= 0 ? 0 : (int)(left / 1000000 + 1);
}

/* Take chunk i for the fill: 1 locked and not present, 0 present or
 * held by another process (pass 2 waits for it), -1. */
static int
claim(struct lazysrc *s, uint64_t i)
{
	int r;

	if (s->have[i])
		return 0;
	r = lock_chunk(s, i, F_WRLCK, 0);
	if (r)
		return r < 0 ? -1 : 0;
	if (catch_up(s) < 0) {
		lock_chunk(s, i, F_UNLCK, 0);
		return -1;
	}
	if (!s->have[i])
		return 1;
	s->st.shared++;
	lock_chunk(s, i, F_UNLCK, 0);
	return 0;
}

static int
fill_start(struct lazysrc *s, struct s3_pool *pool, struct fslot *f, uint64_t i)
{
	const struct mchunk *mc = &s->m.files[PULL_MEM].chunks[i];
	uint64_t len = manifest_chunk_len(&s->m, &s->m.files[PULL_MEM], i);
	struct s3_req init = S3_REQ_INIT;

	chunk_name(mc->sha, mc->sparse, f->nm);
	f->key = remote_key(&s->r, "chunks", f->nm, NULL);
	if (!f->key)
		return -1;
	f->rq = init;
	f->rq.key = f->key;
	f->rq.mem_max = (size_t)chunk_max_stored(len, mc->sparse);
	f->rq.hash_body = 1;
	f->rq.udata = f;
	memset(&f->rs, 0, sizeof f->rs);
	f->i = i;
	f->busy = 1;
	return s3_pool_start(pool, &f->rq, &f->rs);
}

/* f's request is back: place its chunk (a failed request is tried again
 * the patient way, which names what is wrong), then let go of its lock. */
static int
fill_done(struct lazysrc *s, struct fslot *f)
{
	int r;

	if (f->rs.ok)
		r = place(s, f->i, &f->rs, f->nm, f->key);
	else
		r = fetch_chunk(s, f->i);
	if (r == 0) {
		s->have[f->i] = 1;
		s->nhave++;
	}
	lock_chunk(s, f->i, F_UNLCK, 0);
	s3_result_free(&f->rs);
	free(f->key);
	f->key = NULL;
	f->busy = 0;
	return r;
}

static struct fslot *
free_slot(struct fslot *v)
{
	int k;

	for (k = 0; k < FILL_JOBS; k++)
		if (!v[k].busy)
			return &v[k];
	return NULL;
}

/* Every chunk no other process holds, in ascending order, FILL_JOBS at
 * a time, each started only when no fault came for idle_ms. */
static int
fill_parallel(struct lazysrc *s)
{
	struct fslot v[FILL_JOBS];
	struct s3_pool *pool;
	struct s3_req *done;
	struct fslot *f;
	uint64_t i = 0;
	int r = 0, c, wait, k;

	memset(v, 0, sizeof v);
	pool = s3_pool_new(&s->r.c, FILL_JOBS);
	if (!pool)
		return -1;
	while (r == 0 && (i < s->nchunks || s3_pool_running(pool))) {
		wait = -1;
		while (r == 0 && i < s->nchunks && (f = free_slot(v)) &&
		    s3_pool_slots(pool) > 0) {
			if ((wait = quiet_in(s)) > 0)
				break;
			c = claim(s, i);
			if (c > 0 && fill_start(s, pool, f, i) < 0) {
				lock_chunk(s, i, F_UNLCK, 0);
				free(f->key);
				f->key = NULL;
				f->busy = 0;
				r = -1;
			}
			r = c < 0 ? -1 : r;
			i++;
		}
		if (r < 0)
			break;
		if (!s3_pool_running(pool)) {
			if (wait > 0)
				sleep_ms(wait);
			continue;
		}
		if (s3_pool_wait_for(pool, &done, wait > 0 ? wait : -1) < 0) {
			r = -1;
			break;
		}
		if (done)
			r = fill_done(s, done->udata);
	}
	s3_pool_free(pool);
	for (k = 0; k < FILL_JOBS; k++)
		if (v[k].busy) {
			lock_chunk(s, v[k].i, F_UNLCK, 0);
			s3_result_free(&v[k].rs);
			free(v[k].key);
		}
	return r;
}

int
lazysrc_fill(struct lazysrc *s)
{
	uint64_t i;

	if (s->nhave == s->nchunks)
		return 0;
	if (own_journal(s) < 0) {
		s->fatal = 1;
		return -1;
	}
	if (fill_parallel(s) < 0)
		return -1;
	/* the chunks other processes held: wait for each, or fetch it */
	for (i = 0; i < s->nchunks && s->nhave < s->nchunks; i++) {
		if (s->have[i])
			continue;
		quiet(s);
		if (ensure(s, i, 1) < 0)
			return -1;
	}
	return 0;
}

int
lazysrc_publish(struct lazysrc *s)
{
	struct store st;

	if (s->nhave < s->nchunks)
		return fail("snapshot %s: %llu of %llu memory chunks are here, not publishing",
		    s->name, (unsigned long long)s->nhave, (unsigned long long)s->nchunks);
	if (store_init(&st) < 0)
		return -1;
	return pull_lazy_publish(&st, s->name, s->url);
}

/* ---- the hint's blocks, prefetched ---- */

int
lazysrc_hint(struct lazysrc *s)
{
	const struct mfile *f = &s->m.files[PULL_MEM];
	char path[PATH_MAX];
	struct hint h;
	size_t n, k;
	char *text;
	uint64_t off, len;

	if (path_join(path, sizeof path, s->dir, HINT_FILE) < 0)
		return -1;
	if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	/* the pull kept it checked; a bucket's all the same: checked again */
	text = read_file_trusted(AT_FDCWD, path, HINT_MAX_BYTES, &n);
	if (!text || hint_parse(text, n, s->m.created_at, (f->size + 4095) / 4096, &h) != 0) {
		free(text);
		return 0;
	}
	free(text);
	if (!h.nblk || h.chunk_size != s->m.chunk_size) {
		hint_free(&h);
		return 0;
	}
	s->pre = calloc(h.nblk, sizeof *s->pre);
	s->pre_blk = calloc(h.nblk, sizeof *s->pre_blk);
	s->pre_mask = calloc(h.nblk, sizeof *s->pre_mask);
	if (!s->pre || !s->pre_blk || !s->pre_mask) {
		hint_free(&h);
		return fail("out of memory");
	}
	for (k = 0; k < h.nblk; k++) {
		const struct hint_block *b = &h.blk[k];
		uint64_t ci = b->block * HINT_BLOCK / s->m.chunk_size;

		if (hint_block_range(b, s->m.chunk_size, f, &off, &len) < 0) {
			warnmsg("snapshot %s: its working-set hint's block %llu does not fit its "
			    "chunks: the hint's blocks are not prefetched", s->name,
			    (unsigned long long)b->block);
			s->npre = 0;
			break;
		}
		if (s->have[ci])
			continue;
		s->pre[s->npre].off = off;
		s->pre[s->npre].len = len;
		memcpy(s->pre[s->npre].sha, b->sha, SHA256_LEN);
		s->pre_blk[s->npre] = b->block;
		s->pre_mask[s->npre] = b->mask;
		s->npre++;
	}
	hint_free(&h);
	return 0;
}

struct pslot {
	struct s3_req rq;
	struct s3_result rs;
	struct sigv4_header hd;
	char range[64];
	char *key;
	size_t k;
};

/* Request block k (the object of its chunk, its range only). */
static int
pre_start(struct lazysrc *s, struct s3_pool *pool, struct pslot *v, size_t k)
{
	const struct lazysrc_pre *b = &s->pre[k];
	const struct mchunk *mc =
	    &s->m.files[PULL_MEM].chunks[s->pre_blk[k] * HINT_BLOCK / s->m.chunk_size];
	struct s3_req init = S3_REQ_INIT;
	char nm[CHUNK_NAME_MAX];

	chunk_name(mc->sha, mc->sparse, nm);
	if (!(v->key = remote_key(&s->r, "chunks", nm, NULL)))
		return -1;
	snprintf(v->range, sizeof v->range, "bytes=%llu-%llu", (unsigned long long)b->off,
	    (unsigned long long)(b->off + b->len - 1));
	v->hd = (struct sigv4_header){ "range", v->range };
	v->rq = init;
	v->rq.key = v->key;
	v->rq.headers = &v->hd;
	v->rq.nheaders = 1;
	v->rq.mem_max = (size_t)b->len;
	v->rq.hash_body = 1;
	v->rq.udata = v;
	v->k = k;
	memset(&v->rs, 0, sizeof v->rs);
	return s3_pool_start(pool, &v->rq, &v->rs);
}

/* Its answer: checked (length, SHA-256), its pages put in place in pre,
 * then its word on fd.  -1 when fd is gone (the server is). */
static int
pre_done(struct lazysrc *s, struct pslot *v, unsigned char *pre, int fd, int *warned)
{
	const struct lazysrc_pre *b = &s->pre[v->k];
	uint64_t blk = s->pre_blk[v->k];
	uint32_t w = (uint32_t)v->k;
	const char *why = NULL;
	size_t at = 0;
	unsigned i;

	if (!v->rs.ok)
		why = v->rs.err[0] ? v->rs.err : "no answer";
	else if (v->rs.body_len != b->len)
		why = "it is not as long as the hint says";
	else if (memcmp(v->rs.sha256, b->sha, SHA256_LEN) != 0)
		why = "its SHA-256 is not the hint's";
	if (why) {
		if (!(*warned)++)
			warnmsg("snapshot %s: block %llu of its working-set hint is served from its "
			    "chunk instead (%s)", s->name, (unsigned long long)blk, why);
		w |= PAGER_PRE_FAILED;
	} else {
		for (i = 0; i < HINT_BLOCK / 4096; i++)
			if (s->pre_mask[v->k] >> i & 1) {
				memcpy(pre + blk * HINT_BLOCK + i * 4096,
				    (const unsigned char *)v->rs.body + at, 4096);
				at += 4096;
			}
		s->st.pre++;
		s->st.pre_bytes += b->len;
	}
	s3_result_free(&v->rs);
	free(v->key);
	v->key = NULL;
	/* the prefetch is demand ahead of time: the fill waits for it as
	 * for faults (quiet_in) */
	if (s->last_fault)
		__atomic_store_n(s->last_fault, now_ns(), __ATOMIC_RELAXED);
	return write_all(fd, &w, sizeof w);
}

int
lazysrc_prefetch(void *arg, unsigned char *pre, int fd)
{
	struct lazysrc *s = arg;
	struct s3_pool *pool = s3_pool_new(&s->r.c, PREFETCH_JOBS);
	struct pslot *v;
	struct s3_req *done;
	size_t next = 0, k;
	int r = 0, warned = 0, nv;

	if (!pool)
		return -1;
	nv = s3_pool_capacity(pool);
	if (!(v = calloc((size_t)nv, sizeof *v))) {
		s3_pool_free(pool);
		return fail("out of memory");
	}
	for (k = 0; k < (size_t)nv; k++)
		v[k].k = SIZE_MAX;
	while (r == 0 && (next < s->npre || s3_pool_running(pool))) {
		for (k = 0; k < (size_t)nv && next < s->npre && s3_pool_slots(pool) > 0; k++) {
			uint32_t w = (uint32_t)next;

			if (!s->pre[next].len) {        /* all zero: nothing to fetch */
				if (write_all(fd, &w, sizeof w) < 0)
					r = -1;
				next++;
			} else if (v[k].k == SIZE_MAX && pre_start(s, pool, &v[k], next++) < 0) {
				r = -1;
			}
		}
		if (r == 0 && !s3_pool_running(pool))
			continue;
		if (r < 0 || s3_pool_wait(pool, &done) < 0)
			break;
		if (done) {
			struct pslot *d = done->udata;

			r = pre_done(s, d, pre, fd, &warned);
			d->k = SIZE_MAX;
		}
	}
	s3_pool_free(pool);
	for (k = 0; k < (size_t)nv; k++)
		if (v[k].k != SIZE_MAX) {
			s3_result_free(&v[k].rs);
			free(v[k].key);
		}
	free(v);
	close(fd);
	return r;
}
