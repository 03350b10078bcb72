/* runreg: see runreg.h. */
#include "runreg.h"
#include "json.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define SUN_PATH_MAX 107        /* sizeof sun_path - 1 */
#define KILL_WAIT_MS 30000      /* after SIGKILL */
#define LOCK_WAIT_MS 5000       /* for the run-dir lock, after the kill */

int
vm_id_check(const char *id)
{
	return name_check(id, "VM id");
}

int
vm_id_new(char *out, size_t n)
{
	unsigned char r[4];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return fail_errno("getrandom");
	return fmt(out, n, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
}

int
proc_start_time(pid_t pid, uint64_t *start, char *state)
{
	char p[64], buf[1024], *s, *end;
	unsigned long long v;
	ssize_t r;
	int fd, i;

	if (pid <= 0)
		return -1;
	snprintf(p, sizeof p, "/proc/%ld/stat", (long)pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = read_full(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = 0;
	s = strrchr(buf, ')');
	if (!s || s[1] != ' ')
		return -1;
	s += 2;                 /* field 3: state */
	if (state)
		*state = *s;
	for (i = 3; i < 22; i++) {
		s = strchr(s, ' ');
		if (!s)
			return -1;
		s++;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	*start = v;
	return 0;
}

/* Paths. */

static int
set_paths(const struct store *s, struct vm *v)
{
	char run[PATH_MAX];

	if (store_sub(s, "run", run, sizeof run) < 0 ||
	    path_join(v->dir, sizeof v->dir, run, v->id) < 0 ||
	    path_join(v->api_sock, sizeof v->api_sock, v->dir, "api.sock") < 0 ||
	    path_join(v->vsock, sizeof v->vsock, v->dir, "v.sock") < 0)
		return -1;
	if (strlen(v->api_sock) > SUN_PATH_MAX)
		return fail("run dir %s is too long for a Unix socket path (%d bytes "
		    "at most): set FCSNAP_DIR to a shorter path", v->dir, SUN_PATH_MAX);
	return 0;
}

/* vm.json */

static char *
vm_to_json(const struct vm *v)
{
	struct jw w;
	char *s;

	jw_init(&w);
	jw_obj(&w);
	jw_kint(&w, "format", 1);
	jw_kstr(&w, "id", v->id);
	jw_kstr(&w, "snapshot", v->snapshot);
	jw_kint(&w, "pid", v->pid);
	jw_key(&w, "pid_start");
	jw_uint(&w, v->pid_start);
	jw_kint(&w, "owner_pid", v->owner_pid);
	jw_key(&w, "owner_start");
	jw_uint(&w, v->owner_start);
	jw_kstr(&w, "created_at", v->created_at);
	jw_kint(&w, "created_ms", v->created_ms);
	jw_kstr(&w, "api_sock", v->api_sock);
	jw_kstr(&w, "vsock", v->vsock);
	jw_kint(&w, "agent_port", v->agent_port);
	jw_obj_end(&w);
	if (!jw_text(&w)) {
		jw_free(&w);
		fail("out of memory");
		return NULL;
	}
	s = w.buf;
	w.buf = NULL;
	jw_free(&w);
	return s;
}

/* vm.json of v as text with its newline (malloc'd), length in *n. */
static char *
vm_text(const struct vm *v, size_t *n)
{
	char *s = vm_to_json(v);

	if (!s)
		return NULL;
	*n = strlen(s);
	s[(*n)++] = '\n';
	return s;
}

static int
save_in(const char *dir, const struct vm *v)
{
	char p[PATH_MAX], *s;
	size_t n;
	int rc;

	if (path_join(p, sizeof p, dir, "vm.json") < 0)
		return -1;
	s = vm_text(v, &n);
	if (!s)
		return -1;
	rc = write_file_replace(p, s, n, 0644);         /* dies with the VM */
	free(s);
	return rc;
}

/* The first vm.json, in the run dir no one else reads before its rename:
 * written in place, no temp file to rename. */
static int
save_first(int dirfd, const char *dir, const struct vm *v)
{
	char *s;
	size_t n;
	int fd, rc;

	s = vm_text(v, &n);
	if (!s)
		return -1;
	fd = openat(dirfd, "vm.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	rc = fd < 0 ? -1 : write_all(fd, s, n);
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	free(s);
	return rc < 0 ? fail_errno("writing %s/vm.json", dir) : 0;
}

int
vm_save(const struct vm *v)
{
	return save_in(v->dir, v);
}

static int
jint(const char *js, const struct json_tok *t, int obj, const char *k, int64_t min,
    int64_t max, int64_t *out)
{
	int i = json_get(js, t, obj, k);

	if (i < 0 || json_int(js, t, i, out) < 0 || *out < min || *out > max)
		return fail("\"%s\" is missing or not a number in range", k);
	return 0;
}

static int
jstr(const char *js, const struct json_tok *t, int obj, const char *k, char *out, size_t n)
{
	int i = json_get(js, t, obj, k);

	if (i < 0 || json_str(js, t, i, out, n) < 0 || !json_utf8(out, strlen(out)))
		return fail("\"%s\" is missing, not a UTF-8 string, or too long", k);
	return 0;
}

static int
parse_vm(const char *js, size_t len, struct vm *v)
{
	struct json_tok t[64];
	int64_t x;
	int n;

	n = json_parse(js, len, t, (int)ARRAY_LEN(t), NULL);
	if (n < 0)
		return fail("%s", json_strerror(n));
	if (t[0].type != JSON_OBJECT)
		return fail("not a JSON object");
	if (jint(js, t, 0, "format", 1, 1, &x) < 0 ||
	    jstr(js, t, 0, "snapshot", v->snapshot, sizeof v->snapshot) < 0 ||
	    jstr(js, t, 0, "created_at", v->created_at, sizeof v->created_at) < 0 ||
	    jstr(js, t, 0, "api_sock", v->api_sock, sizeof v->api_sock) < 0 ||
	    jstr(js, t, 0, "vsock", v->vsock, sizeof v->vsock) < 0)
		return -1;
	if (jint(js, t, 0, "pid", 0, INT32_MAX, &x) < 0)
		return -1;
	v->pid = (pid_t)x;
	if (jint(js, t, 0, "pid_start", 0, INT64_MAX, &x) < 0)
		return -1;
	v->pid_start = (uint64_t)x;
	if (jint(js, t, 0, "owner_pid", 0, INT32_MAX, &x) < 0)
		return -1;
	v->owner_pid = (pid_t)x;
	if (jint(js, t, 0, "owner_start", 0, INT64_MAX, &x) < 0)
		return -1;
	v->owner_start = (uint64_t)x;
	if (jint(js, t, 0, "created_ms", 0, INT64_MAX, &v->created_ms) < 0)
		return -1;
	if (jint(js, t, 0, "agent_port", 0, UINT32_MAX, &x) < 0)
		return -1;
	v->agent_port = (uint32_t)x;
	return 0;
}

int
vm_load(const struct store *s, const char *id, struct vm *v)
{
	char p[PATH_MAX], *js;
	struct stat st;
	size_t len;
	int rc;

	memset(v, 0, sizeof *v);
	v->dirfd = v->ownfd = -1;
	if (vm_id_check(id) < 0)
		return -1;
	if (fmt(v->id, sizeof v->id, "%s", id) < 0 || set_paths(s, v) < 0)
		return -1;
	if (stat(v->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail("no VM with id %s (see fc-ps)", id);
	if (path_join(p, sizeof p, v->dir, "vm.json") < 0)
		return -1;
	js = read_file_trusted(AT_FDCWD, p, 64 * 1024, &len);
	if (!js && stat(v->dir, &st) < 0)       /* removed meanwhile (fc-kill) */
		return fail("no VM with id %s (see fc-ps)", id);
	if (!js)
		return fail("VM %s: vm.json is damaged: it %s", id, errmsg());
	rc = parse_vm(js, len, v);
	free(js);
	if (rc < 0)
		return fail("VM %s: vm.json is damaged: %s", id, errmsg());
	return 0;
}

/* Locks. */

#define RESTORING "restoring"

/* An O_DIRECTORY fd on dir, at 3 or above (it may be inherited). */
static int
open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), hi;

	if (fd < 0 || fd > 2)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return hi;
}

/* The state of the run dir open as dfd.  VM_DEAD leaves a shared lock
 * on dfd; VM_ORPHAN leaves "restoring" locked in *own when own is not NULL. */
static enum vm_state
probe_fd(int dfd, int *own)
{
	struct stat sb;
	int fd;

	if (flock(dfd, LOCK_SH | LOCK_NB) == 0)
		return VM_DEAD;
	fd = openat(dfd, RESTORING, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return VM_RUNNING;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return VM_STARTING;
	}
	/* its restorer unlinks it before letting go: unlinked is handed over */
	if (fstat(fd, &sb) < 0 || sb.st_nlink == 0) {
		close(fd);
		return VM_RUNNING;
	}
	if (own)
		*own = fd;
	else
		close(fd);
	return VM_ORPHAN;
}

enum vm_state
vm_probe(const struct vm *v)
{
	enum vm_state st;
	int fd;

	if (v->dirfd >= 0)
		return v->ownfd >= 0 ? VM_STARTING : VM_RUNNING;       /* ours */
	fd = open_dir(v->dir);
	if (fd < 0)
		return VM_DEAD;
	st = probe_fd(fd, NULL);
	close(fd);
	return st;
}

int
vm_alive(const struct vm *v)
{
	enum vm_state st = vm_probe(v);

	return st == VM_STARTING || st == VM_RUNNING;
}

int
vm_gone(void *arg)
{
	const struct vm *v = arg;

	if (vm_alive(v))
		return 0;
	fail("VM %s stopped (its firecracker exited or was killed; see fc-ps)", v->id);
	return 1;
}

/* Remove dir, open as dfd and locked by us, if it still names that dir. */
static int
remove_locked(int dfd, const char *dir)
{
	struct stat a, b;

	if (fstat(dfd, &a) < 0)
		return fail_errno("%s", dir);
	if (lstat(dir, &b) < 0)
		return errno == ENOENT ? 0 : fail_errno("%s", dir);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;       /* removed and made again meanwhile: not ours */
	return rm_rf(dir);
}

/* Creation. */

/* RFC 3339 UTC of unix seconds t >= 0, by the civil-from-days rule:
 * glibc's gmtime_r reads /etc/localtime first (its tz setup). */
static void
set_created_at(struct vm *v)
{
	long long t = v->created_ms / 1000, days = t / 86400, sec = t % 86400;
	long long z = days + 719468, era = z / 146097, doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	long long m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);

	snprintf(v->created_at, sizeof v->created_at, "%04u-%02u-%02uT%02u:%02u:%02uZ",
	    (unsigned)(y % 10000), (unsigned)m % 100u, (unsigned)d % 100u,
	    (unsigned)(sec / 3600), (unsigned)(sec / 60 % 60), (unsigned)(sec % 60));
}

/* Lock the fresh dir tmp and fill it: v->dirfd, vm.json, v->ownfd. */
static int
fill_tmp(const char *tmp, struct vm *v)
{
	v->dirfd = open_dir(tmp);
	if (v->dirfd < 0 || flock(v->dirfd, LOCK_EX | LOCK_NB) < 0)
		return fail_errno("locking %s", tmp);
	v->ownfd = openat(v->dirfd, RESTORING, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (v->ownfd < 0 || flock(v->ownfd, LOCK_EX | LOCK_NB) < 0)
		return fail_errno("creating %s/%s", tmp, RESTORING);
	return save_first(v->dirfd, tmp, v);
}

/* mkdir tmp in run/, which is there in a store that has been used: the
 * store's dirs are made only when it is not (store_init checked it). */
static int
make_tmp(const struct store *s, const char *tmp)
{
	if (mkdir(tmp, 0700) == 0)
		return 0;
	if (errno == ENOENT) {
		if (store_prepare(s) < 0)
			return -1;
		if (mkdir(tmp, 0700) == 0)
			return 0;
	}
	return fail_errno("store %s is not writable: cannot create %s "
	    "(set FCSNAP_DIR to a writable directory)", s->root, tmp);
}

static int
create_once(const struct store *s, const char *id, const char *snapshot, pid_t pid,
    struct vm *v)
{
	char run[PATH_MAX], tmp[PATH_MAX], nm[128];
	int e;

	memset(v, 0, sizeof *v);
	v->dirfd = v->ownfd = -1;
	if (fmt(v->id, sizeof v->id, "%s", id) < 0 ||
	    fmt(v->snapshot, sizeof v->snapshot, "%s", snapshot) < 0 ||
	    set_paths(s, v) < 0)
		return -1;
	v->owner_pid = getpid();
	if (proc_start_time(v->owner_pid, &v->owner_start, NULL) < 0)
		return fail("cannot read /proc/%ld/stat: is /proc mounted?", (long)v->owner_pid);
	if (pid > 0 && proc_start_time(pid, &v->pid_start, NULL) < 0)
		return fail("VM %s: process %ld is gone", id, (long)pid);
	v->pid = pid;
	v->created_ms = wall_ms();
	set_created_at(v);
	if (store_sub(s, "run", run, sizeof run) < 0 ||
	    fmt(nm, sizeof nm, ".tmp-%ld-%s", (long)v->owner_pid, id) < 0 ||
	    path_join(tmp, sizeof tmp, run, nm) < 0)
		return -1;
	rm_rf(tmp);     /* ours by pid: a leftover of an earlier process */
	if (make_tmp(s, tmp) < 0)
		return -1;
	if (fill_tmp(tmp, v) < 0)
		goto fail;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, v->dir, RENAME_NOREPLACE) == 0)
		return 0;
	e = errno;
	if ((e == EINVAL || e == ENOSYS) && rename(tmp, v->dir) == 0)
		return 0;
	if (e == EINVAL || e == ENOSYS)
		e = errno;
	if (e == EEXIST || e == ENOTEMPTY) {
		fail("VM id %s is in use: choose another id, or end that VM "
		    "with fc-kill %s", id, id);
		e = EEXIST;
	} else {
		errno = e;
		fail_errno("creating %s", v->dir);
	}
fail:
	e = errno;
	rm_rf(tmp);
	vm_close(v);
	errno = e;
	return -1;
}

/* run/<id> exists: if it is dead, remove it (1), else 0. */
static int
drop_if_dead(const struct store *s, const char *id)
{
	struct vm old;
	int fd, rc = 0;

	vm_load(s, id, &old);
	if (!old.dir[0] || (fd = open_dir(old.dir)) < 0)
		return 0;
	if (probe_fd(fd, NULL) == VM_DEAD && flock(fd, LOCK_EX | LOCK_NB) == 0)
		rc = remove_locked(fd, old.dir) == 0;
	close(fd);
	return rc;
}

int
vm_create_for(const struct store *s, const char *id, const char *snapshot, pid_t pid,
    struct vm *v)
{
	char gen[16];
	int tries;

	v->dirfd = v->ownfd = -1;
	if (id) {
		if (vm_id_check(id) < 0)
			return -1;
		if (create_once(s, id, snapshot, pid, v) == 0)
			return 0;
		if (errno != EEXIST || !drop_if_dead(s, id)) {
			fail("VM id %s is in use: choose another id, or end that VM "
			    "with fc-kill %s", id, id);
			return -1;
		}
		return create_once(s, id, snapshot, pid, v);
	}
	for (tries = 0; tries < 16; tries++) {
		if (vm_id_new(gen, sizeof gen) < 0)
			return -1;
		if (create_once(s, gen, snapshot, pid, v) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

int
vm_create(const struct store *s, const char *id, const char *snapshot, struct vm *v)
{
	return vm_create_for(s, id, snapshot, 0, v);
}

int
vm_set_pid(struct vm *v, pid_t pid)
{
	uint64_t st;

	if (proc_start_time(pid, &st, NULL) < 0)
		return fail("VM %s: process %ld is gone", v->id, (long)pid);
	v->pid = pid;
	v->pid_start = st;
	return vm_save(v);
}

void
vm_handover(struct vm *v)
{
	if (v->ownfd < 0)
		return;
	unlinkat(v->dirfd, RESTORING, 0);       /* before its lock goes */
	close(v->ownfd);
	v->ownfd = -1;
}

void
vm_close(struct vm *v)
{
	if (v->ownfd >= 0)
		close(v->ownfd);
	if (v->dirfd >= 0)
		close(v->dirfd);
	v->ownfd = v->dirfd = -1;
}

/* Listing. */

static int
cmp_vm(const void *a, const void *b)
{
	return strcmp(((const struct vm *)a)->id, ((const struct vm *)b)->id);
}

int
vm_list(const struct store *s, struct vm **out)
{
	char run[PATH_MAX];
	DIR *d;
	struct dirent *e;
	struct vm *v = NULL, *nv;
	int n = 0, cap = 0;

	*out = NULL;
	if (store_sub(s, "run", run, sizeof run) < 0)
		return -1;
	d = opendir(run);
	if (!d)
		return errno == ENOENT ? 0 : fail_errno("reading %s", run);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || vm_id_check(e->d_name) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, (size_t)cap * sizeof *v);
			if (!nv) {
				closedir(d);
				free(v);
				return fail("out of memory");
			}
			v = nv;
		}
		if (vm_load(s, e->d_name, &v[n]) < 0) {
			struct stat st;
			if (stat(v[n].dir, &st) < 0)
				continue;       /* removed meanwhile */
			v[n].damaged = 1;
			snprintf(v[n].damage, sizeof v[n].damage, "%s", errmsg());
		}
		v[n].state = vm_probe(&v[n]);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, (size_t)n, sizeof *v, cmp_vm);
	*out = v;
	return n;
}

/* Proving a process. */

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Does process pid hold an fd on the file of *want? */
static int
holds_fd(pid_t pid, const struct stat *want)
{
	char p[64], f[340];
	struct dirent *e;
	struct stat sb;
	DIR *d;
	int found = 0;

	snprintf(p, sizeof p, "/proc/%ld/fd", (long)pid);
	d = opendir(p);
	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		found = stat(f, &sb) == 0 && same_file(&sb, want);
	}
	closedir(d);
	return found;
}

static int
cwd_is(pid_t pid, const struct stat *dir)
{
	char p[64];
	struct stat sb;

	snprintf(p, sizeof p, "/proc/%ld/cwd", (long)pid);
	return stat(p, &sb) == 0 && same_file(&sb, dir);
}

/* A pidfd on pid when it is the process we look for: cwd in *cwd (NULL:
 * any) and an fd on *held, checked after the pidfd was taken and with the
 * process still alive after the check (so the checks were about it).
 * -1 when it is not (or is gone). */
static int
prove(pid_t pid, const struct stat *cwd, const struct stat *held)
{
	int pfd;

	if (pid <= 0 || pid == getpid())
		return -1;
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return -1;
	if ((cwd && !cwd_is(pid, cwd)) || !holds_fd(pid, held) ||
	    syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0) < 0) {
		close(pfd);
		return -1;
	}
	return pfd;
}

/* The first process in /proc that passes the proof: a pidfd and *pid,
 * or -1. */
static int
scan_proc(const struct stat *cwd, const struct stat *held, pid_t *pid)
{
	struct dirent *e;
	DIR *d;
	pid_t p;
	int pfd = -1;

	d = opendir("/proc");
	if (!d)
		return -1;
	while (pfd < 0 && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		p = (pid_t)atol(e->d_name);
		if (cwd && !cwd_is(p, cwd))
			continue;       /* the cheap test first */
		pfd = prove(p, cwd, held);
		*pid = p;
	}
	closedir(d);
	return pfd;
}

/* Stopping. */

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait up to ms for the process of pidfd pfd to exit (reaped if ours). */
static int
wait_exit(int pfd, pid_t pid, long long ms)
{
	struct pollfd p = { pfd, POLLIN, 0 };
	int64_t deadline = now_ms() + ms;
	long long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		r = poll(&p, 1, left > 0 ? (int)(left > 1000 ? 1000 : left) : 0);
		if (r > 0) {
			while (waitpid(pid, NULL, WNOHANG) < 0 && errno == EINTR)
				;
			return 1;
		}
		if (left <= 0)
			return 0;
	}
}

/* SIGTERM, up to grace_ms, SIGKILL (grace_ms 0: SIGKILL at once). */
static int
stop_pidfd(int pfd, pid_t pid, long long grace_ms)
{
	if (grace_ms > 0) {
		if (syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH)
			return fail_errno("signalling process %ld", (long)pid);
		if (wait_exit(pfd, pid, grace_ms))
			return 0;
	}
	if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return fail_errno("killing process %ld", (long)pid);
	if (!wait_exit(pfd, pid, KILL_WAIT_MS))
		return fail("process %ld did not exit %d s after SIGKILL", (long)pid,
		    KILL_WAIT_MS / 1000);
	return 0;
}

/* Take the run-dir lock of dfd within ms: 1, or 0 (still held).  A dir
 * removed meanwhile (by its restorer) counts as taken: nothing to do. */
static int
wait_lock(int dfd, long long ms, int *gone)
{
	int64_t deadline = now_ms() + ms;
	struct stat sb;
	long nap = 1;

	*gone = 0;
	for (;;) {
		if (flock(dfd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		if (fstat(dfd, &sb) == 0 && sb.st_nlink == 0) {
			*gone = 1;
			return 1;
		}
		if (now_ms() >= deadline)
			return 0;
		nap_ms(nap);
		if (nap < 20)
			nap *= 2;
	}
}

/* A restore still at work: SIGTERM to the proven restorer (its guard
 * kills firecracker and removes the dir), SIGKILL after grace_ms. */
static int
stop_restorer(struct vm *v, int dfd, long long grace_ms)
{
	struct stat own;
	pid_t pid = v->owner_pid;
	int fd, pfd, rc;

	fd = openat(dfd, RESTORING, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;               /* handed over meanwhile */
	rc = fstat(fd, &own);
	close(fd);
	if (rc < 0)
		return 0;
	pfd = prove(pid, NULL, &own);
	if (pfd < 0)
		pfd = scan_proc(NULL, &own, &pid);
	if (pfd < 0)
		return 0;               /* gone meanwhile: firecracker may be left */
	rc = stop_pidfd(pfd, pid, grace_ms > 0 ? grace_ms : 1);
	close(pfd);
	return rc;
}

/* Stop every proven firecracker of the run dir dfd until its lock is
 * free (then held by us). */
static int
stop_firecracker(struct vm *v, int dfd, long long grace_ms)
{
	struct stat dir;
	pid_t pid = v->pid;
	int pfd, rc, i;

	if (fstat(dfd, &dir) < 0)
		return fail_errno("%s", v->dir);
	pfd = prove(pid, &dir, &dir);
	for (i = 0; i < 8; i++) {
		if (pfd < 0) {
			if (flock(dfd, LOCK_EX | LOCK_NB) == 0)
				return 0;
			pfd = scan_proc(&dir, &dir, &pid);
			if (pfd < 0)
				return 0;
		}
		rc = stop_pidfd(pfd, pid, grace_ms);
		close(pfd);
		if (rc < 0)
			return -1;
		pfd = -1;
	}
	return 0;
}

/* Stop and remove the VM of dfd (own: "restoring" locked by us, an
 * orphan's; state as probed). */
static int
destroy_fd(struct vm *v, int dfd, enum vm_state st, long long grace_ms)
{
	int gone;

	if (st == VM_STARTING && stop_restorer(v, dfd, grace_ms) < 0)
		return -1;
	if (st != VM_DEAD && stop_firecracker(v, dfd, grace_ms) < 0)
		return -1;
	/* what still holds it once firecracker is gone lets go at once (a
	   restorer or fc-exec cleaning up) or is not the VM's */
	if (!wait_lock(dfd, st == VM_DEAD ? 1000 : LOCK_WAIT_MS + grace_ms, &gone))
		return fail("its run dir %s is still in use by a process that is not "
		    "its firecracker (see fuser -v %s); nothing was signalled", v->dir,
		    v->dir);
	return gone ? 0 : remove_locked(dfd, v->dir);
}

int
vm_destroy(struct vm *v, long long grace_ms)
{
	enum vm_state st;
	int dfd, own = -1, rc;

	vm_close(v);    /* a VM of ours is stopped like any other */
	dfd = open_dir(v->dir);
	if (dfd < 0)
		return errno == ENOENT ? 0 : fail_errno("VM %s: %s", v->id, v->dir);
	st = probe_fd(dfd, &own);
	rc = destroy_fd(v, dfd, st, grace_ms);
	if (own >= 0)
		close(own);
	close(dfd);
	if (rc < 0)
		return fail("stopping VM %s: %s", v->id, errmsg());
	return 0;
}

/* One entry of run/: remove it when dead, reap it when an orphan (1), else 0.
 * vm.json is read only for an orphan (its hints). */
static int
drop_one(const struct store *s, const char *id)
{
	enum vm_state st;
	struct vm v;
	int dfd, own = -1, rc = 0;

	memset(&v, 0, sizeof v);
	if (fmt(v.id, sizeof v.id, "%s", id) < 0 || set_paths(s, &v) < 0 ||
	    (dfd = open_dir(v.dir)) < 0)
		return 0;
	st = probe_fd(dfd, &own);
	if (st == VM_DEAD && flock(dfd, LOCK_EX | LOCK_NB) == 0) {
		rc = remove_locked(dfd, v.dir) == 0;
	} else if (st == VM_ORPHAN) {
		vm_load(s, id, &v);
		rc = destroy_fd(&v, dfd, st, 0) == 0;
	}
	if (own >= 0)
		close(own);
	close(dfd);
	return rc;
}

int
vm_drop_dead(const struct store *s)
{
	char run[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int dropped = 0;

	if (store_sub(s, "run", run, sizeof run) < 0)
		return -1;
	d = opendir(run);
	if (!d)
		return errno == ENOENT ? 0 : fail_errno("reading %s", run);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && vm_id_check(e->d_name) == 0)
			dropped += drop_one(s, e->d_name);
	closedir(d);
	return dropped + rm_dead_owner(run, ".tmp-");
}

int
vm_drop_stale_tmp(const struct store *s)
{
	char run[PATH_MAX];

	if (store_sub(s, "run", run, sizeof run) < 0)
		return -1;
	return rm_dead_owner(run, ".tmp-");
}
