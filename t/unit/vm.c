/* Unit tests for common/vm.c: ids, create/load, the lock states, destroy
 * (SIGTERM, then SIGKILL after the grace; an edited pid, a damaged
 * vm.json), list, drop dead and orphans. */
#include "tap.h"
#include "runreg.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PB (PATH_MAX + 128)

static struct store st;

static int
exists(const char *p)
{
	struct stat s;

	return lstat(p, &s) == 0;
}

/* A fake firecracker for a fresh vm_create: a child in the run dir that
 * keeps the locked dir fd (not "restoring"); with ignore_term it survives
 * SIGTERM.  We record it, hand over and let go, like a restore. */
static pid_t
vm_child(struct vm *v, int ignore_term)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(v->ownfd);
		if (chdir(v->dir) < 0)
			_exit(1);
		if (ignore_term)
			signal(SIGTERM, SIG_IGN);
		if (write(p[1], "r", 1) != 1)   /* set up, as a spawn returns */
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		c = 0;
	close(p[0]);
	vm_set_pid(v, pid);
	vm_handover(v);
	vm_close(v);
	return pid;
}

/* A plain child that is no VM's. */
static pid_t
stranger(void)
{
	pid_t pid = fork();

	if (pid == 0)
		for (;;)
			pause();
	return pid;
}

static int
gone(pid_t p)
{
	return waitpid(p, NULL, WNOHANG) == p || (kill(p, 0) < 0 && errno == ESRCH);
}

static void
test_ids(void)
{
	char id[16];
	size_t i;
	int hex = 1;

	ok(vm_id_new(id, sizeof id) == 0, "new id");
	is_int(strlen(id), 8, "8 characters");
	for (i = 0; id[i]; i++)
		if (!strchr("0123456789abcdef", id[i]))
			hex = 0;
	ok(hex, "hex digits: %s", id);
	ok(vm_id_check(id) == 0, "a generated id is a valid id");
	ok(vm_id_check("../x") < 0 && strstr(errmsg(), "VM id"), "bad id: %s", errmsg());
}

static void
test_create_load(void)
{
	struct vm a, b;
	char p[PB];
	uint64_t t;

	ok(vm_create(&st, "vm1", "py3", &a) == 0, "create: %s", errmsg());
	snprintf(p, sizeof p, "%s/run/vm1/vm.json", st.root);
	ok(exists(p), "run/vm1/vm.json exists");
	ok(strstr(a.api_sock, "/run/vm1/api.sock") != NULL, "api sock path %s", a.api_sock);
	ok(strstr(a.vsock, "/run/vm1/v.sock") != NULL, "vsock path %s", a.vsock);
	is_int(a.pid, 0, "no pid yet");
	is_int(a.owner_pid, getpid(), "owner is us");
	ok(vm_alive(&a), "alive while we restore it");
	ok(vm_create(&st, "vm1", "py3", &b) < 0, "the same id again fails");
	ok(strstr(errmsg(), "VM id vm1 is in use") != NULL, "message: %s", errmsg());
	ok(vm_create(&st, "Bad", "py3", &b) < 0, "a bad id is refused");

	ok(proc_start_time(getpid(), &t, NULL) == 0 && t > 0, "our own start time");
	ok(proc_start_time(0, &t, NULL) < 0, "pid 0 has none");

	a.agent_port = 52;
	ok(vm_save(&a) == 0, "save");
	ok(vm_load(&st, "vm1", &b) == 0, "load: %s", errmsg());
	is_str(b.snapshot, "py3", "snapshot");
	is_str(b.api_sock, a.api_sock, "api sock");
	is_str(b.vsock, a.vsock, "vsock");
	is_str(b.dir, a.dir, "dir");
	is_str(b.created_at, a.created_at, "created_at");
	is_int(b.created_ms, a.created_ms, "created_ms");
	{
		time_t sec = (time_t)(a.created_ms / 1000);
		char want[32];
		struct tm tm;

		gmtime_r(&sec, &tm);
		strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
		is_str(a.created_at, want, "created_at is created_ms in RFC 3339 UTC");
	}
	is_int(b.agent_port, 52, "agent port");
	is_int(b.owner_start, a.owner_start, "owner start");
	ok(vm_load(&st, "nope", &b) < 0 && strstr(errmsg(), "no VM with id nope"),
	    "loading a missing VM: %s", errmsg());
	ok(vm_create(&st, NULL, "py3", &b) == 0 && strlen(b.id) == 8, "create with a generated id: %s", b.id);
	rm_rf(b.dir);
	vm_close(&b);
	rm_rf(a.dir);
	vm_close(&a);
}

static void
test_states(void)
{
	struct vm a, b;
	pid_t p;

	ok(vm_create(&st, "st1", "py3", &a) == 0, "create: %s", errmsg());
	vm_load(&st, "st1", &b);
	is_int(vm_probe(&b), VM_STARTING, "starting while its restorer holds it");
	vm_handover(&a);
	is_int(vm_probe(&b), VM_RUNNING, "running once handed over");
	vm_close(&a);
	is_int(vm_probe(&b), VM_DEAD, "dead when nothing holds its lock");
	rm_rf(b.dir);

	/* a restorer that dies before the handover leaves an orphan */
	p = fork();
	if (p == 0) {
		struct vm c;
		int q[2];
		char ch;
		if (vm_create(&st, "orph", "py3", &c) < 0 || pipe(q) < 0)
			_exit(1);
		if (fork() == 0) {      /* its firecracker */
			close(c.ownfd);
			if (chdir(c.dir) < 0 || write(q[1], "r", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		if (read(q[0], &ch, 1) != 1)
			_exit(1);
		_exit(0);               /* no handover */
	}
	waitpid(p, NULL, 0);
	vm_load(&st, "orph", &b);
	is_int(vm_probe(&b), VM_ORPHAN, "an orphan when the restorer died first");
	ok(!vm_alive(&b), "an orphan is not alive");
	is_int(vm_drop_dead(&st), 1, "drop reaps the orphan");
	ok(!exists(b.dir), "its run dir is gone");
}

static void
test_alive_destroy(void)
{
	struct vm a, b;
	pid_t p1, p2, s1;
	int64_t t0;
	char p[PB];
	int fd;

	vm_create(&st, "live", "py3", &a);
	p1 = vm_child(&a, 0);
	ok(vm_load(&st, "live", &b) == 0 && b.pid == p1 && b.pid_start == a.pid_start,
	    "pid and start time are recorded");
	ok(vm_alive(&b), "alive");
	ok(vm_destroy(&b, 5000) == 0, "destroy: %s", errmsg());
	ok(gone(p1), "the process is gone (and reaped)");
	ok(!exists(a.dir), "the run dir is gone");

	vm_create(&st, "stubborn", "py3", &a);
	p2 = vm_child(&a, 1);
	usleep(50000);  /* let it ignore SIGTERM */
	t0 = now_ms();
	ok(vm_destroy(&a, 200) == 0, "destroy one that ignores SIGTERM: %s", errmsg());
	ok(now_ms() - t0 >= 190, "after the grace period");
	ok(gone(p2), "killed with SIGKILL");
	ok(!exists(a.dir), "its run dir is gone");

	vm_create(&st, "edited", "py3", &a);
	p1 = vm_child(&a, 0);
	s1 = stranger();
	vm_load(&st, "edited", &b);
	b.pid = s1;     /* vm.json edited: the pid of someone else */
	proc_start_time(s1, &b.pid_start, NULL);
	ok(vm_destroy(&b, 1000) == 0, "destroy with an edited pid: %s", errmsg());
	ok(kill(s1, 0) == 0 && waitpid(s1, NULL, WNOHANG) == 0, "the stranger is not signalled");
	ok(gone(p1), "the VM's process is stopped");
	ok(!exists(a.dir), "its run dir is gone");
	kill(s1, SIGKILL);
	waitpid(s1, NULL, 0);

	vm_create(&st, "broken", "py3", &a);
	p1 = vm_child(&a, 0);
	snprintf(p, sizeof p, "%s/vm.json", a.dir);
	fd = open(p, O_WRONLY | O_TRUNC);
	ok(write(fd, "{", 1) == 1, "damage vm.json");
	close(fd);
	ok(vm_load(&st, "broken", &b) < 0 && b.dir[0], "load fails, the dir is known");
	ok(vm_alive(&b), "still alive: its process holds the lock");
	ok(vm_destroy(&b, 1000) == 0, "destroy a damaged entry: %s", errmsg());
	ok(gone(p1), "its process is found and stopped");
	ok(!exists(a.dir), "its run dir is gone");
}

static void
test_list_drop(void)
{
	struct vm a, *v;
	pid_t live, dead;
	char p[PB];
	int n, fd;

	vm_create(&st, "b-live", "s1", &a);
	live = vm_child(&a, 0);
	vm_create(&st, "a-dead", "s2", &a);
	dead = vm_child(&a, 0);
	kill(dead, SIGKILL);
	waitpid(dead, NULL, 0);
	vm_create(&st, "c-bad", "s3", &a);
	vm_child(&a, 0);
	snprintf(p, sizeof p, "%s/vm.json", a.dir);
	fd = open(p, O_WRONLY | O_TRUNC);
	ok(write(fd, "{\"format\":1", 11) == 11, "damage c-bad");
	close(fd);
	snprintf(p, sizeof p, "%s/run/.tmp-999999999-x", st.root);
	mkdir(p, 0700);

	n = vm_list(&st, &v);
	is_int(n, 3, "three entries");
	if (n == 3) {
		is_str(v[0].id, "a-dead", "sorted: a-dead");
		ok(!v[0].damaged && v[0].state == VM_DEAD, "a-dead is dead");
		is_str(v[1].id, "b-live", "sorted: b-live");
		ok(v[1].state == VM_RUNNING, "b-live is running");
		is_str(v[2].id, "c-bad", "sorted: c-bad");
		ok(v[2].damaged && strstr(v[2].damage, "damaged"), "c-bad is damaged: %s", v[2].damage);
		ok(v[2].state == VM_RUNNING, "and running");
	}
	free(v);
	is_int(vm_drop_dead(&st), 2, "drop removes the dead entry and the stale temp dir");
	ok(!exists(p), "stale run/.tmp of a dead creator is gone");
	n = vm_list(&st, &v);
	is_int(n, 2, "live and damaged entries stay");
	free(v);
	vm_load(&st, "b-live", &a);
	ok(vm_destroy(&a, 5000) == 0 && gone(live), "destroy b-live");
	vm_load(&st, "c-bad", &a);
	ok(vm_destroy(&a, 5000) == 0, "destroy c-bad");
	n = vm_list(&st, &v);
	is_int(n, 0, "nothing left");
	free(v);
}

int
main(void)
{
	snprintf(st.root, sizeof st.root, "/tmp/fcu-vm.XXXXXX");
	if (!mkdtemp(st.root))
		return 1;
	test_ids();
	test_create_load();
	test_states();
	test_alive_destroy();
	test_list_drop();
	rm_rf(st.root);
	return done_testing();
}
