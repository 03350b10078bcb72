/* vm-register: test helper (not installed).
 *   vm-register ID SNAPSHOT PID
 * Creates run/ID through vm.h as fc-snap-restore does and records PID as
 * the VM's firecracker process.  Prints the run dir. */
#include "util.h"
#include "vm.h"

#include <stdio.h>

int
main(int argc, char **argv)
{
	struct store st;
	struct vm v;
	long long pid;

	prog_init(argv);
	if (argc != 4)
		usage_die("usage: vm-register ID SNAPSHOT PID");
	if (parse_long(argv[3], 1, 1 << 30, &pid, "pid") < 0)
		usage_die("%s", errmsg());
	if (store_init(&st) < 0 || vm_create(&st, argv[1], argv[2], &v) < 0)
		die("%s", errmsg());
	if (vm_set_pid(&v, (pid_t)pid) < 0) {
		rm_rf(v.dir);
		die("%s", errmsg());
	}
	printf("%s\n", v.dir);
	return 0;
}
