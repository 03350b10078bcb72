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

static int
proc_matches(pid_t pid, uint64_t start)
{
	uint64_t st;
	char state;

	if (pid <= 0 || proc_start_time(pid, &st, &state) < 0)
		return 0;
	return st == start && state != 'Z' && state != 'X' && state != 'x';
}

int
vm_alive(const struct vm *v)
{
	if (v->pid > 0)
		return proc_matches(v->pid, v->pid_start);
	return proc_matches(v->owner_pid, v->owner_start);
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

static int
save_in(const char *dir, const struct vm *v)
{
	char p[PATH_MAX], *s;
	size_t n;
	int rc;

	if (path_join(p, sizeof p, dir, "vm.json") < 0)
		return -1;
	s = vm_to_json(v);
	if (!s)
		return -1;
	n = strlen(s);
	s[n] = '\n';
	rc = write_file_replace(p, s, n + 1, 0644);      /* dies with the VM */
	free(s);
	return rc;
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
	if (vm_id_check(id) < 0)
		return -1;
	if (fmt(v->id, sizeof v->id, "%s", id) < 0 || set_paths(s, v) < 0)
		return -1;
	if (stat(v->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail("no VM with id %s (see fc-ps)", id);
	if (path_join(p, sizeof p, v->dir, "vm.json") < 0)
		return -1;
	js = read_file_trusted(AT_FDCWD, p, 64 * 1024, &len);
	if (!js)
		return fail("VM %s: vm.json is damaged: it %s", id, errmsg());
	rc = parse_vm(js, len, v);
	free(js);
	if (rc < 0)
		return fail("VM %s: vm.json is damaged: %s", id, errmsg());
	return 0;
}

/* Creation. */

static void
set_created_at(struct vm *v)
{
	time_t t = (time_t)(v->created_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(v->created_at, sizeof v->created_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
create_once(const struct store *s, const char *id, const char *snapshot, struct vm *v)
{
	char run[PATH_MAX], tmp[PATH_MAX], nm[128];
	int e;

	memset(v, 0, sizeof *v);
	if (fmt(v->id, sizeof v->id, "%s", id) < 0 ||
	    fmt(v->snapshot, sizeof v->snapshot, "%s", snapshot) < 0 ||
	    set_paths(s, v) < 0)
		return -1;
	v->owner_pid = getpid();
	if (proc_start_time(v->owner_pid, &v->owner_start, NULL) < 0)
		return fail("cannot read /proc/%ld/stat: is /proc mounted?", (long)v->owner_pid);
	v->created_ms = wall_ms();
	set_created_at(v);
	if (store_sub(s, "run", run, sizeof run) < 0 ||
	    fmt(nm, sizeof nm, ".tmp-%ld-%s", (long)v->owner_pid, id) < 0 ||
	    path_join(tmp, sizeof tmp, run, nm) < 0)
		return -1;
	rm_rf(tmp);     /* ours by pid: a leftover of an earlier process */
	if (mkdir(tmp, 0700) < 0)
		return fail_errno("store %s is not writable: cannot create %s "
		    "(set FCSNAP_DIR to a writable directory)", s->root, tmp);
	if (save_in(tmp, v) < 0) {
		rm_rf(tmp);
		return -1;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, v->dir, RENAME_NOREPLACE) == 0)
		return 0;
	e = errno;
	if ((e == EINVAL || e == ENOSYS) && rename(tmp, v->dir) == 0)
		return 0;
	if (e == EINVAL || e == ENOSYS)
		e = errno;
	rm_rf(tmp);
	if (e == EEXIST || e == ENOTEMPTY) {
		fail("VM id %s is in use: choose another id, or end that VM "
		    "with fc-kill %s", id, id);
		errno = EEXIST;
		return -1;
	}
	errno = e;
	return fail_errno("creating %s", v->dir);
}

/* run/<id> exists: if its process is gone, remove it (1), else 0. */
static int
drop_if_dead(const struct store *s, const char *id)
{
	struct vm old;

	if (vm_load(s, id, &old) < 0 || vm_alive(&old))
		return 0;
	return rm_rf(old.dir) == 0;
}

int
vm_create(const struct store *s, const char *id, const char *snapshot, struct vm *v)
{
	char gen[16];
	int tries;

	if (store_prepare(s) < 0)
		return -1;
	if (id) {
		if (vm_id_check(id) < 0)
			return -1;
		if (create_once(s, id, snapshot, v) == 0)
			return 0;
		if (errno != EEXIST || !drop_if_dead(s, id)) {
			fail("VM id %s is in use: choose another id, or end that VM "
			    "with fc-kill %s", id, id);
			return -1;
		}
		return create_once(s, id, snapshot, v);
	}
	for (tries = 0; tries < 16; tries++) {
		if (vm_id_new(gen, sizeof gen) < 0)
			return -1;
		if (create_once(s, gen, snapshot, v) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
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
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, (size_t)n, sizeof *v, cmp_vm);
	*out = v;
	return n;
}

/* Stopping. */

static void
reap(pid_t pid)
{
	while (waitpid(pid, NULL, WNOHANG) < 0 && errno == EINTR)
		;
}

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait for exit: on the pidfd when there is one, else by polling /proc. */
static int
wait_gone(int pfd, pid_t pid, uint64_t start, long long ms)
{
	int64_t deadline = now_ms() + ms;
	struct pollfd p;
	long long left;

	for (;;) {
		reap(pid);
		if (!proc_matches(pid, start))
			return 1;
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		if (pfd >= 0) {
			p.fd = pfd;
			p.events = POLLIN;
			poll(&p, 1, left > 50 ? 50 : (int)left);
		} else {
			nap_ms(left > 10 ? 10 : (long)left);
		}
	}
}

static int
sig(int pfd, pid_t pid, int signo)
{
	if (pfd >= 0)
		return (int)syscall(SYS_pidfd_send_signal, pfd, signo, NULL, 0);
	return kill(pid, signo);
}

static int
stop_proc(pid_t pid, uint64_t start, long long grace_ms)
{
	int pfd, rc = 0;

	if (pid <= 0 || pid == getpid() || !proc_matches(pid, start))
		return 0;
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* with a pidfd, a recheck makes the signal race-free against pid reuse */
	if (!proc_matches(pid, start))
		goto out;
	if (sig(pfd, pid, SIGTERM) < 0 && errno != ESRCH) {
		rc = fail_errno("signalling process %ld", (long)pid);
		goto out;
	}
	if (wait_gone(pfd, pid, start, grace_ms))
		goto out;
	if (sig(pfd, pid, SIGKILL) < 0 && errno != ESRCH) {
		rc = fail_errno("killing process %ld", (long)pid);
		goto out;
	}
	if (!wait_gone(pfd, pid, start, KILL_WAIT_MS))
		rc = fail("process %ld did not exit %d s after SIGKILL", (long)pid,
		    KILL_WAIT_MS / 1000);
out:
	if (pfd >= 0)
		close(pfd);
	return rc;
}

int
vm_destroy(struct vm *v, long long grace_ms)
{
	int rc;

	if (v->pid > 0)
		rc = stop_proc(v->pid, v->pid_start, grace_ms);
	else
		rc = stop_proc(v->owner_pid, v->owner_start, grace_ms);
	if (rc < 0)
		return fail("stopping VM %s: %s", v->id, errmsg());
	if (rm_rf(v->dir) < 0)
		return fail("removing VM %s: %s", v->id, errmsg());
	return 0;
}

int
vm_drop_dead(const struct store *s)
{
	struct vm *v;
	char run[PATH_MAX];
	int n, i, dropped = 0;

	n = vm_list(s, &v);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i].damaged || vm_alive(&v[i]))
			continue;
		if (rm_rf(v[i].dir) < 0) {
			fail("removing dead VM %s: %s", v[i].id, errmsg());
			free(v);
			return -1;
		}
		dropped++;
	}
	free(v);
	if (store_sub(s, "run", run, sizeof run) == 0)
		dropped += rm_dead_owner(run, ".tmp-");
	return dropped;
}

int
vm_drop_stale_tmp(const struct store *s)
{
	char run[PATH_MAX];

	if (store_sub(s, "run", run, sizeof run) < 0)
		return -1;
	return rm_dead_owner(run, ".tmp-");
}
