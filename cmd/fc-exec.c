/* fc-exec: run a command inside a VM -- one that fc-snap-restore started
 * (-v ID), or a throw-away one restored from a snapshot (-s NAME) -- with
 * stdin, stdout, stderr and the exit status passed through.  See
 * man/fc-exec.1.
 *
 * One poll loop moves bytes between our stdio and the agent connection
 * through bounded buffers: stdin is read only while the agent's window
 * (agent.h) has room, agent output is read only while our output buffer
 * for that stream can take the next frame, so a slow reader of our stdout
 * throttles the guest and nothing grows without bound.  Pipes among our
 * stdio are reopened through /proc/self/fd/N with O_NONBLOCK (a private
 * open file description: the caller's stays blocking), sockets are used
 * with MSG_DONTWAIT, terminals and files as they are.
 *
 * Throw-away VMs and SIGKILL.  Before restoring, fc-exec forks a reaper
 * (its own session, named fc-exec-reaper) that holds the read end of a
 * pipe whose write end only fc-exec holds.  When the pipe reaches EOF --
 * fc-exec finished, failed, was interrupted, or was killed with SIGKILL --
 * the reaper kills the VM's firecracker and removes its run dir, unless
 * fc-exec wrote 'K' (--keep) first.  fc-exec waits for the reaper on every
 * path it controls, so when it exits the VM is gone; when it is killed,
 * the VM follows within milliseconds.  The firecracker pid comes from
 * run/<id>/vm.json; if fc-exec died between the spawn and recording the
 * pid, the reaper finds the process by its `--api-sock <run dir>/api.sock`
 * argument. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "agent.h"
#include "json.h"
#include "meta.h"
#include "restore.h"
#include "store.h"
#include "util.h"
#include "vm.h"
#include "vmm.h"

#define EX_FAIL         125
#define EX_TIMEOUT      124
#define MAX_ENV         256
#define DEF_CONNECT_MS  (60 * 1000)
#define DEF_AGENT_MS    (30 * 1000)
#define DEF_RESTORE_MS  (120 * 1000)
#define DEF_MAX_OUTPUT  (16ull << 20)
#define ABORT_WINDOW_NS (2000000000LL)  /* a second signal within 2 s aborts */

#define RX_CAP   (AGENT_MAX_PAYLOAD + AGENT_HDR_LEN)
#define OUT_CAP  AGENT_MAX_PAYLOAD
#define TX_CAP   (256u * 1024 + 4096)
#define TX_RESV  64                     /* room kept for SIGNAL / STDIN_EOF */
#define IN_CHUNK (64u * 1024)

struct opts {
	const char *vm_id, *snap, *firecracker, *cwd, *code, *remote;
	char **cmd;
	int ncmd;
	char *env[MAX_ENV + 1];
	int nenv;
	long long timeout_ms, connect_ms, agent_ms, restore_ms;
	unsigned long long max_output;
	int keep, json, timings;
};

/* Timestamps (ns); 0 = did not happen. */
struct times {
	int64_t start, connect0, connected, hello, started, exited, flushed, teardown0,
	    teardown, end;
};

static struct opts o;
static struct times T;
static struct restore R;
static int throwaway;                   /* a VM we restored and own */
static char vm_id[VM_ID_MAX + 1];
static char run_err[1024];              /* fc-exec's own failure, for --json */

/* ---- usage ---- */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: fc-exec [options] -v ID [-- CMD [ARG...]]\n"
"       fc-exec [options] -s SNAPSHOT [-- CMD [ARG...]]\n"
"Run CMD in a VM that fc-snap-restore started (-v), or in a throw-away VM\n"
"restored from SNAPSHOT and destroyed afterwards (-s).  stdin, stdout and\n"
"stderr pass through; the exit status is CMD's.  Without CMD the snapshot's\n"
"run command (recorded by fc-snap-create) runs with the code on stdin.\n"
"\n"
"  -v, --vm ID                 run in the running VM ID\n"
"  -s, --snapshot NAME         restore NAME into a throw-away VM\n"
"  -l, --lang NAME             the same as --snapshot\n"
"      --code CODE             send CODE as the command's stdin\n"
"  -e, --env K=V               set K in the command's environment (K alone:\n"
"                              unset it); repeatable\n"
"  -w, --workdir DIR           working directory in the guest (default /)\n"
"  -t, --timeout DURATION      kill the command's process group after this\n"
"                              long; exit status 124 (default: none)\n"
"      --keep                  leave the throw-away VM running; its id goes\n"
"                              to stderr\n"
"      --remote URL            with -s: pull SNAPSHOT from URL (s3://...) when\n"
"                              it is not in the store (default $FCSNAP_REMOTE)\n"
"      --json                  print one JSON object with the status, the\n"
"                              output and the times instead of streaming\n"
"      --max-output SIZE       --json: keep at most SIZE bytes of stdout and\n"
"                              of stderr (default 16M)\n"
"      --timings               print where the time went on stderr\n"
"      --connect-timeout DURATION  wait this long for the agent to accept\n"
"                              a connection (default 60s)\n"
"      --agent-timeout DURATION    wait this long for each agent answer\n"
"                              (default 30s)\n"
"      --restore-timeout DURATION  limit for each restore step (default 120s)\n"
"  -f, --firecracker FILE      firecracker binary for -s (default\n"
"                              $FCSNAP_FIRECRACKER, else firecracker in PATH,\n"
"                              else STORE/bin/firecracker)\n"
"  -h, --help                  this help\n"
"      --version               print the version\n"
"Exit status: CMD's; 128+N when it was killed by signal N; 124 timeout;\n"
"125 fc-exec failed; 126 CMD not executable; 127 CMD not found; 2 usage.\n");
}

enum { O_CODE = 256, O_KEEP, O_JSON, O_MAXOUT, O_TIMINGS, O_CONNECT, O_AGENT,
	O_RESTORE, O_VERSION, O_REMOTE };

static const struct option longopts[] = {
	{ "vm", required_argument, NULL, 'v' },
	{ "snapshot", required_argument, NULL, 's' },
	{ "lang", required_argument, NULL, 'l' },
	{ "code", required_argument, NULL, O_CODE },
	{ "env", required_argument, NULL, 'e' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "timeout", required_argument, NULL, 't' },
	{ "keep", no_argument, NULL, O_KEEP },
	{ "remote", required_argument, NULL, O_REMOTE },
	{ "json", no_argument, NULL, O_JSON },
	{ "max-output", required_argument, NULL, O_MAXOUT },
	{ "timings", no_argument, NULL, O_TIMINGS },
	{ "connect-timeout", required_argument, NULL, O_CONNECT },
	{ "agent-timeout", required_argument, NULL, O_AGENT },
	{ "restore-timeout", required_argument, NULL, O_RESTORE },
	{ "firecracker", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void
duration(const char *arg, const char *what, long long min, long long *out)
{
	if (parse_duration_ms(arg, out, what) < 0 || *out < min || *out > UINT32_MAX)
		usage_die("bad %s '%s': expected a duration like 30, 90s, 500ms, 5m",
		    what, arg);
}

static void
add_env(const char *kv)
{
	if (o.nenv >= MAX_ENV)
		usage_die("too many -e options (at most %d)", MAX_ENV);
	if (!*kv || *kv == '=')
		usage_die("bad -e '%s': expected K=V (or K to unset K)", kv);
	o.env[o.nenv++] = (char *)kv;
	o.env[o.nenv] = NULL;
}

static void
parse_args(int argc, char **argv)
{
	int c;

	o.connect_ms = DEF_CONNECT_MS;
	o.agent_ms = DEF_AGENT_MS;
	o.restore_ms = DEF_RESTORE_MS;
	o.max_output = DEF_MAX_OUTPUT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:v:s:l:e:w:t:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v': o.vm_id = optarg; break;
		case 's': case 'l':
			if (o.snap && strcmp(o.snap, optarg))
				usage_die("two snapshots given ('%s', '%s')", o.snap, optarg);
			o.snap = optarg;
			break;
		case O_CODE: o.code = optarg; break;
		case 'e': add_env(optarg); break;
		case 'w': o.cwd = optarg; break;
		case 't': duration(optarg, "--timeout", 1, &o.timeout_ms); break;
		case O_KEEP: o.keep = 1; break;
		case O_REMOTE: o.remote = optarg; break;
		case O_JSON: o.json = 1; break;
		case O_MAXOUT:
			if (parse_size(optarg, &o.max_output, "--max-output") < 0)
				usage_die("%s", errmsg());
			break;
		case O_TIMINGS: o.timings = 1; break;
		case O_CONNECT: duration(optarg, "--connect-timeout", 1, &o.connect_ms); break;
		case O_AGENT: duration(optarg, "--agent-timeout", 1, &o.agent_ms); break;
		case O_RESTORE: duration(optarg, "--restore-timeout", 1, &o.restore_ms); break;
		case 'f': o.firecracker = optarg; break;
		case 'h': usage(stdout); exit(0);
		case O_VERSION: printf("fc-exec (fcsnap) %s\n", FCSNAP_VERSION); exit(0);
		case ':': usage_die("option %s needs an argument", argv[optind - 1]);
		default: usage_die("unknown option %s", argv[optind - 1]);
		}
	}
	o.cmd = argv + optind;
	o.ncmd = argc - optind;
	if (!o.vm_id == !o.snap)
		usage_die("give exactly one of -v ID (a running VM) and -s SNAPSHOT");
	if (o.vm_id && vm_id_check(o.vm_id) < 0)
		usage_die("%s", errmsg());
	if (o.snap && name_check(o.snap, "snapshot name") < 0)
		usage_die("%s", errmsg());
	if (o.keep && !o.snap)
		usage_die("--keep only applies to -s (a throw-away VM)");
}

/* ---- signals ---- */

static volatile sig_atomic_t g_session;    /* signals are forwarded */
static volatile sig_atomic_t g_reaper_pid;
static volatile sig_atomic_t g_reaper_fd = -1;
static volatile int64_t g_last_sig;
static int sig_r = -1, sig_w = -1;

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Let the reaper remove a throw-away VM and wait for it (async-signal-safe). */
static void
reaper_finish(int keep)
{
	int fd = g_reaper_fd;
	pid_t pid = (pid_t)g_reaper_pid;
	char k = 'K';

	g_reaper_fd = -1;
	if (fd >= 0) {
		if (keep)
			(void)!write(fd, &k, 1);
		close(fd);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	g_reaper_pid = 0;
}

static _Noreturn void
abort_now(int sig)
{
	char msg[96];
	size_t l = 0;
	const char *p;

	vm_close(&R.vm);        /* a restore cut short: the reaper reaps the orphan */
	reaper_finish(0);
	for (p = "fc-exec: interrupted by signal "; *p; p++)
		msg[l++] = *p;
	if (sig >= 10)
		msg[l++] = (char)('0' + sig / 10);
	msg[l++] = (char)('0' + sig % 10);
	msg[l++] = '\n';
	(void)!write(2, msg, l);
	_exit(128 + sig);
}

static void
on_signal(int sig)
{
	int64_t t = mono_ns(), last = g_last_sig;
	unsigned char c = (unsigned char)sig;
	int e = errno;

	if (!g_session || (last && t - last < ABORT_WINDOW_NS))
		abort_now(sig);
	g_last_sig = t;
	(void)!write(sig_w, &c, 1);
	errno = e;
}

static void
install_signals(void)
{
	struct sigaction sa;
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		die_status(EX_FAIL, "pipe: %s", strerror(errno));
	sig_r = p[0];
	sig_w = p[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;     /* no SA_RESTART: blocking calls see EINTR */
	sigfillset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---- the reaper ---- */

/* A process whose argv is `... --api-sock SOCK ...`: the firecracker of a
 * run dir whose pid was not recorded yet. 0 if none. */
static pid_t
find_by_api_sock(const char *sock)
{
	char path[300], buf[4096];
	struct dirent *e;
	pid_t found = 0;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		ssize_t n;
		int fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read_full(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *p = buf; p < buf + n; p += strlen(p) + 1)
			if (!strcmp(p, "--api-sock") && p + strlen(p) + 1 < buf + n &&
			    !strcmp(p + strlen(p) + 1, sock))
				found = (pid_t)atol(e->d_name);
	}
	closedir(d);
	return found;
}

static void
reap_vm(const struct store *st, const char *id, pid_t owner)
{
	char run[PATH_MAX], nm[128], tmp[PATH_MAX];
	struct vm v;

	if (store_sub(st, "run", run, sizeof run) == 0 &&
	    fmt(nm, sizeof nm, ".tmp-%ld-%s", (long)owner, id) == 0 &&
	    path_join(tmp, sizeof tmp, run, nm) == 0)
		rm_rf(tmp);
	if (vm_load(st, id, &v) < 0 || v.owner_pid != owner)
		return;         /* gone, or not ours (an id someone else holds) */
	if (v.pid <= 0) {
		v.pid = find_by_api_sock(v.api_sock);
		if (v.pid > 0 && proc_start_time(v.pid, &v.pid_start, NULL) < 0)
			v.pid = 0;
	}
	v.owner_pid = 0;        /* never signal the owner (us, or dead) */
	vm_destroy(&v, 0);
}

static _Noreturn void
reaper_main(int rfd, const struct store *st, const char *id, pid_t owner)
{
	sigset_t none;
	char c;
	int keep = 0, nul;
	ssize_t r;

	setsid();
	prctl(PR_SET_NAME, "fc-exec-reaper");
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {         /* never hold the caller's pipes open */
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	for (int fd = 3; fd < 1024; fd++)
		if (fd != rfd)
			close(fd);
	for (;;) {
		r = read(rfd, &c, 1);
		if (r == 1 && c == 'K')
			keep = 1;
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	if (!keep)
		reap_vm(st, id, owner);
	_exit(0);
}

static int
reaper_start(const struct store *st, const char *id)
{
	sigset_t all, old;
	pid_t owner = getpid(), pid;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		reaper_main(p[0], st, id, owner);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return fail_errno("fork");
	}
	g_reaper_pid = pid;
	g_reaper_fd = p[1];
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* ---- stdio endpoints ---- */

enum { EP_CLOSED, EP_NB, EP_SOCK, EP_BLOCK };

struct ep {
	int fd, mode;
};

static void
ep_open(struct ep *e, int fd, int writing)
{
	char p[32];
	struct stat sb;
	int nfd;

	e->fd = fd;
	e->mode = EP_BLOCK;
	if (fstat(fd, &sb) < 0) {
		e->mode = EP_CLOSED;
		return;
	}
	if (S_ISSOCK(sb.st_mode)) {
		e->mode = EP_SOCK;
	} else if (S_ISFIFO(sb.st_mode)) {
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		nfd = open(p, (writing ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
		if (nfd >= 0) {
			e->fd = nfd;
			e->mode = EP_NB;
		}
	}
}

static ssize_t
ep_read(struct ep *e, void *b, size_t n)
{
	return e->mode == EP_SOCK ? recv(e->fd, b, n, MSG_DONTWAIT) : read(e->fd, b, n);
}

static ssize_t
ep_write(struct ep *e, const void *b, size_t n)
{
	if (e->mode == EP_SOCK)
		return send(e->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(e->fd, b, n);
}

/* ---- the exec session ---- */

struct obuf {
	unsigned char *b;
	size_t off, len;
	struct ep ep;
	int discard;            /* the reader went away: drop */
	/* --json */
	char *cap;
	size_t caplen, capsize;
	unsigned long long total;
	int truncated;
};

struct sess {
	struct agent_exec x;
	unsigned char *rx, *tx;
	size_t rxoff, rxlen, txoff, txlen;
	struct obuf out[2];
	struct ep in;
	int in_open;            /* still reading our stdin (or --code) */
	size_t codeoff;
	int sock_eof, peer_closed, blocked, sent_pipe;
	int64_t deadline;       /* host-side safety net (ns), 0 = none */
	int host_timeout;
};

static void
tx_frame(struct sess *s, int type, const void *p, size_t n)
{
	if (s->txoff + s->txlen + AGENT_HDR_LEN + n > TX_CAP) {
		memmove(s->tx, s->tx + s->txoff, s->txlen);
		s->txoff = 0;
	}
	if (s->txoff + s->txlen + AGENT_HDR_LEN + n > TX_CAP)
		return;         /* no room: only extra signals can be dropped */
	agent_put_hdr(s->tx + s->txoff + s->txlen, type, (uint32_t)n);
	if (n)
		memcpy(s->tx + s->txoff + s->txlen + AGENT_HDR_LEN, p, n);
	s->txlen += AGENT_HDR_LEN + n;
}

static void
send_signal(struct sess *s, int sig)
{
	unsigned char p[4];

	if (s->x.done || s->peer_closed)
		return;
	agent_put32(p, (uint32_t)sig);
	tx_frame(s, AGENT_T_SIGNAL, p, sizeof p);
}

/* Room for stdin data in tx, keeping TX_RESV for control frames. */
static size_t
stdin_room(struct sess *s)
{
	size_t room;

	if (s->txoff && s->txoff + s->txlen + AGENT_HDR_LEN + IN_CHUNK + TX_RESV > TX_CAP) {
		memmove(s->tx, s->tx + s->txoff, s->txlen);
		s->txoff = 0;
	}
	if (s->txoff + s->txlen + AGENT_HDR_LEN + TX_RESV >= TX_CAP)
		return 0;
	room = TX_CAP - s->txoff - s->txlen - AGENT_HDR_LEN - TX_RESV;
	if (room > IN_CHUNK)
		room = IN_CHUNK;
	if (room > s->x.credit)
		room = s->x.credit;
	return room;
}

static void
stdin_end(struct sess *s)
{
	s->in_open = 0;
	tx_frame(s, AGENT_T_STDIN_EOF, NULL, 0);
}

static void
stdin_read(struct sess *s)
{
	size_t room = stdin_room(s);
	unsigned char *h;
	ssize_t r;

	if (!room)
		return;
	h = s->tx + s->txoff + s->txlen;
	if (o.code) {
		size_t left = strlen(o.code) - s->codeoff;

		r = (ssize_t)(left < room ? left : room);
		memcpy(h + AGENT_HDR_LEN, o.code + s->codeoff, (size_t)r);
		s->codeoff += (size_t)r;
	} else {
		r = ep_read(&s->in, h + AGENT_HDR_LEN, room);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			return;
	}
	if (r <= 0) {           /* EOF, or an unreadable stdin: the end */
		stdin_end(s);
		return;
	}
	agent_put_hdr(h, AGENT_T_STDIN, (uint32_t)r);
	s->txlen += AGENT_HDR_LEN + (size_t)r;
	s->x.credit -= (size_t)r;
	if (o.code && !o.code[s->codeoff])
		stdin_end(s);
}

static int
sock_write(struct sess *s)
{
	ssize_t w = write(s->x.fd, s->tx + s->txoff, s->txlen);

	if (w < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
		/* the agent closed its side: the command ended; EXIT follows */
		s->peer_closed = 1;
		s->txlen = s->txoff = 0;
		s->in_open = 0;
		return 0;
	}
	if (w < 0)
		return fail_errno("writing to the agent");
	s->txoff += (size_t)w;
	s->txlen -= (size_t)w;
	if (!s->txlen)
		s->txoff = 0;
	return 0;
}

static void
capture(struct obuf *b, const unsigned char *p, size_t n)
{
	size_t take = n;

	b->total += n;
	if (b->caplen + take > o.max_output) {
		take = o.max_output > b->caplen ? (size_t)(o.max_output - b->caplen) : 0;
		b->truncated = 1;
	}
	if (!take)
		return;
	if (b->caplen + take > b->capsize) {
		size_t ns = b->capsize ? b->capsize : 65536;
		char *nb;

		while (ns < b->caplen + take)
			ns *= 2;
		if (ns > o.max_output)
			ns = (size_t)o.max_output;
		nb = realloc(b->cap, ns);
		if (!nb) {
			b->truncated = 1;
			return;
		}
		b->cap = nb;
		b->capsize = ns;
	}
	memcpy(b->cap + b->caplen, p, take);
	b->caplen += take;
}

/* Take an output frame: 1, or 0 when there is no room yet. */
static int
out_take(struct obuf *b, const unsigned char *p, size_t n)
{
	if (o.json) {
		capture(b, p, n);
		return 1;
	}
	if (b->discard)
		return 1;
	if (b->off + b->len + n > OUT_CAP) {
		memmove(b->b, b->b + b->off, b->len);
		b->off = 0;
	}
	if (b->len + n > OUT_CAP)
		return 0;
	memcpy(b->b + b->off + b->len, p, n);
	b->len += n;
	return 1;
}

static int
frame(struct sess *s, int type, const unsigned char *p, size_t n)
{
	char msg[256];

	switch (type) {
	case AGENT_T_STDOUT:
	case AGENT_T_STDERR:
		return out_take(&s->out[type == AGENT_T_STDERR], p, n);
	case AGENT_T_WINDOW:
		if (n < 4)
			return fail("agent: malformed window frame");
		s->x.credit += agent_get32(p);
		return 1;
	case AGENT_T_EXIT:
		if (n < 5 || p[0] > AGENT_EXIT_TIMEOUT)
			return fail("agent: malformed exit frame");
		s->x.exit_kind = p[0];
		s->x.exit_code = (int)agent_get32(p + 1);
		s->x.done = 1;
		T.exited = now_ns();
		return 1;
	case AGENT_T_ERROR:
		snprintf(msg, sizeof msg, "%.*s", (int)(n > 200 ? 200 : n), (const char *)p);
		return fail("agent: %s", msg);
	default:
		return fail("agent: unexpected frame 0x%02x in an exec session", type);
	}
}

/* Handle the whole frames in rx. 0 or -1. */
static int
rx_drain(struct sess *s)
{
	const unsigned char *p;
	size_t n, used;
	int type, d, r;

	s->blocked = 0;
	while (!s->x.done) {
		d = agent_decode(s->rx + s->rxoff, s->rxlen, AGENT_MAX_PAYLOAD, &type, &p,
		    &n, &used);
		if (d < 0)
			return fail("agent: %s", errmsg());
		if (d == 0)
			break;
		r = frame(s, type, p, n);
		if (r < 0)
			return -1;
		if (r == 0) {
			s->blocked = 1;
			break;
		}
		s->rxoff += used;
		s->rxlen -= used;
	}
	if (!s->rxlen)
		s->rxoff = 0;
	if (s->sock_eof && !s->x.done && !s->blocked)
		return fail("agent: connection closed before the command's exit status "
		    "(did the VM stop?)");
	return 0;
}

static int
sock_read(struct sess *s)
{
	ssize_t r;

	if (s->rxoff && (s->rxlen < IN_CHUNK || s->rxoff + s->rxlen > RX_CAP / 2)) {
		memmove(s->rx, s->rx + s->rxoff, s->rxlen);
		s->rxoff = 0;
	}
	r = read(s->x.fd, s->rx + s->rxoff + s->rxlen, RX_CAP - s->rxoff - s->rxlen);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r < 0 && errno != ECONNRESET)
		return fail_errno("reading from the agent");
	if (r <= 0)
		s->sock_eof = 1;
	else
		s->rxlen += (size_t)r;
	return rx_drain(s);
}

static int
out_write(struct sess *s, int i)
{
	struct obuf *b = &s->out[i];
	ssize_t w = ep_write(&b->ep, b->b + b->off, b->len);

	if (w < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (w < 0 && errno == EPIPE) {
		/* our reader is gone: drop the rest; the command gets SIGPIPE
		 * as it would in a local pipeline */
		b->discard = 1;
		b->len = b->off = 0;
		if (i == 0 && !s->sent_pipe) {
			send_signal(s, SIGPIPE);
			s->sent_pipe = 1;
		}
		return rx_drain(s);
	}
	if (w < 0)
		return fail_errno("writing %s", i ? "stderr" : "stdout");
	b->off += (size_t)w;
	b->len -= (size_t)w;
	if (!b->len)
		b->off = 0;
	return s->blocked ? rx_drain(s) : 0;
}

static void
take_signals(struct sess *s)
{
	unsigned char c[16];
	ssize_t r;

	while ((r = read(sig_r, c, sizeof c)) > 0)
		for (ssize_t i = 0; i < r; i++)
			send_signal(s, c[i]);
}

enum { P_SOCK, P_IN, P_OUT, P_ERR, P_SIG, P_N };

static int
poll_ms(const struct sess *s)
{
	int64_t left;

	if (!s->deadline)
		return -1;
	left = (s->deadline - now_ns()) / 1000000 + 1;
	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static int
session_step(struct sess *s)
{
	struct pollfd pf[P_N];
	int want_in = s->in_open && !s->x.done && !s->peer_closed && stdin_room(s) > 0;

	pf[P_SOCK].fd = s->x.fd;
	pf[P_SOCK].events = (short)((!s->sock_eof && s->rxlen < RX_CAP &&
	    !(s->blocked && s->rxlen >= RX_CAP / 2) ? POLLIN : 0) | (s->txlen ? POLLOUT : 0));
	if (!pf[P_SOCK].events)         /* not even POLLHUP: it would spin */
		pf[P_SOCK].fd = -1;
	pf[P_IN].fd = want_in && !o.code ? s->in.fd : -1;
	pf[P_IN].events = POLLIN;
	pf[P_OUT].fd = s->out[0].len ? s->out[0].ep.fd : -1;
	pf[P_OUT].events = POLLOUT;
	pf[P_ERR].fd = s->out[1].len ? s->out[1].ep.fd : -1;
	pf[P_ERR].events = POLLOUT;
	pf[P_SIG].fd = sig_r;
	pf[P_SIG].events = POLLIN;
	if (want_in && o.code)
		stdin_read(s);
	if (poll(pf, P_N, o.code && want_in ? 0 : poll_ms(s)) < 0) {
		if (errno != EINTR)
			return fail_errno("poll");
		pf[P_SOCK].revents = pf[P_IN].revents = pf[P_OUT].revents = 0;
		pf[P_ERR].revents = pf[P_SIG].revents = 0;
	}
	if (s->deadline && now_ns() > s->deadline) {
		s->host_timeout = 1;
		return fail("the agent did not end the command within %lld s of its "
		    "timeout: giving up", (long long)((o.agent_ms + AGENT_KILL_GRACE_MS) / 1000));
	}
	if (pf[P_SIG].revents)
		take_signals(s);
	if (pf[P_IN].revents)
		stdin_read(s);
	if ((pf[P_SOCK].revents & POLLOUT) && sock_write(s) < 0)
		return -1;
	if ((pf[P_SOCK].revents & (POLLIN | POLLHUP | POLLERR)) && sock_read(s) < 0)
		return -1;
	if (pf[P_OUT].revents && s->out[0].len && out_write(s, 0) < 0)
		return -1;
	if (pf[P_ERR].revents && s->out[1].len && out_write(s, 1) < 0)
		return -1;
	return 0;
}

static int
session_init(struct sess *s)
{
	s->rx = malloc(RX_CAP);
	s->tx = malloc(TX_CAP);
	if (!s->rx || !s->tx)
		return fail_errno("exec");
	if (!o.json) {
		for (int i = 0; i < 2; i++) {
			s->out[i].b = malloc(OUT_CAP);
			if (!s->out[i].b)
				return fail_errno("exec");
			ep_open(&s->out[i].ep, 1 + i, 1);
		}
	}
	if (!o.code)
		ep_open(&s->in, 0, 0);
	s->in_open = o.code || s->in.mode != EP_CLOSED;
	if (!s->in_open)
		tx_frame(s, AGENT_T_STDIN_EOF, NULL, 0);
	else if (o.code && !*o.code)
		stdin_end(s);
	fcntl(s->x.fd, F_SETFL, fcntl(s->x.fd, F_GETFL) | O_NONBLOCK);
	if (o.timeout_ms)
		s->deadline = now_ns() + (o.timeout_ms + AGENT_KILL_GRACE_MS + o.agent_ms) *
		    1000000LL;
	return 0;
}

/* Run the session until EXIT and all output is written. 0 or -1. */
static int
session_run(struct sess *s)
{
	g_session = 1;
	while (!s->x.done || s->out[0].len || s->out[1].len)
		if (session_step(s) < 0) {
			g_session = 0;
			return -1;
		}
	g_session = 0;
	T.flushed = now_ns();
	return 0;
}

static void
session_free(struct sess *s)
{
	agent_exec_close(&s->x);
	free(s->rx);
	free(s->tx);
	for (int i = 0; i < 2; i++) {
		free(s->out[i].b);
		free(s->out[i].cap);
		if (s->out[i].ep.mode == EP_NB)
			close(s->out[i].ep.fd);
	}
	if (s->in.mode == EP_NB)
		close(s->in.fd);
}

/* ---- the VM ---- */

/* Prepare the VM: find it (-v) or restore it (-s).  m gets the meta.json
 * whose run command applies (the run dir's, or the snapshot's). */
static int
prepare_vm(char *vsock, size_t n, uint32_t *port, struct meta *m)
{
	struct restore_opts ro = { 0 };
	struct vm v;

	if (o.vm_id) {
		if (store_init(&R.st) < 0 || vm_load(&R.st, o.vm_id, &v) < 0)
			return -1;
		if (!vm_alive(&v))
			return fail("VM %s is not running (see fc-ps; remove it with fc-kill %s)",
			    o.vm_id, o.vm_id);
		snprintf(vm_id, sizeof vm_id, "%s", v.id);
		*port = v.agent_port ? v.agent_port : AGENT_DEFAULT_PORT;
		if (!o.ncmd && meta_read(v.dir, m) < 0)
			return fail("VM %s: %s", v.id, errmsg());
		return fmt(vsock, n, "%s", v.vsock);
	}
	ro.name = o.snap;
	ro.firecracker = o.firecracker;
	ro.remote = o.remote;
	ro.timeout_ms = o.restore_ms;
	ro.no_hello = 1;        /* the hello goes on our exec connection */
	if (restore_check(&R, &ro) < 0)
		return -1;
	if (!o.ncmd && !R.m.nrun_cmd)
		return fail("snapshot %s has no run command: give the command after --, "
		    "or create the snapshot with --run-command", o.snap);
	if (vm_id_new(vm_id, sizeof vm_id) < 0 || reaper_start(&R.st, vm_id) < 0)
		return -1;
	throwaway = 1;
	ro.id = vm_id;
	if (restore_start(&R, &ro) < 0)
		return -1;
	restore_done(&R);
	*port = R.m.agent_port ? R.m.agent_port : AGENT_DEFAULT_PORT;
	return fmt(vsock, n, "%s", R.vm.vsock);
}

static int
connect_agent(const char *vsock, uint32_t port)
{
	char path[108];
	int fd, dfd;

	T.connect0 = now_ns();
	if (unix_path_fit(vsock, path, sizeof path, &dfd) < 0)
		return -1;
	fd = agent_connect(path, port, (int)o.connect_ms);
	if (dfd >= 0)
		close(dfd);
	if (fd < 0)
		return fail("VM %s: %s", vm_id, errmsg());
	T.connected = now_ns();
	if (throwaway && agent_hello(fd, NULL, (int)o.agent_ms) < 0) {
		close(fd);
		return fail("VM %s: agent hello: %s", vm_id, errmsg());
	}
	T.hello = now_ns();
	return fd;
}

/* Destroy a throw-away VM (or hand it over with --keep). */
static void
teardown(void)
{
	if (!throwaway)
		return;
	T.teardown0 = now_ns();
	if (!o.keep && R.vmm.pid > 0) {
		/* the hot path: firecracker is our child; the reaper is for
		 * the paths where we cannot do this ourselves */
		kill(R.vmm.pid, SIGKILL);
		while (waitpid(R.vmm.pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (rm_rf(R.vm.dir) < 0)
			warnmsg("%s", errmsg());
		R.vmm.pid = 0;
		reaper_finish(1);       /* nothing left for it to do */
	} else {
		reaper_finish(o.keep);
	}
	if (o.keep)
		fprintf(stderr, "fc-exec: VM %s kept running\n", vm_id);
	R.vmm.pid = 0;
	throwaway = 0;
	T.teardown = now_ns();
}

/* ---- output ---- */

static double
ms(int64_t a, int64_t b)
{
	return a && b > a ? (double)(b - a) / 1e6 : 0;
}

static double
restore_total(void)
{
	return ms(R.T.start, R.T.load);
}

static double
own_ms(void)
{
	double waited = ms(R.T.spawn, R.T.ready) + ms(R.T.ready, R.T.load) +
	    ms(T.connect0, T.hello) + ms(T.hello, T.started) + ms(T.started, T.exited);

	return ms(T.start, T.end) - waited;
}

static void
print_timings(void)
{
	fprintf(stderr, "fc-exec: timings (ms): check %.2f copy %.2f spawn %.2f "
	    "socket %.2f load %.2f connect %.2f hello %.2f start %.2f run %.2f "
	    "flush %.2f teardown %.2f total %.2f own %.2f\n",
	    ms(R.T.start, R.T.check), ms(R.T.check, R.T.copy), ms(R.T.copy, R.T.spawn),
	    ms(R.T.spawn, R.T.ready), ms(R.T.ready, R.T.load), ms(T.connect0, T.connected),
	    ms(T.connected, T.hello), ms(T.hello, T.started), ms(T.started, T.exited),
	    ms(T.exited, T.flushed), ms(T.teardown0, T.teardown), ms(T.start, T.end),
	    own_ms());
}

/* Bytes to valid UTF-8: each byte that is not part of a well-formed
 * sequence becomes U+0080..U+00FF (its value as a code point), so the
 * JSON string is always valid. Returns a malloc'd copy, *out_n its length. */
static char *
to_utf8(const char *s, size_t n, size_t *out_n)
{
	const unsigned char *p = (const unsigned char *)s;
	char *d = malloc(n * 2 + 1);
	size_t i = 0, j = 0;

	if (!d)
		return NULL;
	while (i < n) {
		unsigned c = p[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 :
		    (c >> 3) == 30 ? 4 : 0;
		int ok = len > 0 && i + len <= n;

		for (size_t k = 1; ok && k < len; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (ok && len == 2)
			ok = c >= 0xc2;
		if (ok && len == 3)
			ok = !(c == 0xe0 && p[i + 1] < 0xa0) && !(c == 0xed && p[i + 1] >= 0xa0);
		if (ok && len == 4)
			ok = c <= 0xf4 && !(c == 0xf0 && p[i + 1] < 0x90) &&
			    !(c == 0xf4 && p[i + 1] >= 0x90);
		if (ok) {
			memcpy(d + j, p + i, len);
			i += len;
			j += len;
			continue;
		}
		d[j++] = (char)(0xc0 | (c >> 6));
		d[j++] = (char)(0x80 | (c & 0x3f));
		i++;
	}
	d[j] = 0;
	*out_n = j;
	return d;
}

static void
jw_bytes(struct jw *w, const char *k, const struct obuf *b)
{
	size_t n = 0;
	char *u = to_utf8(b->cap ? b->cap : "", b->caplen, &n);

	jw_key(w, k);
	if (!u) {
		jw_null(w);
		return;
	}
	jw_strn(w, u, n);
	free(u);
}

static void
print_json(const struct sess *s, const char *status, int code)
{
	unsigned char r[16];
	char trace[33];
	struct jw w;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		memset(r, 0, sizeof r);
	for (int i = 0; i < 16; i++)
		snprintf(trace + 2 * i, 3, "%02x", r[i]);
	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "trace_id", trace);
	jw_kstr(&w, "status", status);
	jw_kint(&w, "exit_code", code);
	if (s && s->x.done && s->x.exit_kind != AGENT_EXIT_CODE)
		jw_kint(&w, "signal", s->x.exit_code);
	if (run_err[0])
		jw_kstr(&w, "error", run_err);
	jw_bytes(&w, "stdout", &s->out[0]);
	jw_bytes(&w, "stderr", &s->out[1]);
	jw_kbool(&w, "truncated", s->out[0].truncated || s->out[1].truncated);
	jw_key(&w, "stdout_bytes"); jw_uint(&w, s->out[0].total);
	jw_key(&w, "stderr_bytes"); jw_uint(&w, s->out[1].total);
	jw_kstr(&w, "vm", vm_id);
	if (o.snap)
		jw_kstr(&w, "snapshot", o.snap);
	jw_key(&w, "restore_ms"); jw_double(&w, restore_total());
	jw_key(&w, "connect_ms"); jw_double(&w, ms(T.connect0, T.hello));
	jw_key(&w, "execution_ms"); jw_double(&w, ms(T.started, T.exited));
	jw_key(&w, "executionTime"); jw_double(&w, ms(T.started, T.exited));
	jw_key(&w, "teardown_ms"); jw_double(&w, ms(T.teardown0, T.teardown));
	jw_key(&w, "total_ms"); jw_double(&w, ms(T.start, T.end));
	jw_key(&w, "own_ms"); jw_double(&w, own_ms());
	jw_obj_end(&w);
	if (!jw_text(&w)) {
		fprintf(stderr, "fc-exec: out of memory\n");
		return;
	}
	printf("%s\n", jw_text(&w));
	fflush(stdout);
	jw_free(&w);
}

/* ---- main ---- */

/* A closed stdin/stdout/stderr would be taken by our next open(): give it
 * /dev/null (stdin then reads as empty). */
static void
std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			_exit(EX_FAIL);
}

static int
fail_code(const struct sess *s)
{
	if (s->x.fail_kind == AGENT_FAIL_NOTFOUND)
		return 127;
	if (s->x.fail_kind == AGENT_FAIL_NOEXEC)
		return 126;
	return EX_FAIL;
}

/* Everything up to the exit status; -1 with the message set and *code. */
static int
run(struct sess *s, int *code)
{
	struct agent_exec_req req = { 0 };
	struct meta m;
	const struct meta *mm = &m;
	char vsock[PATH_MAX], *runcmd[META_MAX_ARGS + 1];
	uint32_t port = AGENT_DEFAULT_PORT;
	int fd, rc = -1;

	meta_init(&m);
	*code = EX_FAIL;
	if (prepare_vm(vsock, sizeof vsock, &port, &m) < 0)
		goto out;
	if (throwaway)
		mm = &R.m;
	for (int i = 0; i <= mm->nrun_cmd && i <= META_MAX_ARGS; i++)
		runcmd[i] = i < mm->nrun_cmd ? mm->run_cmd[i] : NULL;
	if (!o.ncmd && !mm->nrun_cmd) {
		fail("VM %s has no run command (its snapshot was made without "
		    "--run-command): give the command after --", vm_id);
		goto out;
	}
	fd = connect_agent(vsock, port);
	if (fd < 0)
		goto out;
	req.argv = o.ncmd ? o.cmd : runcmd;
	req.env = o.nenv ? o.env : NULL;
	req.cwd = o.cwd;
	req.timeout_ms = (uint32_t)o.timeout_ms;
	if (agent_exec_start(&s->x, fd, &req, (int)o.agent_ms) < 0) {
		*code = fail_code(s);
		goto out;
	}
	T.started = now_ns();
	if (session_init(s) < 0 || session_run(s) < 0) {
		if (s->host_timeout)
			*code = EX_TIMEOUT;
		goto out;
	}
	*code = agent_exec_status(&s->x);
	rc = 0;
out:
	meta_free(&m);
	return rc;
}

int
main(int argc, char **argv)
{
	static struct sess s;
	const char *status;
	int code, ok;

	std_fds();
	prog_init(argv);
	T.start = now_ns();
	parse_args(argc, argv);
	restore_init(&R);
	s.x.fd = -1;
	install_signals();
	ok = run(&s, &code) == 0;
	if (!ok)
		snprintf(run_err, sizeof run_err, "%s", errmsg());
	agent_exec_close(&s.x);        /* the agent kills a command still running */
	teardown();
	T.end = now_ns();
	if (!ok)
		fprintf(stderr, "fc-exec: %s\n", run_err);
	if (o.json) {
		status = (ok && code == 0) ? "success" :
		    (code == EX_TIMEOUT && (!ok || s.x.exit_kind == AGENT_EXIT_TIMEOUT)) ?
		    "timeout" : "error";
		print_json(&s, status, code);
	}
	if (o.timings)
		print_timings();
	session_free(&s);
	restore_free(&R);
	return code;
}
