/* vm-register: test helper (not installed).
 *   vm-register ID SNAPSHOT PID   create run/ID through vm.h as
 *                                 fc-snap-restore does and record PID as
 *                                 the VM's firecracker process
 *   vm-register ID SNAPSHOT hold  create run/ID without a process (as a
 *                                 restore in progress), then wait to be
 *                                 killed
 * Prints the run dir. */
#include "util.h"
#include "runreg.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct store st;
	struct vm v;
	long long pid = 0;
	int hold;

	prog_init(argv);
	if (argc != 4)
		usage_die("usage: vm-register ID SNAPSHOT PID|hold");
	hold = !strcmp(argv[3], "hold");
	if (!hold && parse_long(argv[3], 1, 1 << 30, &pid, "pid") < 0)
		usage_die("%s", errmsg());
	if (store_init(&st) < 0 || vm_create(&st, argv[1], argv[2], &v) < 0)
		die("%s", errmsg());
	if (!hold && vm_set_pid(&v, (pid_t)pid) < 0) {
		rm_rf(v.dir);
		die("%s", errmsg());
	}
	printf("%s\n", v.dir);
	fflush(stdout);
	while (hold)
		pause();
	return 0;
}
