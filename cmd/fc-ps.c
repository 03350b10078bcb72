/* fc-ps: list the VMs that fc-snap-restore started; drops dead entries. */
#include "json.h"
#include "store.h"
#include "util.h"
#include "vm.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"usage: fc-ps [-q | --json]\n"
"List the running VMs that fc-snap-restore started, and remove the run dirs\n"
"of VMs whose process is gone.\n"
"\n"
"  -q, --quiet     print VM ids only, one per line\n"
"  -j, --json      print one JSON object per line\n"
"  -h, --help      show this help\n"
"      --version   print the version\n"
"\n"
"The table shows ID, SNAPSHOT, PID, STATE and AGE.\n"
"Store: $FCSNAP_DIR (default /var/lib/fcsnap for root).\n";

enum { OUT_TABLE, OUT_QUIET, OUT_JSON };

/* "starting" until firecracker is recorded; then from the process:
 * "stopped" when SIGSTOPped, else "running". */
static const char *
state_of(const struct vm *v)
{
	uint64_t st;
	char c = '?';

	if (v->damaged)
		return "damaged";
	if (v->pid <= 0)
		return "starting";
	if (proc_start_time(v->pid, &st, &c) < 0)
		return "gone";
	if (c == 'T' || c == 't')
		return "stopped";
	return "running";
}

static void
age(char *out, size_t n, int64_t ms)
{
	long long s = ms / 1000;

	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, n, "%llds", s);
	else if (s < 2 * 3600)
		snprintf(out, n, "%lldm", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, n, "%lldh", s / 3600);
	else
		snprintf(out, n, "%lldd", s / 86400);
}

static int
print_json(const struct vm *v, int64_t now)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "id", v->id);
	if (v->damaged) {
		jw_kstr(&w, "state", "damaged");
		jw_kstr(&w, "damaged", v->damage);
	} else {
		jw_kstr(&w, "snapshot", v->snapshot);
		jw_kint(&w, "pid", v->pid);
		jw_kstr(&w, "state", state_of(v));
		jw_kstr(&w, "created_at", v->created_at);
		jw_kint(&w, "age_s", (now - v->created_ms) / 1000);
		jw_kstr(&w, "api_sock", v->api_sock);
		jw_kstr(&w, "vsock", v->vsock);
		jw_kint(&w, "agent_port", v->agent_port);
	}
	jw_kstr(&w, "dir", v->dir);
	jw_obj_end(&w);
	if (!jw_text(&w)) {
		jw_free(&w);
		return fail("out of memory");
	}
	printf("%s\n", jw_text(&w));
	jw_free(&w);
	return 0;
}

static void
print_table(const struct vm *v, int n, int64_t now)
{
	char pid[24], ag[24];
	int wid = 2, wsnap = 8, i, l;

	for (i = 0; i < n; i++) {
		l = (int)strlen(v[i].id);
		if (l > wid)
			wid = l;
		l = (int)strlen(v[i].snapshot);
		if (l > wsnap)
			wsnap = l;
	}
	printf("%-*s  %-*s  %8s  %-8s  %s\n", wid, "ID", wsnap, "SNAPSHOT", "PID",
	    "STATE", "AGE");
	for (i = 0; i < n; i++) {
		if (v[i].damaged) {
			printf("%-*s  %-*s  %8s  %-8s  %s\n", wid, v[i].id, wsnap, "-",
			    "-", "damaged", v[i].damage);
			continue;
		}
		snprintf(pid, sizeof pid, "%ld", (long)v[i].pid);
		age(ag, sizeof ag, now - v[i].created_ms);
		printf("%-*s  %-*s  %8s  %-8s  %s\n", wid, v[i].id, wsnap, v[i].snapshot,
		    v[i].pid > 0 ? pid : "-", state_of(&v[i]), ag);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct store s;
	struct vm *v;
	int c, mode = OUT_TABLE, n, i, k;
	int64_t now;

	prog_init(argv);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': mode = OUT_QUIET; break;
		case 'j': mode = OUT_JSON; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("%s (fcsnap) %s\n", progname, FCSNAP_VERSION); return 0;
		default:
			if (optopt)
				usage_die("unknown option '-%c'", optopt);
			usage_die("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_die("unexpected argument '%s'", argv[optind]);
	if (store_init(&s) < 0)
		die("%s", errmsg());
	if (vm_drop_dead(&s) < 0)
		warnmsg("%s", errmsg());
	n = vm_list(&s, &v);
	if (n < 0)
		die("%s", errmsg());
	now = wall_ms();
	/* skip VMs that died between the drop and the list */
	for (i = k = 0; i < n; i++)
		if (v[i].damaged || vm_alive(&v[i]))
			v[k++] = v[i];
	n = k;
	for (i = 0; i < n; i++) {
		if (mode == OUT_QUIET)
			printf("%s\n", v[i].id);
		else if (mode == OUT_JSON && print_json(&v[i], now) < 0)
			die("%s", errmsg());
	}
	if (mode == OUT_TABLE && n > 0)
		print_table(v, n, now);
	free(v);
	if (fflush(stdout) != 0)
		die("writing to stdout failed");
	return 0;
}
