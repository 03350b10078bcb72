/* reaper: see reaper.h. */
#include "reaper.h"

#include <limits.h>
#include <unistd.h>

#include "runreg.h"
#include "sentinel.h"
#include "util.h"

static struct sentinel g_reaper;
static struct reap_arg {
	const struct store *st;
	char id[VM_ID_MAX + 1];
	pid_t owner;
} g_arg;

void
reaper_finish(int keep)
{
	sentinel_end(&g_reaper, keep);
}

void
reaper_release(int keep)
{
	sentinel_release(&g_reaper, keep);
}

/* In the reaper, after the caller ended: its VM goes.  vm_destroy finds
 * the firecracker through the run dir's lock even when its pid was not
 * recorded yet (runreg.h). */
static void
reap_vm(void *p)
{
	const struct reap_arg *a = p;
	char run[PATH_MAX], nm[128], tmp[PATH_MAX];
	struct vm v;

	if (store_sub(a->st, "run", run, sizeof run) == 0 &&
	    fmt(nm, sizeof nm, ".tmp-%ld-%s", (long)a->owner, a->id) == 0 &&
	    path_join(tmp, sizeof tmp, run, nm) == 0)
		rm_rf(tmp);
	if (vm_load(a->st, a->id, &v) < 0 || v.owner_pid != a->owner)
		return;         /* gone, or not ours (an id someone else holds) */
	vm_destroy(&v, 0);
}

int
reaper_start(const struct store *st, const char *id)
{
	g_arg.st = st;
	g_arg.owner = getpid();
	if (fmt(g_arg.id, sizeof g_arg.id, "%s", id) < 0)
		return -1;
	return sentinel_start(&g_reaper, "fc-exec-reaper", reap_vm, &g_arg);
}
