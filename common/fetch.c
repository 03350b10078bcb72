/* fetch: see fetch.h. */
#include "fetch.h"
#include "sha256.h"
#include "tar.h"
#include "util.h"
#include "fcproc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *
env_or(const char *arg, const char *env, const char *def)
{
	const char *v;

	if (arg && *arg)
		return arg;
	v = getenv(env);
	return v && *v ? v : def;
}

const char *
fetch_arch(void)
{
	static struct utsname u;

	if (uname(&u) < 0)
		return "x86_64";
	if (!strcmp(u.machine, "arm64"))
		return "aarch64";
	return u.machine;
}

static int
check_hex(const char *s, const char *what)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')))
			break;
	if (i != SHA256_HEX_LEN || s[i])
		return fail("bad %s '%s': expected 64 hex digits", what, s);
	return 0;
}

static int
same_hex(const char *a, const char *b)
{
	size_t i;

	for (i = 0; i < SHA256_HEX_LEN; i++)
		if ((a[i] | 0x20) != (b[i] | 0x20))
			return 0;
	return 1;
}

static int
hash_file(const char *path, char hex[SHA256_HEX_LEN + 1])
{
	unsigned char buf[65536], d[SHA256_LEN];
	struct sha256 c;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail_errno("%s", path);
	sha256_init(&c);
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail_errno("reading %s", path);
			close(fd);
			return -1;
		}
		sha256_update(&c, buf, (size_t)n);
	}
	close(fd);
	sha256_final(&c, d);
	sha256_hex(d, hex);
	return 0;
}

/* dest's directory into dir (created when missing). */
static int
dest_dir(const char *dest, char *dir, size_t n)
{
	const char *s = strrchr(dest, '/');

	if (s)
		snprintf(dir, n, "%.*s", s == dest ? 1 : (int)(s - dest), dest);
	else
		snprintf(dir, n, ".");
	return mkdir_p(dir, 0755);
}

/* The private temp dir of one fetch, beside dest:
 * "<dir>/.fetch-<pid>-XXXXXX".  It is on the guard list (fcproc.h), so a
 * SIGINT/SIGTERM of a program with guard_install() removes it too. */
static int
work_dir(const char *dest, char *out, size_t n)
{
	char dir[PATH_MAX];

	if (dest_dir(dest, dir, sizeof dir) < 0)
		return -1;
	rm_dead_owner(dir, ".fetch-");    /* a SIGKILLed fetch's */
	if (fmt(out, n, "%s/.fetch-%ld-XXXXXX", dir, (long)getpid()) < 0)
		return -1;
	if (!mkdtemp(out))
		return fail_errno("creating a temporary directory beside %s", dest);
	if (guard_dir(out) < 0) {
		rmdir(out);
		return -1;
	}
	return 0;
}

static void
work_dir_drop(char *wd)
{
	if (!wd[0])
		return;
	rm_rf(wd);
	guard_forget_dir(wd);
	wd[0] = 0;
}

/* "<wd>/<name>", created empty. */
static int
temp_in(const char *wd, const char *name, char *out, size_t n)
{
	int fd;

	if (path_join(out, n, wd, name) < 0)
		return -1;
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail_errno("creating %s", out);
	close(fd);
	return 0;
}

static const char *
last_line(char *s)
{
	char *e = s + strlen(s), *b;

	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
		*--e = 0;
	b = strrchr(s, '\n');
	return b ? b + 1 : s;
}

/* Download url into path with curl.  Returns 0, -1 (message set), or -2
 * when the server answered 404 (message set too). */
static int
curl_get(const char *url, const char *path, const struct fetch_opts *o)
{
	char curl[PATH_MAX], maxt[24], err[4096];
	char *argv[] = { curl, "-fsSL", "--connect-timeout", "30", "--max-time", maxt,
		"--retry", "2", "-o", (char *)path, "--", (char *)url, NULL };
	struct spawn_opts so = SPAWN_OPTS_INIT;
	int p[2], st, code;
	size_t got = 0;
	ssize_t r;
	pid_t pid;
	const char *msg;

	if (find_exe(env_or(NULL, "FCSNAP_CURL", "curl"), curl, sizeof curl) < 0)
		return fail("curl not found: install curl (needed to download %s)", url);
	snprintf(maxt, sizeof maxt, "%d", o && o->timeout_s > 0 ? o->timeout_s : 900);
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	so.fd_in = -2;
	so.fd_out = -2;
	so.fd_err = p[1];
	pid = spawn(argv, &so);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	guard_pid(pid, 1);      /* a signal's cleanup kills the download too */
	while ((r = read(p[0], err + got, sizeof err - 1 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
		if (got == sizeof err - 1)
			got = 0;        /* runaway output: keep reading, keep the tail */
	}
	err[got] = 0;
	close(p[0]);
	st = wait_pid(pid);
	guard_pid(0, 0);
	if (st < 0)
		return -1;
	code = wait_status_code(st);
	if (code == 0)
		return 0;
	msg = *err ? last_line(err) : "no message";
	if (code == 6 || code == 7 || code == 28)
		return fail("cannot download %s: no network? (%s)", url, msg);
	if (code == 22 && strstr(msg, "404")) {
		fail("cannot download %s: not found (%s)", url, msg);
		return -2;
	}
	return fail("cannot download %s: curl exit %d (%s)", url, code, msg);
}

/* The first word of a "HEX  name" checksum file. */
static int
read_published(const char *path, const char *url, char hex[SHA256_HEX_LEN + 1])
{
	char *s = read_file(path, 64 * 1024, NULL);
	size_t n;

	if (!s)
		return -1;
	n = strspn(s, "0123456789abcdefABCDEF");
	if (n != SHA256_HEX_LEN || (s[n] && s[n] != ' ' && s[n] != '\t' && s[n] != '\n')) {
		free(s);
		return fail("%s is not a SHA-256 checksum file", url);
	}
	memcpy(hex, s, SHA256_HEX_LEN);
	hex[SHA256_HEX_LEN] = 0;
	free(s);
	return 0;
}

static int
install(const char *tmp, const char *dest, mode_t mode)
{
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		fail_errno("installing %s", dest);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (rename(tmp, dest) < 0)
		return fail_errno("renaming %s to %s", tmp, dest);
	return 0;
}

/* Copy the member named `want` (any directory) out of the gzip'd tar at
 * tgz into the open file out. */
static int
extract_member(const char *tgz, const char *url, const char *want, int out)
{
	char gz[PATH_MAX], buf[65536], saved[1024];
	char *argv[] = { gz, "-dc", NULL };
	struct spawn_opts so = SPAWN_OPTS_INIT;
	struct tar_reader *r;
	const struct tar_entry *e;
	int in, p[2], rc, st, found = 0;
	ssize_t n;
	pid_t pid;

	if (find_exe("gzip", gz, sizeof gz) < 0)
		return fail("gzip not found: install gzip (needed to unpack %s)", url);
	if ((in = open(tgz, O_RDONLY | O_CLOEXEC)) < 0)
		return fail_errno("%s", tgz);
	if (pipe2(p, O_CLOEXEC) < 0) {
		close(in);
		return fail_errno("pipe");
	}
	so.fd_in = in;
	so.fd_out = p[1];
	so.fd_err = -2;
	pid = spawn(argv, &so);
	close(in);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	r = tar_open(p[0], url);
	rc = r ? 0 : -1;
	while (rc == 0 && !found && (rc = tar_next(r, &e)) > 0) {
		const char *b = strrchr(e->path, '/');
		if (e->type != TAR_REG || strcmp(b ? b + 1 : e->path, want)) {
			rc = 0;
			continue;
		}
		found = 1;
		rc = 0;
		while ((n = tar_read(r, buf, sizeof buf)) > 0)
			if (write_all(out, buf, (size_t)n) < 0) {
				rc = fail_errno("writing %s", want);
				break;
			}
		if (n < 0)
			rc = -1;
	}
	snprintf(saved, sizeof saved, "%s", errmsg());
	tar_close(r);
	close(p[0]);            /* gzip gets SIGPIPE if it was not done */
	st = wait_pid(pid);
	if (rc < 0 && st >= 0 && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE) &&
	    wait_status_code(st) == 1)
		return fail("%s: corrupt gzip data", url);
	if (rc < 0)
		return fail("%s", saved);
	if (!found)
		return fail("%s has no %s: not a Firecracker release for this version "
		    "and architecture", url, want);
	return 0;
}

static int
get_firecracker(const char *dest, const char *ver, const char *base, const char *sha,
    const struct fetch_opts *o, const char *wd)
{
	char tgz[PATH_MAX], sum[PATH_MAX], bin[PATH_MAX];
	const char *arch = fetch_arch();
	char url[2048], sumurl[2100], want[256], hex[SHA256_HEX_LEN + 1],
	    pub[SHA256_HEX_LEN + 1] = "";
	int fd, rc;

	if (fmt(url, sizeof url, "%s/%s/firecracker-%s-%s.tgz", base, ver, ver, arch) < 0 ||
	    fmt(sumurl, sizeof sumurl, "%s.sha256.txt", url) < 0 ||
	    fmt(want, sizeof want, "firecracker-%s-%s", ver, arch) < 0)
		return -1;
	if (temp_in(wd, "release.tgz", tgz, sizeof tgz) < 0)
		return -1;
	if (curl_get(url, tgz, o) < 0)
		return -1;
	if (!sha) {
		if (temp_in(wd, "release.sha256.txt", sum, sizeof sum) < 0)
			return -1;
		rc = curl_get(sumurl, sum, o);
		if (rc == -1)
			return -1;
		if (rc == 0 && read_published(sum, sumurl, pub) < 0)
			return -1;
		if (rc == -2)
			warnmsg("no published checksum at %s: %s not verified", sumurl, url);
	}
	if (hash_file(tgz, hex) < 0)
		return -1;
	if ((sha || *pub) && !same_hex(hex, sha ? sha : pub))
		return fail("%s: SHA-256 mismatch (got %s, want %s): corrupt or tampered "
		    "download refused", url, hex, sha ? sha : pub);
	if (path_join(bin, sizeof bin, wd, "firecracker") < 0 ||
	    (fd = open(bin, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return fail_errno("creating %s", bin);
	rc = extract_member(tgz, url, want, fd);
	if (close(fd) < 0 && rc == 0)
		rc = fail_errno("writing %s", bin);
	if (rc < 0 || install(bin, dest, 0755) < 0)
		return -1;
	if (!o || !o->quiet)
		warnmsg("fetched firecracker %s from %s (sha256 %s%s)", ver, url, hex,
		    sha || *pub ? "" : ", not verified");
	return 0;
}

int
fetch_firecracker(const char *dest, const char *version, const char *base_url,
    const char *sha256, const struct fetch_opts *o)
{
	char ver[64], wd[PATH_MAX] = "";
	const char *v = env_or(version, "FCSNAP_FIRECRACKER_VERSION", FETCH_FIRECRACKER_VERSION);
	const char *base = env_or(base_url, "FCSNAP_FIRECRACKER_URL", FETCH_FIRECRACKER_BASE);
	const char *sha = env_or(sha256, "FCSNAP_FIRECRACKER_SHA256", NULL);
	size_t bl = strlen(base);
	char basebuf[2048];
	int rc;

	if (strspn(v, "v0123456789.") != strlen(v) || !strchr("v0123456789", v[0]) ||
	    fmt(ver, sizeof ver, "%s%s", v[0] == 'v' ? "" : "v", v) < 0)
		return fail("bad firecracker version '%s': expected like v1.7.0", v);
	if (sha && check_hex(sha, "firecracker SHA-256") < 0)
		return -1;
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (fmt(basebuf, sizeof basebuf, "%.*s", (int)bl, base) < 0)
		return -1;
	if (work_dir(dest, wd, sizeof wd) < 0)
		return -1;
	rc = get_firecracker(dest, ver, basebuf, sha, o, wd);
	work_dir_drop(wd);
	return rc;
}

int
fetch_kernel(const char *dest, const char *url, const char *sha256,
    const struct fetch_opts *o)
{
	char defurl[512], wd[PATH_MAX] = "", tmp[PATH_MAX], hex[SHA256_HEX_LEN + 1];
	const char *u, *sha = env_or(sha256, "FCSNAP_KERNEL_SHA256", NULL);
	int rc = -1;

	snprintf(defurl, sizeof defurl, FETCH_KERNEL_URL_FMT, fetch_arch());
	u = env_or(url, "FCSNAP_KERNEL_URL", defurl);
	if (sha && check_hex(sha, "kernel SHA-256") < 0)
		return -1;
	if (work_dir(dest, wd, sizeof wd) < 0)
		return -1;
	if (temp_in(wd, "kernel", tmp, sizeof tmp) < 0 || curl_get(u, tmp, o) < 0 ||
	    hash_file(tmp, hex) < 0)
		goto out;
	if (sha && !same_hex(hex, sha)) {
		fail("%s: SHA-256 mismatch (got %s, want %s): corrupt or tampered download "
		    "refused", u, hex, sha);
		goto out;
	}
	if (install(tmp, dest, 0644) < 0)
		goto out;
	rc = 0;
	if (!o || !o->quiet)
		warnmsg("fetched kernel from %s (sha256 %s%s)", u, hex,
		    sha ? "" : ", not verified: no checksum given");
out:
	work_dir_drop(wd);
	return rc;
}
