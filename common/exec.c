/* exec: see exec.h. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "json.h"
#include "meta.h"
#include "pump.h"
#include "reaper.h"
#include "restore.h"
#include "runreg.h"
#include "store.h"
#include "util.h"

#define ABORT_WINDOW_NS (2000000000LL)  /* a second signal within 2 s aborts */

/* Timestamps (ns); 0 = did not happen. */
struct times {
	int64_t start, connect0, connected, hello, started, exited, flushed, teardown0,
	    teardown, end;
};

static struct exec_opts o;
static struct times T;
static struct restore R;
static int throwaway;                   /* a VM we restored and own */
static char vm_id[VM_ID_MAX + 1];
static char run_err[1024];              /* fc-exec's own failure, for --json */
static struct pump sess;

/* ---- signals ---- */

static volatile sig_atomic_t g_session;    /* signals are forwarded */
static volatile int64_t g_last_sig;
static int sig_r = -1, sig_w = -1;

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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
		die_status(EXEC_FAIL, "pipe: %s", strerror(errno));
	sig_r = p[0];
	sig_w = p[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;     /* no SA_RESTART: blocking calls see EINTR */
	sigfillset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Run the pump with signals forwarded.  0 or -1. */
static int
session_run(struct pump *s)
{
	g_session = 1;
	if (pump_run(s) < 0) {
		g_session = 0;
		return -1;
	}
	g_session = 0;
	T.flushed = now_ns();
	return 0;
}

/* ---- the VM ---- */

/* Prepare the VM: find it (-v) or restore it (-s).  m gets the meta.json
 * whose run command applies (the run dir's, or the snapshot's). */
static struct vm V;             /* -v: the VM, watched while we connect */

static int
prepare_vm(char *vsock, size_t n, uint32_t *port, struct meta *m)
{
	struct restore_opts ro = { 0 };
	struct vm *v = &V;

	if (o.vm_id) {
		if (store_init(&R.st) < 0 || vm_load(&R.st, o.vm_id, v) < 0)
			return -1;
		if (!vm_alive(v))
			return fail("VM %s is not running (see fc-ps; remove it with fc-kill %s)",
			    o.vm_id, o.vm_id);
		if (fmt(vm_id, sizeof vm_id, "%s", v->id) < 0)
			return -1;
		*port = v->agent_port ? v->agent_port : AGENT_DEFAULT_PORT;
		if (!o.ncmd && meta_read(v->dir, m) < 0)
			return fail("VM %s: %s", v->id, errmsg());
		return fmt(vsock, n, "%s", v->vsock);
	}
	ro.name = o.snap;
	ro.firecracker = o.firecracker;
	ro.remote = o.remote;
	ro.timeout_ms = o.restore_ms;
	ro.lazy = o.lazy;
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
	fd = agent_connect_watch(path, port, (int)o.connect_ms,
	    throwaway ? restore_fc_gone : vm_gone, throwaway ? (void *)&R : (void *)&V);
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

/* Wait for our child pid (0: none). */
static void
reap(pid_t pid)
{
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

/* Destroy a throw-away VM (or hand it over with --keep).  The hot path
 * (firecracker is our child) waits for nothing that the user does not
 * need: firecracker is SIGKILLed (the guest runs no more), the run dir
 * goes, the reaper is told it has nothing to do; neither firecracker
 * (the kernel frees a VM's memory at its own pace) nor the reaper (it
 * exits on the 'done' byte and EOF) is waited for: they exit on their
 * own and init reaps them once we are gone.  Only when the run dir
 * cannot go yet (a file firecracker's last syscall made meanwhile) do
 * we wait for it and try again. */
static void
teardown(void)
{
	if (!throwaway)
		return;
	T.teardown0 = now_ns();
	if (!o.keep && R.vmm.pid > 0) {
		kill(R.vmm.pid, SIGKILL);
		if (rm_rf(R.vm.dir) < 0) {
			reap(R.vmm.pid);
			reap(R.pager);  /* it follows firecracker at once */
			if (rm_rf(R.vm.dir) < 0)
				warnmsg("%s", errmsg());
		}
		reaper_release(1);      /* nothing left for it to do */
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
	double waited = ms(R.T.copy, R.T.ready) + ms(R.T.ready, R.T.load) +
	    ms(T.connect0, T.hello) + ms(T.hello, T.started) + ms(T.started, T.exited);

	return ms(T.start, T.end) - waited;
}

void
exec_print_timings(void)
{
	fprintf(stderr, "fc-exec: timings (ms): check %.2f copy %.2f spawn %.2f "
	    "socket %.2f load %.2f connect %.2f hello %.2f start %.2f run %.2f "
	    "flush %.2f teardown %.2f total %.2f own %.2f\n",
	    ms(R.T.start, R.T.check), ms(R.T.spawn, R.T.copy), ms(R.T.check, R.T.spawn),
	    ms(R.T.copy, R.T.ready), ms(R.T.ready, R.T.load), ms(T.connect0, T.connected),
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
jw_bytes(struct jw *w, const char *k, const struct pump_obuf *b)
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
print_json(const struct pump *s, const char *status, int code)
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

/* ---- the run ---- */

static int
fail_code(const struct pump *s)
{
	if (s->x.fail_kind == AGENT_FAIL_NOTFOUND)
		return 127;
	if (s->x.fail_kind == AGENT_FAIL_NOEXEC)
		return 126;
	return EXEC_FAIL;
}

/* Everything up to the exit status; -1 with the message set and *code. */
static int
run(struct pump *s, int *code)
{
	struct agent_exec_req req = { 0 };
	struct pump_opts po;
	struct meta m;
	const struct meta *mm = &m;
	char vsock[PATH_MAX], *runcmd[META_MAX_ARGS + 1];
	uint32_t port = AGENT_DEFAULT_PORT;
	int fd, rc = -1;

	meta_init(&m);
	*code = EXEC_FAIL;
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
	po.code = o.code;
	po.capture = o.json;
	po.max_output = o.max_output;
	po.timeout_ms = o.timeout_ms;
	po.agent_ms = o.agent_ms;
	po.sig_fd = sig_r;
	rc = pump_init(s, &po) < 0 ? -1 : session_run(s);
	T.exited = s->exited;
	if (rc < 0) {
		if (s->host_timeout)
			*code = EXEC_TIMEOUT;
		goto out;
	}
	*code = agent_exec_status(&s->x);
	rc = 0;
out:
	meta_free(&m);
	return rc;
}


/* ---- the contract ---- */

int
exec_run(const struct exec_opts *opts, int *code)
{
	int ok;

	o = *opts;
	T.start = o.start;
	restore_init(&R);
	sess.x.fd = -1;
	install_signals();
	ok = run(&sess, code) == 0;
	if (!ok)
		snprintf(run_err, sizeof run_err, "%s", errmsg());
	agent_exec_close(&sess.x);     /* the agent kills a command still running */
	teardown();
	T.end = now_ns();
	return ok ? 0 : -1;
}

const char *
exec_error(void)
{
	return run_err;
}

void
exec_print_json(int ok, int code)
{
	const char *status;

	status = (ok && code == 0) ? "success" :
	    (code == EXEC_TIMEOUT && (!ok || sess.x.exit_kind == AGENT_EXIT_TIMEOUT)) ?
	    "timeout" : "error";
	print_json(&sess, status, code);
}

void
exec_free(void)
{
	pump_free(&sess);
	restore_free(&R);
}
