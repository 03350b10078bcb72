/* vm-register: test helper (not installed).
 *   vm-register ID SNAPSHOT CMD [ARG...]
 *                     create run/ID through vm.h as fc-snap-restore does,
 *                     then become its "firecracker": record our pid, hand
 *                     the VM over and exec CMD in the run dir, the run
 *                     dir's lock inherited (so `vm-register ... sleep 9 &`
 *                     gives the shell the VM process's pid in $!)
 *   vm-register ID SNAPSHOT hold
 *                     create run/ID and stay its restorer (a restore in
 *                     progress) until killed
 * Prints the run dir. */
#include "util.h"
#include "runreg.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct store st;
	struct vm v;
	int hold;

	prog_init(argv);
	if (argc < 4)
		usage_die("usage: vm-register ID SNAPSHOT CMD [ARG...] | hold");
	hold = argc == 4 && !strcmp(argv[3], "hold");
	if (store_init(&st) < 0 || vm_create(&st, argv[1], argv[2], &v) < 0)
		die("%s", errmsg());
	printf("%s\n", v.dir);
	fflush(stdout);
	while (hold)
		pause();
	if (chdir(v.dir) < 0 || vm_set_pid(&v, getpid()) < 0 ||
	    fcntl(v.dirfd, F_SETFD, 0) < 0) {
		rm_rf(v.dir);
		die("%s", errmsg());
	}
	vm_handover(&v);
	execvp(argv[3], argv + 3);
	die("cannot run %s", argv[3]);
}
