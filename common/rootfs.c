/* rootfs: the image builder of fc-rootfs (contract: rootfs.h).
 *
 * Flow: stage the tree in a temp dir beside the output (hard links where
 * possible), add the agent and its service file, measure, run
 * `mkfs.ext4 -d STAGE` into a temp image beside the output, rename it into
 * place.  Nothing half-made is left on any failure or on SIGINT/SIGTERM.
 */
#include "rootfs.h"
#include "tar.h"
#include "tree.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define AGENT_IN_IMAGE "/usr/sbin/fc-agent"
#define MIB (1024ull * 1024)

const char *const rootfs_init_names[ROOTFS_INIT_COUNT] = {
	"auto", "agent", "openrc", "systemd", "busybox", "sysv"
};

static struct rootfs_opts opt;

/* What a signal handler must undo. */
static char stage_path[PATH_MAX], tmp_path[PATH_MAX];
static volatile pid_t kids[3];

static void
on_signal(int sig)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(kids); i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	if (tmp_path[0])
		unlink(tmp_path);
	if (stage_path[0])
		tree_remove_sigsafe(stage_path);
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

static void
set_signals(void (*h)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int
kid_add(pid_t p)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(kids); i++)
		if (kids[i] <= 0) {
			kids[i] = p;
			return 0;
		}
	return -1;
}

static int
kid_wait(pid_t p)
{
	size_t i;
	int st = wait_pid(p);

	for (i = 0; i < ARRAY_LEN(kids); i++)
		if (kids[i] == p)
			kids[i] = 0;
	return st;
}

/* ---- paths inside the image (symlinks resolved as the guest would) ---- */

static int rootfd = -1;

static int
img_open(const char *path, int flags)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS)
		return fail("this kernel lacks openat2(2) (Linux 5.6 or later is needed)");
	return (int)fd;
}

static int
img_exists(const char *path)
{
	int fd = img_open(path, O_PATH);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Open (creating as needed, mode 0755) directory dir inside the image. */
static int
img_mkdirs(const char *dir)
{
	char part[PATH_MAX];
	const char *s = dir;
	int fd, pfd;

	for (;;) {
		s = strchr(s, '/');
		snprintf(part, sizeof part, "%.*s", s ? (int)(s - dir) : (int)strlen(dir), dir);
		fd = img_open(part, O_RDONLY | O_DIRECTORY);
		if (fd < 0 && errno == ENOENT) {
			char *slash = strrchr(part, '/');
			const char *leaf = slash ? slash + 1 : part;
			if (slash)
				*slash = 0;
			pfd = slash ? img_open(part, O_RDONLY | O_DIRECTORY) : dup(rootfd);
			if (pfd < 0)
				return fail_errno("image directory /%s", part);
			if (mkdirat(pfd, leaf, 0755) < 0 && errno != EEXIST) {
				close(pfd);
				return fail_errno("creating /%s in the image", dir);
			}
			if (slash)
				*slash = '/';
			close(pfd);
			fd = img_open(part, O_RDONLY | O_DIRECTORY);
		}
		if (fd < 0)
			return fail_errno("image directory /%s", part);
		if (!s)
			return fd;
		close(fd);
		s++;
	}
}

/* Parent directory fd of path inside the image, and its last component. */
static int
img_parent(const char *path, const char **leaf)
{
	char dir[PATH_MAX];
	const char *s = strrchr(path, '/');

	*leaf = s ? s + 1 : path;
	if (!s)
		return dup(rootfd);
	snprintf(dir, sizeof dir, "%.*s", (int)(s - path), path);
	return img_mkdirs(dir);
}

/* Write a new file at path (replacing what is there, never writing into
 * an existing inode: staged files may be hard links to the source). */
static int
img_write(const char *path, const void *data, size_t n, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	const char *leaf;
	int dfd, fd, rc = 0;

	if ((dfd = img_parent(path, &leaf)) < 0)
		return -1;
	snprintf(tmp, sizeof tmp, ".fc-rootfs.%ld", (long)getpid());
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		close(dfd);
		return fail_errno("writing /%s in the image", path);
	}
	if (write_all(fd, data, n) < 0 || fchmod(fd, mode) < 0)
		rc = fail_errno("writing /%s in the image", path);
	if (geteuid() == 0)
		(void)!fchown(fd, 0, 0);
	if (close(fd) < 0 && rc == 0)
		rc = fail_errno("writing /%s in the image", path);
	if (rc == 0 && renameat(dfd, tmp, dfd, leaf) < 0)
		rc = fail_errno("installing /%s in the image", path);
	if (rc < 0)
		unlinkat(dfd, tmp, 0);
	close(dfd);
	return rc;
}

static int
img_symlink(const char *path, const char *target)
{
	char tmp[NAME_MAX + 1];
	const char *leaf;
	int dfd, rc = 0;

	if ((dfd = img_parent(path, &leaf)) < 0)
		return -1;
	snprintf(tmp, sizeof tmp, ".fc-rootfs.%ld", (long)getpid());
	unlinkat(dfd, tmp, 0);
	if (symlinkat(target, dfd, tmp) < 0)
		rc = fail_errno("creating /%s in the image", path);
	else if (renameat(dfd, tmp, dfd, leaf) < 0) {
		rc = fail_errno("installing /%s in the image", path);
		unlinkat(dfd, tmp, 0);
	}
	close(dfd);
	return rc;
}

/* The resolved file's basename inside the image ("" when absent). */
static void
img_target_name(const char *path, char *out, size_t n)
{
	char proc[64], real[PATH_MAX];
	const char *b;
	ssize_t l;
	int fd = img_open(path, O_PATH);

	out[0] = 0;
	if (fd < 0)
		return;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	l = readlink(proc, real, sizeof real - 1);
	close(fd);
	if (l <= 0)
		return;
	real[l] = 0;
	b = strrchr(real, '/');
	b = b ? b + 1 : real;
	if (strlen(b) < n)
		memcpy(out, b, strlen(b) + 1);
}

/* ---- installing the agent ---- */

static int
copy_agent(void)
{
	size_t n;
	char *buf = read_file(opt.agent, 256 * MIB, &n);
	int rc;

	if (!buf)
		return fail("cannot read the agent: %s", errmsg());
	rc = img_write(&AGENT_IN_IMAGE[1], buf, n, 0755);
	free(buf);
	return rc;
}

static void
agent_cmdline(char *out, size_t n)
{
	if (opt.have_port)
		snprintf(out, n, "%s -p %lld", AGENT_IN_IMAGE, opt.port);
	else
		snprintf(out, n, "%s", AGENT_IN_IMAGE);
}

static enum rootfs_init
detect_init(void)
{
	char name[NAME_MAX + 1];

	if (!img_exists("sbin/init"))
		return ROOTFS_INIT_AGENT;
	if (img_exists("lib/systemd/systemd") || img_exists("usr/lib/systemd/systemd"))
		return ROOTFS_INIT_SYSTEMD;
	if (img_exists("sbin/openrc-run"))
		return ROOTFS_INIT_OPENRC;
	img_target_name("sbin/init", name, sizeof name);
	if (!strcmp(name, "busybox"))
		return ROOTFS_INIT_BUSYBOX;
	if (img_exists("etc/inittab"))
		return ROOTFS_INIT_SYSV;
	fail("cannot tell how this image's /sbin/init (%s) starts services: choose "
	    "--init agent (fc-agent as PID 1) or systemd, openrc, busybox, sysv", name);
	return ROOTFS_INIT_AUTO;
}

static int
install_systemd(const char *cmd)
{
	char unit[1024];

	snprintf(unit, sizeof unit,
	    "# installed by fc-rootfs: the fcsnap guest agent\n"
	    "[Unit]\n"
	    "Description=fcsnap guest agent (fc-agent)\n"
	    "After=local-fs.target\n"
	    "\n"
	    "[Service]\n"
	    "ExecStart=%s\n"
	    "Restart=always\n"
	    "RestartSec=1\n"
	    "\n"
	    "[Install]\n"
	    "WantedBy=multi-user.target\n", cmd);
	if (img_write("etc/systemd/system/fc-agent.service", unit, strlen(unit), 0644) < 0)
		return -1;
	return img_symlink("etc/systemd/system/multi-user.target.wants/fc-agent.service",
	    "/etc/systemd/system/fc-agent.service");
}

static int
install_openrc(void)
{
	char svc[1024], args[32] = "";

	if (opt.have_port)
		snprintf(args, sizeof args, "-p %lld", opt.port);
	snprintf(svc, sizeof svc,
	    "#!/sbin/openrc-run\n"
	    "# installed by fc-rootfs: the fcsnap guest agent\n"
	    "description=\"fcsnap guest agent (fc-agent)\"\n"
	    "command=\"%s\"\n"
	    "command_args=\"%s\"\n"
	    "command_background=\"yes\"\n"
	    "pidfile=\"/run/fc-agent.pid\"\n"
	    "\n"
	    "depend() {\n"
	    "\tafter localmount\n"
	    "}\n", AGENT_IN_IMAGE, args);
	if (img_write("etc/init.d/fc-agent", svc, strlen(svc), 0755) < 0)
		return -1;
	return img_symlink("etc/runlevels/default/fc-agent", "/etc/init.d/fc-agent");
}

/* Append line to /etc/inittab, dropping earlier fc-agent lines. */
static int
install_inittab(const char *line, const char *fresh)
{
	char *old = NULL, *out, *p, *nl;
	size_t n = 0, o = 0;
	int fd = img_open("etc/inittab", O_RDONLY), rc;

	if (fd >= 0) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		old = read_file(proc, 4 * MIB, &n);
		close(fd);
		if (!old)
			return fail("reading /etc/inittab in the image: %s", errmsg());
	}
	out = malloc(n + strlen(fresh) + strlen(line) + 3);
	if (!out) {
		free(old);
		return fail("out of memory");
	}
	if (!old)
		o = (size_t)sprintf(out, "%s", fresh);
	for (p = old; p && *p; p = nl) {
		nl = strchr(p, '\n');
		nl = nl ? nl + 1 : p + strlen(p);
		if (memmem(p, (size_t)(nl - p), AGENT_IN_IMAGE, strlen(AGENT_IN_IMAGE)))
			continue;
		memcpy(out + o, p, (size_t)(nl - p));
		o += (size_t)(nl - p);
	}
	if (o && out[o - 1] != '\n')
		out[o++] = '\n';
	o += (size_t)sprintf(out + o, "%s\n", line);
	rc = img_write("etc/inittab", out, o, 0644);
	free(old);
	free(out);
	return rc;
}

static int
install_init(enum rootfs_init k)
{
	char cmd[256], line[320];

	agent_cmdline(cmd, sizeof cmd);
	switch (k) {
	case ROOTFS_INIT_SYSTEMD:
		return install_systemd(cmd);
	case ROOTFS_INIT_OPENRC:
		return install_openrc();
	case ROOTFS_INIT_BUSYBOX:
		snprintf(line, sizeof line, "::respawn:%s", cmd);
		return install_inittab(line,
		    "# written by fc-rootfs (busybox init)\n"
		    "::sysinit:/bin/mount -t proc proc /proc\n"
		    "::ctrlaltdel:/sbin/reboot\n"
		    "::shutdown:/bin/umount -a -r\n");
	case ROOTFS_INIT_SYSV:
		snprintf(line, sizeof line, "fca:2345:respawn:%s", cmd);
		return install_inittab(line, "id:2:initdefault:\n");
	case ROOTFS_INIT_AGENT:
		if (opt.have_port)
			warnmsg("fc-agent runs as PID 1, which the kernel starts without "
			    "arguments: add '-- -p %lld' to the kernel boot args", opt.port);
		return img_symlink("sbin/init", AGENT_IN_IMAGE);
	default:
		return fail("internal: no init kind");
	}
}

/* ---- input ---- */

static int
stage_dir(void)
{
	struct tree_stats st;
	int sfd = open(opt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (sfd < 0)
		return fail_errno("input directory %s", opt.dir);
	rc = tree_copy(sfd, opt.dir, rootfd, geteuid() == 0 ? TREE_OWNER | TREE_DEVICES : 0, &st);
	close(sfd);
	if (rc == 0 && st.skipped_devices)
		warnmsg("skipped %llu device node(s) in %s: creating them needs root",
		    (unsigned long long)st.skipped_devices, opt.dir);
	return rc;
}

/* Feed prefix then the rest of fd 0 into w (runs in a forked child). */
static _Noreturn void
feeder(int w, const unsigned char *pre, size_t n)
{
	char buf[65536];
	ssize_t r;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (write_all(w, pre, n) < 0)
		_exit(1);
	while ((r = read(0, buf, sizeof buf)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || write_all(w, buf, (size_t)r) < 0)
			_exit(1);
	}
	_exit(0);
}

static int
compressed_refusal(const unsigned char *p, size_t n)
{
	static const struct { const char *magic; size_t len; const char *name, *cmd; } m[] = {
		{ "\xfd" "7zXZ\0", 6, "xz", "xz -dc" },
		{ "\x28\xb5\x2f\xfd", 4, "zstd", "zstd -dc" },
		{ "BZh", 3, "bzip2", "bzip2 -dc" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(m); i++)
		if (n >= m[i].len && !memcmp(p, m[i].magic, m[i].len))
			return fail("stdin is %s-compressed: decompress it first "
			    "(%s FILE | fc-rootfs ...)", m[i].name, m[i].cmd);
	return 0;
}

/* As non-root, what the staged files cannot carry into the image: owners
 * other than root and device nodes.  Applied with debugfs after mkfs. */
struct fixup {
	char *path;
	uid_t uid;
	gid_t gid;
	mode_t mode;            /* S_IFCHR/S_IFBLK | perms for nodes, else 0 */
	unsigned maj, min;
};
static struct fixup *fixups;
static size_t nfixups, capfixups;
static unsigned long long unfixable;

static int
note_entry(void *ctx, const struct tar_entry *e, int created)
{
	int node = !created && (e->type == TAR_CHR || e->type == TAR_BLK);
	struct fixup *f;

	(void)ctx;
	if (!*e->path || e->type == TAR_HARDLINK || (!node && !e->uid && !e->gid))
		return 0;
	if (strpbrk(e->path, "\"\\\n")) {
		unfixable++;
		return 0;
	}
	if (nfixups == capfixups) {
		size_t nc = capfixups ? capfixups * 2 : 64;
		if (!(f = realloc(fixups, nc * sizeof *f)))
			return fail("out of memory");
		fixups = f;
		capfixups = nc;
	}
	f = &fixups[nfixups];
	if (!(f->path = strdup(e->path)))
		return fail("out of memory");
	f->uid = e->uid;
	f->gid = e->gid;
	f->mode = node ? (e->type == TAR_CHR ? S_IFCHR : S_IFBLK) | (e->mode & 07777) : 0;
	f->maj = e->devmajor;
	f->min = e->devminor;
	nfixups++;
	return 0;
}

static void
free_fixups(void)
{
	size_t i;

	for (i = 0; i < nfixups; i++)
		free(fixups[i].path);
	free(fixups);
	fixups = NULL;
	nfixups = capfixups = 0;
}

static int
extract(struct tar_reader *r)
{
	struct tar_stats st;
	int root = geteuid() == 0;
	int rc = tar_extract(r, rootfd, root ? TAR_X_OWNER | TAR_X_DEVICES : 0, &st,
	    root ? NULL : note_entry, NULL);

	if (rc == 0 && unfixable)
		warnmsg("%llu entries with owners or device numbers could not be kept "
		    "(names with quotes, backslashes or newlines): run as root to keep them",
		    unfixable);
	if (rc == 0 && st.entries == 0)
		return fail("stdin: the tar archive is empty");
	return rc;
}

static int
stage_gzip(const unsigned char *pre, size_t n)
{
	char gz[PATH_MAX], saved[1024];
	char *argv[] = { gz, "-dc", NULL };
	struct spawn_opts so = SPAWN_OPTS_INIT;
	struct tar_reader *r;
	int a[2], b[2], rc, st, code;
	pid_t fp, gp;

	if (find_exe("gzip", gz, sizeof gz) < 0)
		return fail("stdin is gzip-compressed and gzip is not installed: "
		    "decompress it first (zcat FILE | fc-rootfs ...)");
	if (pipe2(a, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	if (pipe2(b, O_CLOEXEC) < 0) {
		close(a[0]); close(a[1]);
		return fail_errno("pipe");
	}
	fp = fork();
	if (fp == 0) {
		close(a[0]); close(b[0]); close(b[1]);
		feeder(a[1], pre, n);
	}
	close(a[1]);
	if (fp < 0) {
		close(a[0]); close(b[0]); close(b[1]);
		return fail_errno("fork");
	}
	kid_add(fp);
	so.fd_in = a[0];
	so.fd_out = b[1];
	so.fd_err = -2;
	gp = spawn(argv, &so);
	close(a[0]);
	close(b[1]);
	if (gp < 0) {
		close(b[0]);
		kill(fp, SIGKILL);
		kid_wait(fp);
		return -1;
	}
	kid_add(gp);
	r = tar_open(b[0], "stdin");
	rc = r ? extract(r) : -1;
	tar_close(r);
	snprintf(saved, sizeof saved, "%s", errmsg());
	close(b[0]);
	st = kid_wait(gp);
	kill(fp, SIGKILL);
	kid_wait(fp);
	code = wait_status_code(st);
	if (code != 0 && code != 2 && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE))
		return fail("stdin: gzip -dc failed (exit %d): the gzip data is corrupt "
		    "or truncated", code);
	if (rc < 0)
		return fail("%s", saved);
	return 0;
}

static int
stage_stdin(void)
{
	unsigned char pre[512];
	struct tar_reader *r;
	ssize_t n = read_full(0, pre, sizeof pre);
	int rc;

	if (n < 0)
		return fail_errno("reading stdin");
	if (n >= 2 && pre[0] == 0x1f && pre[1] == 0x8b)
		return stage_gzip(pre, (size_t)n);
	if (compressed_refusal(pre, (size_t)n) < 0)
		return -1;
	if (!(r = tar_open(0, "stdin")))
		return -1;
	rc = tar_unread(r, pre, (size_t)n) < 0 ? -1 : extract(r);
	tar_close(r);
	return rc;
}

/* ---- sizing ---- */

static uint64_t
journal_blocks(uint64_t blocks)
{
	if (!opt.journal || blocks < 2048) return 0;
	if (blocks < 32768) return 1024;
	if (blocks < 256 * 1024) return 4096;
	if (blocks < 512 * 1024) return 8192;
	if (blocks < 4096 * 1024) return 16384;
	if (blocks < 8192 * 1024) return 32768;
	if (blocks < 16384 * 1024) return 65536;
	if (blocks < 32768 * 1024) return 131072;
	return 262144;
}

static uint64_t
inode_count(uint64_t size, const struct tree_usage *u)
{
	uint64_t want = u->inodes + u->inodes / 4 + 1024, def = size / 16384;

	return want > def ? want : def;
}

/* Bytes an ext4 filesystem of `size` bytes needs to hold u. */
static uint64_t
fs_need(uint64_t size, const struct tree_usage *u)
{
	uint64_t blocks = size / 4096, groups = (blocks + 32767) / 32768;

	return u->bytes + u->bytes / 50 + inode_count(size, u) * 256 +
	    journal_blocks(blocks) * 4096 + groups * 3 * 4096 + 2 * MIB + size / 200;
}

static uint64_t
min_size(const struct tree_usage *u)
{
	uint64_t s = 4 * MIB;

	while (fs_need(s, u) > s)
		s += MIB;
	return s;
}

static int
choose_size(const struct tree_usage *u, uint64_t *size)
{
	uint64_t s, m = min_size(u);

	if (opt.size) {
		s = opt.size / 4096 * 4096;
		if (fs_need(s, u) > s)
			return fail("size %llu MiB is too small for the content (%llu MiB in %llu "
			    "files): use -s %lluM or more", (unsigned long long)(opt.size / MIB),
			    (unsigned long long)((u->bytes + MIB - 1) / MIB),
			    (unsigned long long)u->inodes,
			    (unsigned long long)((m + m / 10 + MIB - 1) / MIB));
		*size = s;
		return 0;
	}
	s = u->bytes + u->bytes / 2 + 64 * MIB;
	if (s < m)
		s = m;
	*size = (s + MIB - 1) / MIB * MIB;
	return 0;
}

/* ---- mkfs ---- */

int
rootfs_find_mkfs(char *out, size_t n)
{
	const char *env = getenv("FCSNAP_MKFS_EXT4");
	static const char *const dirs[] = { "/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4" };
	size_t i;

	if (env && *env) {
		if (access(env, X_OK) < 0)
			return fail("mkfs.ext4 not found at %s (FCSNAP_MKFS_EXT4): install "
			    "e2fsprogs", env);
		return fmt(out, n, "%s", env);
	}
	if (find_exe("mkfs.ext4", out, n) == 0)
		return 0;
	for (i = 0; i < ARRAY_LEN(dirs); i++)
		if (access(dirs[i], X_OK) == 0)
			return fmt(out, n, "%s", dirs[i]);
	return fail("mkfs.ext4 not found: install e2fsprogs");
}

/* Run argv with stdout+stderr into fd_out.  As non-root, in a new user
 * namespace where our uid and gid are 0, so the staged files (ours) are
 * root's in the image; *mapped says whether that worked. */
static pid_t
spawn_mkfs(char *const argv[], int fd_out, int *mapped)
{
	struct spawn_opts so = SPAWN_OPTS_INIT;
	char map[64], st = 0;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int p[2], e = 0, fd;
	sigset_t none;
	ssize_t n;
	pid_t pid;

	*mapped = uid == 0;
	if (uid == 0) {
		so.fd_in = -2;
		so.fd_out = so.fd_err = fd_out;
		return spawn(argv, &so);
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	pid = fork();
	if (pid < 0) {
		close(p[0]); close(p[1]);
		return fail_errno("fork");
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL); signal(SIGHUP, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		st = 'U';
		if (unshare(CLONE_NEWUSER) == 0) {
			st = 'M';
			snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)uid);
			if ((fd = open("/proc/self/uid_map", O_WRONLY)) < 0 ||
			    write(fd, map, strlen(map)) < 0)
				st = 'U';
			if (fd >= 0) close(fd);
			if ((fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
				if (write(fd, "deny", 4) < 0) st = 'U';
				close(fd);
			}
			snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)gid);
			if ((fd = open("/proc/self/gid_map", O_WRONLY)) < 0 ||
			    write(fd, map, strlen(map)) < 0)
				st = 'U';
			if (fd >= 0) close(fd);
		}
		if (write(p[1], &st, 1) < 0) _exit(127);
		if ((fd = open("/dev/null", O_RDONLY)) >= 0) { dup2(fd, 0); close(fd); }
		dup2(fd_out, 1);
		dup2(fd_out, 2);
		execv(argv[0], argv);
		e = errno;
		if (write(p[1], &e, sizeof e) < 0) _exit(127);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], &st, 1);
	*mapped = n == 1 && st == 'M';
	n = read(p[0], &e, sizeof e);
	close(p[0]);
	if (n == (ssize_t)sizeof e) {
		waitpid(pid, NULL, 0);
		errno = e;
		return fail_errno("cannot run %s", argv[0]);
	}
	return pid;
}

/* Quote a path for debugfs's command parser. */
static int
dq(FILE *f, const char *cmd, const char *path, const char *rest)
{
	return fprintf(f, "%s \"%s\"%s\n", cmd, path, rest) < 0 ? -1 : 0;
}

static int
fixup_script(FILE *f)
{
	char rest[96];
	size_t i;

	for (i = 0; i < nfixups; i++) {
		struct fixup *x = &fixups[i];
		const char *slash = strrchr(x->path, '/');
		const char *leaf = slash ? slash + 1 : x->path;
		if (x->mode) {
			fprintf(f, "cd \"/%.*s\"\n", slash ? (int)(slash - x->path) : 0, x->path);
			snprintf(rest, sizeof rest, " %c %u %u", S_ISCHR(x->mode) ? 'c' : 'b',
			    x->maj, x->min);
			dq(f, "mknod", leaf, rest);
			snprintf(rest, sizeof rest, " mode 0%o", (unsigned)x->mode);
			dq(f, "sif", leaf, rest);
			fprintf(f, "cd /\n");
		}
		fprintf(f, "sif \"/%s\" uid %lu\n", x->path, (unsigned long)x->uid);
		fprintf(f, "sif \"/%s\" gid %lu\n", x->path, (unsigned long)x->gid);
	}
	return fflush(f) == 0 ? 0 : -1;
}

static int
find_debugfs(const char *mkfs, char *out, size_t n)
{
	const char *s = strrchr(mkfs, '/');

	if (s && fmt(out, n, "%.*s/debugfs", (int)(s - mkfs), mkfs) == 0 && access(out, X_OK) == 0)
		return 0;
	if (find_exe("debugfs", out, n) == 0)
		return 0;
	if (access("/usr/sbin/debugfs", X_OK) == 0)
		return fmt(out, n, "/usr/sbin/debugfs");
	if (access("/sbin/debugfs", X_OK) == 0)
		return fmt(out, n, "/sbin/debugfs");
	return fail("debugfs not found: install e2fsprogs (needed to keep owners and "
	    "device nodes when not run as root)");
}

/* Apply the fixups to the image with `debugfs -w -f`. */
static int
apply_fixups(const char *mkfs, const char *img)
{
	char dbg[PATH_MAX], out[8192], *line, *save;
	char *argv[] = { dbg, "-w", "-f", "/dev/stdin", (char *)img, NULL };
	struct spawn_opts so = SPAWN_OPTS_INIT;
	FILE *f;
	int in, err, st;
	ssize_t n;
	pid_t pid;

	if (!nfixups)
		return 0;
	if (find_debugfs(mkfs, dbg, sizeof dbg) < 0)
		return -1;
	in = memfd_create("fc-rootfs-cmds", MFD_CLOEXEC);
	err = memfd_create("fc-rootfs-err", MFD_CLOEXEC);
	if (in < 0 || err < 0 || !(f = fdopen(dup(in), "w"))) {
		if (in >= 0) close(in);
		if (err >= 0) close(err);
		return fail_errno("memfd");
	}
	st = fixup_script(f);
	if (fclose(f) != 0 || st < 0 || lseek(in, 0, SEEK_SET) < 0) {
		close(in); close(err);
		return fail_errno("writing the debugfs script");
	}
	so.fd_in = in;
	so.fd_out = -2;
	so.fd_err = err;
	pid = spawn(argv, &so);
	close(in);
	if (pid < 0) {
		close(err);
		return -1;
	}
	kid_add(pid);
	st = kid_wait(pid);
	n = pread(err, out, sizeof out - 1, 0);
	close(err);
	out[n > 0 ? n : 0] = 0;
	if (st != 0)
		return fail("debugfs failed (exit %d) setting owners in %s", wait_status_code(st), img);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "debugfs ", 8) && !strstr(line, "Allocated inode"))
			return fail("debugfs: %s (setting owners and device nodes in %s)", line, img);
	return 0;
}

static const char *
last_line(char *s)
{
	char *e = s + strlen(s), *b;

	while (e > s && (e[-1] == '\n' || e[-1] == ' '))
		*--e = 0;
	b = strrchr(s, '\n');
	return b ? b + 1 : s;
}

static int
run_mkfs(const char *mkfs, const char *img, uint64_t size, const struct tree_usage *u)
{
	char sz[32], nin[32], ropt[64], errbuf[8192];
	char *argv[24];
	int p[2], i = 0, st, mapped;
	size_t got = 0;
	ssize_t r;
	pid_t pid;
	sigset_t sigs, old;

	snprintf(sz, sizeof sz, "%lluk", (unsigned long long)(size / 1024));
	snprintf(nin, sizeof nin, "%llu", (unsigned long long)inode_count(size, u));
	snprintf(ropt, sizeof ropt, "root_owner=%d:%d", 0, 0);
	argv[i++] = (char *)mkfs;
	argv[i++] = "-q";
	argv[i++] = "-F";
	argv[i++] = "-t"; argv[i++] = "ext4";
	argv[i++] = "-b"; argv[i++] = "4096";
	argv[i++] = "-m"; argv[i++] = "0";
	argv[i++] = "-N"; argv[i++] = nin;
	argv[i++] = "-L"; argv[i++] = (char *)opt.label;
	argv[i++] = "-E"; argv[i++] = ropt;
	if (!opt.journal) {
		argv[i++] = "-O"; argv[i++] = "^has_journal";
	}
	argv[i++] = "-d"; argv[i++] = stage_path;
	argv[i++] = (char *)img;
	argv[i++] = sz;
	argv[i] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	/* a SIGTERM between the spawn and kid_add would leave mkfs running */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, &old);
	pid = spawn_mkfs(argv, p[1], &mapped);
	if (pid > 0)
		kid_add(pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return fail("%s", errmsg());
	}
	while ((r = read(p[0], errbuf + got, sizeof errbuf - 1 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
		if (got == sizeof errbuf - 1) {         /* keep the tail */
			memmove(errbuf, errbuf + 4096, got - 4096);
			got -= 4096;
		}
	}
	errbuf[got] = 0;
	close(p[0]);
	st = kid_wait(pid);
	if (st < 0)
		return -1;
	if (st == 0) {
		if (!mapped)
			warnmsg("files in %s are owned by uid %lu, not root: user namespaces "
			    "are not available; run as root to have root own them", opt.out,
			    (unsigned long)geteuid());
		return 0;
	}
	if (strstr(errbuf, "No space left") || strstr(errbuf, "Could not allocate") ||
	    strstr(errbuf, "too small"))
		return fail("mkfs.ext4 ran out of space: size %llu MiB is too small for the "
		    "content: use a larger -s (%s)", (unsigned long long)(size / MIB),
		    last_line(errbuf));
	return fail("mkfs.ext4 failed (exit %d): %s", wait_status_code(st),
	    *errbuf ? last_line(errbuf) : "no message");
}

/* ---- the whole job ---- */

static int
make_temp_paths(void)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];
	const char *s = strrchr(opt.out, '/');
	int fd;

	if (s)
		snprintf(dir, sizeof dir, "%.*s", s == opt.out ? 1 : (int)(s - opt.out), opt.out);
	else
		snprintf(dir, sizeof dir, ".");
	snprintf(base, sizeof base, "%s", s ? s + 1 : opt.out);
	if (!*base)
		return fail("output %s names a directory: give a file name", opt.out);
	if (fmt(stage_path, sizeof stage_path, "%s/.%s.stage.XXXXXX", dir, base) < 0 ||
	    fmt(tmp_path, sizeof tmp_path, "%s/.%s.tmp.XXXXXX", dir, base) < 0)
		return -1;
	if (!mkdtemp(stage_path)) {
		fail_errno("creating a staging directory in %s", dir);
		stage_path[0] = tmp_path[0] = 0;
		return -1;
	}
	fd = mkstemp(tmp_path);
	if (fd < 0) {
		fail_errno("creating a temporary image in %s", dir);
		tmp_path[0] = 0;
		return -1;
	}
	close(fd);
	return 0;
}

static int
publish(void)
{
	int fd = open(tmp_path, O_RDWR | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0 || fchmod(fd, 0644) < 0) {
		fail_errno("syncing %s", tmp_path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (rename(tmp_path, opt.out) < 0)
		return fail_errno("renaming %s to %s", tmp_path, opt.out);
	tmp_path[0] = 0;
	return 0;
}

/* The empty directory where fc-agent mounts the tmpfs of a shared-disk
 * snapshot's overlay (fc_overlay=/.fcsnap, see fc-snap-create --disk). */
static int
overlay_mount_point(void)
{
	int fd = img_mkdirs(&ROOTFS_OVERLAY_DIR[1]);     /* no leading / */

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int
build(const char *mkfs, struct rootfs_result *res)
{
	struct tree_usage u;
	enum rootfs_init k = opt.init;
	uint64_t size = 0;

	if (make_temp_paths() < 0)
		return -1;
	rootfd = open(stage_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail_errno("%s", stage_path);
	if (fchmod(rootfd, 0755) < 0)
		return fail_errno("%s", stage_path);
	if ((opt.dir ? stage_dir() : stage_stdin()) < 0)
		return -1;
	if (k == ROOTFS_INIT_AUTO && (k = detect_init()) == ROOTFS_INIT_AUTO)
		return -1;
	if (copy_agent() < 0 || install_init(k) < 0 || overlay_mount_point() < 0)
		return -1;
	if (tree_usage(rootfd, "staging", &u) < 0 || choose_size(&u, &size) < 0)
		return -1;
	if (truncate(tmp_path, (off_t)size) < 0)
		return fail_errno("sizing %s", tmp_path);
	if (run_mkfs(mkfs, tmp_path, size, &u) < 0 || apply_fixups(mkfs, tmp_path) < 0 ||
	    publish() < 0)
		return -1;
	res->size = size;
	res->bytes = u.bytes;
	res->files = u.inodes;
	res->init = k;
	return 0;
}

static void
cleanup(void)
{
	if (rootfd >= 0)
		close(rootfd);
	rootfd = -1;
	if (tmp_path[0])
		unlink(tmp_path);
	if (stage_path[0])
		rm_rf(stage_path);
	tmp_path[0] = stage_path[0] = 0;
	free_fixups();
}

int
rootfs_build(const struct rootfs_opts *o, const char *mkfs, struct rootfs_result *res)
{
	char msg[1024];

	opt = *o;
	set_signals(on_signal);
	if (build(mkfs, res) < 0) {
		snprintf(msg, sizeof msg, "%s", errmsg());
		cleanup();
		return fail("%s", msg);
	}
	cleanup();
	return 0;
}
