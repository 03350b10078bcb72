/* fc-ps: list the VMs that fc-snap-restore started; drops dead entries. */
#include "fc.h"
#include "json.h"
#include "lazy.h"
#include "store.h"
#include "util.h"
#include "runreg.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"usage: fc-ps [-q | --json] [-t DURATION]\n"
"List the running VMs that fc-snap-restore started, and remove the run dirs\n"
"of VMs whose process is gone (and stop VMs whose restore died).\n"
"\n"
"  -q, --quiet     print VM ids only, one per line\n"
"  -j, --json      print one JSON object per line\n"
"  -t, --timeout DURATION  how long to wait for each VM's API to tell\n"
"                  its state (e.g. 2, 500ms; default 2s)\n"
"  -h, --help      show this help\n"
"      --version   print the version\n"
"\n"
"The table shows ID, SNAPSHOT, PID, STATE and AGE.  STATE is the VM's own\n"
"(running, paused, not-started), asked through its API socket; \"unknown\"\n"
"when the API does not answer in time.\n"
"Store: $FCSNAP_DIR (default /var/lib/fcsnap for root).\n";

enum { OUT_TABLE, OUT_QUIET, OUT_JSON };

static long long api_timeout_ms = 2000;

/* Firecracker's "Running", "Paused", "Not started" -> running, paused,
 * not-started. */
static void
api_state(const struct vm *v, char *out, size_t n)
{
	struct fc_instance_info info;
	struct fc fc;
	size_t i;

	snprintf(out, n, "unknown");
	if (fc_open(&fc, v->api_sock, (int)api_timeout_ms) < 0)
		return;
	memset(&info, 0, sizeof info);
	if (fc_describe(&fc, &info) == 0) {
		for (i = 0; info.state[i] && i + 1 < n; i++)
			out[i] = info.state[i] == ' ' ? '-' :
			    (char)(info.state[i] >= 'A' && info.state[i] <= 'Z' ?
			    info.state[i] - 'A' + 'a' : info.state[i]);
		out[i] = 0;
	}
	fc_close(&fc);
}

/* "starting" until the handover, "stopped" when its process is
 * stopped by a signal (its API cannot answer then), else from the API. */
static void
state_of(const struct vm *v, char *out, size_t n)
{
	uint64_t st;
	char c = '?';

	if (v->damaged)
		snprintf(out, n, "damaged");
	else if (v->state == VM_STARTING || v->pid <= 0)
		snprintf(out, n, "starting");
	else if (proc_start_time(v->pid, &st, &c) < 0)
		snprintf(out, n, "gone");
	else if (c == 'T' || c == 't')
		snprintf(out, n, "stopped");
	else
		api_state(v, out, n);
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

/* A lazy VM: "pager":"running" with its pids, or "gone". */
static void
pager_json(struct jw *w, const char *dir)
{
	pid_t pids[4];
	int n, k;

	if (!lazy_is(dir))
		return;
	n = lazy_pagers(dir, pids, (int)ARRAY_LEN(pids));
	jw_kstr(w, "pager", n ? "running" : "gone");
	jw_key(w, "pager_pids");
	jw_arr(w);
	for (k = 0; k < n; k++)
		jw_int(w, pids[k]);
	jw_arr_end(w);
}

static int
print_json(const struct vm *v, int64_t now)
{
	struct jw w;
	char state[32];

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "id", v->id);
	if (v->damaged) {
		jw_kstr(&w, "state", "damaged");
		jw_kstr(&w, "damaged", v->damage);
	} else {
		jw_kstr(&w, "snapshot", v->snapshot);
		jw_kint(&w, "pid", v->pid);
		state_of(v, state, sizeof state);
		jw_kstr(&w, "state", state);
		jw_kstr(&w, "created_at", v->created_at);
		jw_kint(&w, "age_s", (now - v->created_ms) / 1000);
		jw_kstr(&w, "api_sock", v->api_sock);
		jw_kstr(&w, "vsock", v->vsock);
		jw_kint(&w, "agent_port", v->agent_port);
		pager_json(&w, v->dir);
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
	char pid[24], ag[24], state[32];
	int wid = 2, wsnap = 8, i, l;

	for (i = 0; i < n; i++) {
		l = (int)strlen(v[i].id);
		if (l > wid)
			wid = l;
		l = (int)strlen(v[i].snapshot);
		if (l > wsnap)
			wsnap = l;
	}
	printf("%-*s  %-*s  %8s  %-11s  %s\n", wid, "ID", wsnap, "SNAPSHOT", "PID",
	    "STATE", "AGE");
	for (i = 0; i < n; i++) {
		if (v[i].damaged) {
			printf("%-*s  %-*s  %8s  %-11s  %s\n", wid, v[i].id, wsnap, "-",
			    "-", "damaged", v[i].damage);
			continue;
		}
		snprintf(pid, sizeof pid, "%ld", (long)v[i].pid);
		age(ag, sizeof ag, now - v[i].created_ms);
		state_of(&v[i], state, sizeof state);
		printf("%-*s  %-*s  %8s  %-11s  %s\n", wid, v[i].id, wsnap, v[i].snapshot,
		    v[i].pid > 0 ? pid : "-", state, ag);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
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
	while ((c = getopt_long(argc, argv, ":qjt:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': mode = OUT_QUIET; break;
		case 'j': mode = OUT_JSON; break;
		case 't':
			if (parse_duration_ms(optarg, &api_timeout_ms, "timeout") < 0)
				usage_die("%s", errmsg());
			if (api_timeout_ms < 1 || api_timeout_ms > 3600000)
				usage_die("bad timeout '%s': must be between 1ms and 1h", optarg);
			break;
		case ':':
			usage_die("option '%s' needs a value", argv[optind - 1]);
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
		die("%s", errmsg());
	n = vm_list(&s, &v);
	if (n < 0)
		die("%s", errmsg());
	now = wall_ms();
	/* skip VMs that died (or were orphaned) between the drop and the list */
	for (i = k = 0; i < n; i++)
		if (v[i].state == VM_STARTING || v[i].state == VM_RUNNING)
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
