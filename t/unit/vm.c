/* Unit tests for common/vm.c: ids, create/load, pid start times, alive,
 * destroy (SIGTERM, then SIGKILL after the grace), list, drop dead. */
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
#include <unistd.h>

#define PB (PATH_MAX + 128)

static struct store st;

static int
exists(const char *p)
{
	struct stat s;

	return lstat(p, &s) == 0;
}

/* A child that sleeps; with ignore_term it survives SIGTERM. */
static pid_t
sleeper(int ignore_term)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (ignore_term)
			signal(SIGTERM, SIG_IGN);
		for (;;)
			pause();
	}
	return pid;
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
	ok(vm_alive(&a), "alive while the owner runs and no pid is recorded");
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
	is_int(b.agent_port, 52, "agent port");
	is_int(b.owner_start, a.owner_start, "owner start");
	ok(vm_load(&st, "nope", &b) < 0 && strstr(errmsg(), "no VM with id nope"),
	    "loading a missing VM: %s", errmsg());
	ok(vm_create(&st, NULL, "py3", &b) == 0 && strlen(b.id) == 8, "create with a generated id: %s", b.id);
	rm_rf(b.dir);
	rm_rf(a.dir);
}

static void
test_alive_destroy(void)
{
	struct vm a, b;
	pid_t p1, p2;
	int64_t t0;

	p1 = sleeper(0);
	ok(vm_create(&st, "live", "py3", &a) == 0, "create live");
	ok(vm_set_pid(&a, p1) == 0, "set pid");
	ok(vm_load(&st, "live", &b) == 0 && b.pid == p1 && b.pid_start == a.pid_start,
	    "pid and start time are recorded");
	ok(vm_alive(&b), "alive");
	b.pid_start++;
	ok(!vm_alive(&b), "a different start time (a reused pid) is not ours");
	b.pid_start--;
	ok(vm_destroy(&b, 5000) == 0, "destroy: %s", errmsg());
	ok(kill(p1, 0) < 0 && errno == ESRCH, "the process is gone (and reaped)");
	ok(!exists(a.dir), "the run dir is gone");

	p2 = sleeper(1);
	usleep(50000);  /* let it ignore SIGTERM */
	vm_create(&st, "stubborn", "py3", &a);
	vm_set_pid(&a, p2);
	t0 = now_ms();
	ok(vm_destroy(&a, 200) == 0, "destroy one that ignores SIGTERM");
	ok(now_ms() - t0 >= 190, "after the grace period");
	ok(kill(p2, 0) < 0 && errno == ESRCH, "killed with SIGKILL");
	ok(!exists(a.dir), "its run dir is gone");

	vm_create(&st, "reused", "py3", &a);
	p1 = sleeper(0);
	vm_set_pid(&a, p1);
	a.pid_start += 1;       /* pretend the pid now belongs to someone else */
	ok(vm_destroy(&a, 100) == 0, "destroy of a reused pid");
	ok(kill(p1, 0) == 0, "does not signal the stranger");
	ok(!exists(a.dir), "but removes the run dir");
	kill(p1, SIGKILL);
	waitpid(p1, NULL, 0);
}

static void
test_list_drop(void)
{
	struct vm a, *v;
	pid_t live, dead;
	char p[PB];
	int n, fd;

	live = sleeper(0);
	dead = sleeper(0);
	vm_create(&st, "b-live", "s1", &a);
	vm_set_pid(&a, live);
	vm_create(&st, "a-dead", "s2", &a);
	vm_set_pid(&a, dead);
	kill(dead, SIGKILL);
	waitpid(dead, NULL, 0);
	vm_create(&st, "c-bad", "s3", &a);
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
		ok(!v[0].damaged && !vm_alive(&v[0]), "a-dead is dead");
		is_str(v[1].id, "b-live", "sorted: b-live");
		ok(vm_alive(&v[1]), "b-live is alive");
		is_str(v[2].id, "c-bad", "sorted: c-bad");
		ok(v[2].damaged && strstr(v[2].damage, "damaged"), "c-bad is damaged: %s", v[2].damage);
	}
	free(v);
	is_int(vm_drop_dead(&st), 2, "drop removes the dead entry and the stale temp dir");
	ok(!exists(p), "stale run/.tmp of a dead creator is gone");
	n = vm_list(&st, &v);
	is_int(n, 2, "live and damaged entries stay");
	free(v);
	vm_load(&st, "b-live", &a);
	vm_destroy(&a, 5000);
	snprintf(p, sizeof p, "%s/run/c-bad", st.root);
	rm_rf(p);
}

int
main(void)
{
	snprintf(st.root, sizeof st.root, "/tmp/fcu-vm.XXXXXX");
	if (!mkdtemp(st.root))
		return 1;
	test_ids();
	test_create_load();
	test_alive_destroy();
	test_list_drop();
	rm_rf(st.root);
	return done_testing();
}
