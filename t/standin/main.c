/* fc-standin: a strict stand-in for the `firecracker` binary, for tests.
 *
 *   fc-standin --api-sock PATH [--id ID] [other firecracker flags]
 *   fc-standin --version | --snapshot-version | --describe-snapshot FILE
 *
 * It serves Firecracker's API (shared/reference/firecracker-api-v1.16.1.yaml,
 * v1.7.0 for FCSTANDIN_VERSION 1.7.x and older) on the Unix socket, with
 * Firecracker's status codes and {"fault_message": ...} bodies, and keeps
 * its state machine: a request real Firecracker refuses is refused the same
 * way.  As FCSTANDIN_VERSION 1.3.x and older it words the faults that
 * release words differently as real v1.3.3 does (api.c v13()).  Paths (api socket, kernel, drives, uds_path, snapshot files) are
 * resolved against the working directory, like Firecracker.  Like
 * Firecracker it leaves its socket files behind when it exits, refuses to
 * start when the API socket exists, and exits after a failed snapshot load
 * (refusing connections from the moment it answers it).
 *
 * Flags accepted like firecracker: --api-sock P, --id ID, --log-path P,
 * --level L, --show-level, --show-log-origin, --module M, --metrics-path P,
 * --no-seccomp, --seccomp-filter F, --boot-timer, --http-api-max-payload-size
 * N, --mmds-size-limit N, --metadata F, --start-time-us N,
 * --start-time-cpu-us N, --parent-cpu-time-us N, --enable-pci.  Refused:
 * --config-file and --no-api (not supported), anything unknown (exit 153,
 * like firecracker's argument errors).
 *
 * The guest.  On InstanceStart (or when a loaded snapshot is resumed) the
 * stand-in prints a few fake kernel lines on stdout (the serial console)
 * and runs
 *     $FCSTANDIN_AGENT [words of $FCSTANDIN_AGENT_ARGS] --unix-dir GDIR
 * GDIR is a private short temp dir (mkdtemp under $TMPDIR or /tmp) removed
 * at exit.  The agent listens on GDIR/<port> (AF_UNIX stream) for each vsock
 * port it serves; a host "CONNECT <port>\n" on uds_path is bridged there and
 * answered "OK <n>\n" (n from 1073741824 up), or closed without a reply
 * when nothing listens.  The agent runs in its own process group with
 * PR_SET_PDEATHSIG(SIGKILL), stdin /dev/null, stdout and stderr on our
 * stdout, and FCSTANDIN_CMDLINE set to the guest's kernel command line
 * (boot_args; after a load, those recorded in the snapshot).  PATCH /vm Paused stops its group (SIGSTOP), Resumed continues
 * it; /snapshot/create closes every bridged connection and, like a load,
 * queues a vsock transport reset the guest processes after it resumes
 * (see vsock.c);
 * SendCtrlAltDel sends it SIGTERM.  When the agent exits, the "VM" is gone
 * and the stand-in exits 0.  Without FCSTANDIN_AGENT no guest runs and
 * every CONNECT is closed.
 *
 * Snapshots: see snap.c for the file formats.  The snapshot data format
 * version follows the Firecracker version (1.7 -> v1.0.0, 1.8/1.9 -> v2.0.0,
 * 1.10 -> v3.0.0, 1.11 -> v4.0.0, 1.12 -> v6.0.0, 1.13 -> v6.1.0,
 * 1.14 -> v7.0.0, 1.15 -> v7.1.0, 1.16 -> v8.0.0); a load needs the same
 * major and a minor no newer than ours.
 *
 * Environment (the knobs):
 *   FCSTANDIN_VERSION    Firecracker version to be (default 1.16.1)
 *   FCSTANDIN_AGENT      the guest program (see above); unset: no guest
 *   FCSTANDIN_AGENT_ARGS extra words for it (split on blanks)
 *   FCSTANDIN_DELAY_MS   hold every API request this long before handling it
 *   FCSTANDIN_BOOT_MS    delay between InstanceStart (or resume after a
 *                        load) and the guest starting
 *   FCSTANDIN_VSOCK_RESET_MS  delay between the resume after a snapshot
 *                        create or load and the guest processing the vsock
 *                        transport reset Firecracker queued for it, which
 *                        closes every vsock connection then open (vsock.c;
 *                        default: random, 0 to 300 ms, each time)
 *   FCSTANDIN_FAIL       comma-separated calls to fail with 400 and
 *                        "fc-standin: injected failure": "METHOD /path"
 *                        (e.g. "PUT /snapshot/create") or an action_type
 *                        ("InstanceStart", "SendCtrlAltDel", "FlushMetrics")
 *   FCSTANDIN_DIE        _exit(1) at a point: start (right after the API
 *                        socket is bound), InstanceStart, pause,
 *                        snapshot-create (state file written, memory file
 *                        half written), snapshot-load
 *   FCSTANDIN_DIRTY_PCT  share of non-zero 4 KiB memory pages (default 10)
 *   FCSTANDIN_SEED       seed of the memory contents (default 1)
 *   FCSTANDIN_VERBOSE    log each request and reply on stderr
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util.h"

#define EXIT_ARGS 153   /* firecracker's FcExitCode::ArgParsing */
#define MAXFDS 1024

struct standin S;

void
vlog(const char *fmt_, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (!S.verbose && S.logger_fd < 0)
		return;
	va_start(ap, fmt_);
	vsnprintf(buf, sizeof buf - 1, fmt_, ap);
	va_end(ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	if (S.verbose && write_all(2, "fc-standin: ", 12) == 0)
		(void)!write_all(2, buf, (size_t)n);
	if (S.logger_fd >= 0)
		(void)!write(S.logger_fd, buf, (size_t)n);
}

int
standin_fail_injected(const char *what)
{
	const char *p = S.fail_list, *e;
	size_t n = strlen(what);

	if (!p || !*what)
		return 0;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		while (e > p && e[-1] == ' ')
			e--;
		if ((size_t)(e - p) == n && !memcmp(p, what, n))
			return 1;
		p = e;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

static void
cleanup(void)
{
	guest_kill();
	guest_dir_remove();
	vsock_unbind();
	server_close_all();
}

void
standin_die_point(const char *point)
{
	if (!S.die_at || strcmp(S.die_at, point))
		return;
	/* a crash: no reply, sockets left behind; the guest dies with us */
	guest_kill();
	guest_dir_remove();
	(void)!write(2, "fc-standin: FCSTANDIN_DIE: dying at ", 36);
	(void)!write(2, point, strlen(point));
	(void)!write(2, "\n", 1);
	_exit(1);
}

void
standin_exit(int code)
{
	cleanup();
	exit(code);
}

static void
usage(void)
{
	printf("Firecracker v%s (fc-standin, a test stand-in)\n\n"
		"Usage: fc-standin --api-sock PATH [--id ID] [--log-path P [--level L] "
		"[--show-level] [--show-log-origin] [--module M]] [--metrics-path P] "
		"[--no-seccomp | --seccomp-filter F] [--boot-timer] [--http-api-max-payload-size N] "
		"[--mmds-size-limit N] [--metadata F] [--start-time-us N] [--start-time-cpu-us N] "
		"[--parent-cpu-time-us N] [--enable-pci]\n"
		"       fc-standin --version | --snapshot-version | --describe-snapshot FILE\n"
		"See the comment at the top of t/standin/main.c for the environment knobs.\n",
		S.version);
}

static _Noreturn void
arg_error(const char *fmt_, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void
arg_error(const char *fmt_, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt_);
	vsnprintf(msg, sizeof msg, fmt_, ap);
	va_end(ap);
	fprintf(stderr, "Arguments parsing error: %s\n\nFor more information try --help.\n", msg);
	exit(EXIT_ARGS);
}

static long long
env_num(const char *name, long long def, long long max)
{
	const char *v = getenv(name);
	long long x;

	if (!v || !*v)
		return def;
	if (parse_long(v, 0, max, &x, name) < 0)
		die("%s", errmsg());
	return x;
}

static void
setup_env(void)
{
	const char *v = getenv("FCSTANDIN_VERSION");

	if (!v || !*v)
		v = "1.16.1";
	if (*v == 'v')
		v++;
	if (sscanf(v, "%d.%d.%d", &S.vmaj, &S.vmin, &S.vpatch) != 3 || S.vmaj < 0 || S.vmin < 0)
		die("bad FCSTANDIN_VERSION '%s': want MAJOR.MINOR.PATCH like 1.16.1", v);
	snprintf(S.version, sizeof S.version, "%d.%d.%d", S.vmaj, S.vmin, S.vpatch);
	snprintf(S.snapver, sizeof S.snapver, "%s", snap_version_for(S.vmaj, S.vmin));
	S.delay_ms = env_num("FCSTANDIN_DELAY_MS", 0, 3600000);
	S.boot_ms = env_num("FCSTANDIN_BOOT_MS", 0, 3600000);
	S.reset_ms = env_num("FCSTANDIN_VSOCK_RESET_MS", -1, 3600000);
	S.dirty_pct = env_num("FCSTANDIN_DIRTY_PCT", 10, 100);
	S.seed = (uint64_t)env_num("FCSTANDIN_SEED", 1, INT64_MAX);
	S.fail_list = getenv("FCSTANDIN_FAIL");
	S.die_at = getenv("FCSTANDIN_DIE");
	S.verbose = getenv("FCSTANDIN_VERBOSE") && *getenv("FCSTANDIN_VERBOSE");
	S.max_payload = 51200;
	S.logger_fd = -1;
	snprintf(S.id, sizeof S.id, "anonymous-instance");
	S.cfg.vcpus = 1;
	S.cfg.mem_mib = 128;
	snprintf(S.cfg.huge, sizeof S.cfg.huge, "None");
}

struct opt {
	const char *name;
	int takes_value;
	const char *value;
	int seen;
};

static struct opt opts[] = {
	{ "api-sock", 1, NULL, 0 }, { "id", 1, NULL, 0 }, { "seccomp-filter", 1, NULL, 0 },
	{ "no-seccomp", 0, NULL, 0 }, { "start-time-us", 1, NULL, 0 },
	{ "start-time-cpu-us", 1, NULL, 0 }, { "parent-cpu-time-us", 1, NULL, 0 },
	{ "config-file", 1, NULL, 0 }, { "metadata", 1, NULL, 0 }, { "no-api", 0, NULL, 0 },
	{ "log-path", 1, NULL, 0 }, { "level", 1, NULL, 0 }, { "module", 1, NULL, 0 },
	{ "show-level", 0, NULL, 0 }, { "show-log-origin", 0, NULL, 0 },
	{ "metrics-path", 1, NULL, 0 }, { "boot-timer", 0, NULL, 0 },
	{ "version", 0, NULL, 0 }, { "snapshot-version", 0, NULL, 0 },
	{ "describe-snapshot", 1, NULL, 0 }, { "http-api-max-payload-size", 1, NULL, 0 },
	{ "mmds-size-limit", 1, NULL, 0 }, { "enable-pci", 0, NULL, 0 }, { "help", 0, NULL, 0 },
};

static struct opt *
opt(const char *name)
{
	size_t k;

	for (k = 0; k < ARRAY_LEN(opts); k++)
		if (!strcmp(opts[k].name, name))
			return &opts[k];
	return NULL;
}

static void
parse_args(int argc, char **argv)
{
	struct opt *o;
	int i;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) || !(o = opt(argv[i] + 2)))
			arg_error("Found argument '%s' which wasn't expected, or isn't valid in this "
				"context.", argv[i]);
		if (o->seen)
			arg_error("The argument '%s' was provided more than once.", o->name);
		o->seen = 1;
		if (o->takes_value) {
			if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
				arg_error("The argument '%s' requires a value, but none was supplied",
					o->name);
			o->value = argv[++i];
		}
	}
	/* Before the logger rework (v1.6) --level, --show-level and
	 * --show-log-origin required --log-path; later releases log to stderr. */
	if (S.vmaj == 1 && S.vmin < 6 && (opt("level")->seen || opt("show-level")->seen ||
	    opt("show-log-origin")->seen) && !opt("log-path")->seen)
		arg_error("Argument 'log-path' required by another argument.");
	if (opt("no-seccomp")->seen && opt("seccomp-filter")->seen)
		arg_error("Argument 'no-seccomp' cannot be used together with 'seccomp-filter'.");
}

static int
numeric(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void
check_values(void)
{
	static const char *nums[] = { "start-time-us", "start-time-cpu-us", "parent-cpu-time-us",
		"http-api-max-payload-size", "mmds-size-limit" };
	static const char *levels[] = { "error", "warning", "warn", "info", "debug", "trace", "off" };
	const char *v, *p;
	size_t k;
	int ok = 0;
	long long x;

	for (k = 0; k < ARRAY_LEN(nums); k++)
		if ((v = opt(nums[k])->value) && !numeric(v))
			die("'%s' parameter expected to be of 'u64' type: '%s'", nums[k], v);
	if ((v = opt("http-api-max-payload-size")->value)) {
		if (parse_long(v, 1, INT64_MAX / 4, &x, "http-api-max-payload-size") < 0)
			die("%s", errmsg());
		S.max_payload = x;
	}
	if ((v = opt("level")->value)) {
		for (k = 0; k < ARRAY_LEN(levels); k++)
			if (!strcasecmp(v, levels[k]))
				ok = 1;
		if (!ok) {
			fprintf(stderr, "Invalid value for logger level: %s.Possible values: [Error, "
				"Warning, Info, Debug]\n", v);
			exit(1);
		}
	}
	if ((v = opt("id")->value)) {
		if (!*v || strlen(v) > 64)
			die("Invalid instance ID: '%s'", v);
		for (p = v; *p; p++)
			if (!(*p == '-' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9')))
				die("Invalid instance ID: '%s'", v);
		snprintf(S.id, sizeof S.id, "%s", v);
	}
	if (opt("config-file")->seen || opt("no-api")->seen)
		die("--config-file and --no-api are not supported by the stand-in: configure "
			"through the API socket");
}

static int
open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);

	if (fd < 0) {
		fprintf(stderr, "Error: LoggerInitialization(...) could not open %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
	return fd;
}

static void
info_flags(void)
{
	char ver[32];
	const char *v;

	if (opt("help")->seen) {
		usage();
		exit(0);
	}
	if (opt("version")->seen) {
		printf("Firecracker v%s\n\nSupported snapshot data format versions: v%s\n", S.version,
			S.snapver);
		exit(0);
	}
	if (opt("snapshot-version")->seen) {
		printf("v%s\n", S.snapver);
		exit(0);
	}
	if ((v = opt("describe-snapshot")->value)) {
		if (snap_describe(v, ver, sizeof ver) < 0) {
			fprintf(stderr, "Error: PrintSnapshotDataFormat(%s)\n", errmsg());
			exit(1);
		}
		printf("v%s\n", ver);
		exit(0);
	}
}

static int
setup_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die("signalfd: %s", strerror(errno));
	return fd;
}

static void
on_signals(int sfd)
{
	struct signalfd_siginfo si;
	sigset_t set;

	while (read(sfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGCHLD) {
			guest_reap();
			continue;
		}
		/* like firecracker (no handler): die by the signal, after cleanup */
		vlog("signal %u: exiting", si.ssi_signo);
		cleanup();
		signal((int)si.ssi_signo, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, (int)si.ssi_signo);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise((int)si.ssi_signo);
		_exit(128 + (int)si.ssi_signo);
	}
}

static void
loop(int sfd)
{
	static struct pollfd p[MAXFDS];
	int64_t deadline, now;
	int n, ns, timeout;

	for (;;) {
		deadline = 0;
		p[0].fd = sfd;
		p[0].events = POLLIN;
		n = 1;
		ns = server_pollfds(p + n, MAXFDS - n, &deadline);
		n += ns;
		n += vsock_pollfds(p + n, MAXFDS - n);
		if (S.guest_boot_at && S.state == ST_RUNNING &&
		    (!deadline || S.guest_boot_at < deadline))
			deadline = S.guest_boot_at;
		if (S.exit_at && (!deadline || S.exit_at < deadline))
			deadline = S.exit_at;
		if (vsock_deadline() && (!deadline || vsock_deadline() < deadline))
			deadline = vsock_deadline();
		now = now_ms();
		timeout = -1;
		if (deadline)
			timeout = deadline <= now ? 0 : (int)(deadline - now);
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (p[0].revents)
			on_signals(sfd);
		server_events(p + 1, ns);
		vsock_events(p + 1 + ns, n - 1 - ns);
		now = now_ms();
		if (S.guest_boot_at && S.state == ST_RUNNING && now >= S.guest_boot_at)
			guest_start_now();
		vsock_timers(now);
		if (S.fatal && !server_busy())
			standin_exit(1);
		if (S.exit_at && now >= S.exit_at)
			standin_exit(S.exit_code);
	}
}

int
main(int argc, char **argv)
{
	const char *sock;
	int sfd;

	prog_init(argv);
	setup_env();
	parse_args(argc, argv);
	info_flags();
	check_values();
	if (opt("log-path")->value)
		S.logger_fd = open_log(opt("log-path")->value);
	sock = opt("api-sock")->value ? opt("api-sock")->value : "/run/firecracker.socket";
	vlog("Running Firecracker v%s", S.version);
	sfd = setup_signals();
	if (guest_dir_make() < 0)
		die("%s", errmsg());
	if (server_listen(sock) < 0) {
		guest_dir_remove();
		printf("RunWithApiError error: %s\n", errmsg());
		fflush(stdout);
		fprintf(stderr, "Error: RunWithApi(FailedToBindSocket(\"%s\"))\n", sock);
		return 1;
	}
	standin_die_point("start");
	loop(sfd);
	return 0;
}
