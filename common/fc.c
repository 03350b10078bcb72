/* fc: see fc.h. */
#include "fc.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define FC_MAX_TOKENS 512

int
fc_open(struct fc *fc, const char *api_sock, int timeout_ms)
{
	memset(fc, 0, sizeof *fc);
	if (fmt(fc->sock, sizeof fc->sock, "%s", api_sock) < 0)
		return fail("API socket path too long: %.60s...", api_sock);
	fc->timeout_ms = timeout_ms;
	fc->http = http_unix(api_sock, timeout_ms);
	return fc->http ? 0 : -1;
}

void
fc_close(struct fc *fc)
{
	http_close(fc->http);
	fc->http = NULL;
}

/* Replace http's generic hints with Firecracker-specific ones. */
static int
transport_fail(struct fc *fc, const char *method, const char *path)
{
	switch (http_last_error(fc->http)) {
	case HTTP_ENOSOCK:
		return fail("%s %s: %s: no such socket (is firecracker running?)",
		    method, path, fc->sock);
	case HTTP_EREFUSED:
		return fail("%s %s: %s: connection refused (firecracker has exited; "
		    "stale socket?)", method, path, fc->sock);
	default:
		return fail("%s %s: %s", method, path, errmsg());
	}
}

/* Copy at most 200 bytes of a non-JSON body, control characters as spaces. */
static void
snippet(const struct http_response *r, char *out, size_t n)
{
	size_t i, k = r->body_len < n - 1 ? r->body_len : n - 1;

	if (k > 200)
		k = 200;
	for (i = 0; i < k; i++) {
		unsigned char c = (unsigned char)r->body[i];
		out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[k] = 0;
	while (k > 0 && out[k - 1] == ' ')
		out[--k] = 0;
}

static int
status_fail(const char *method, const char *path, const struct http_response *r)
{
	struct json_tok t[FC_MAX_TOKENS];
	char *msg, text[256];
	int n, k;

	if (r->body_len) {
		n = json_parse(r->body, r->body_len, t, FC_MAX_TOKENS, NULL);
		k = n > 0 ? json_get(r->body, t, 0, "fault_message") : -1;
		if (k >= 0 && (msg = malloc(r->body_len + 1))) {
			if (json_str(r->body, t, k, msg, r->body_len + 1) >= 0) {
				fail("%s %s: %s", method, path, msg);
				free(msg);
				return -1;
			}
			free(msg);
		}
		snippet(r, text, sizeof text);
		if (*text)
			return fail("%s %s: HTTP %d%s%s: %s", method, path, r->status,
			    *r->reason ? " " : "", r->reason, text);
	}
	return fail("%s %s: HTTP %d%s%s (no error message)", method, path, r->status,
	    *r->reason ? " " : "", r->reason);
}

/* One API call; out (may be NULL) receives a 2xx response. */
static int
call(struct fc *fc, const char *method, const char *path, struct jw *w,
    struct http_response *out)
{
	struct http_response r;
	const char *body = NULL;
	int rc;

	if (w) {
		body = jw_text(w);
		if (!body) {
			jw_free(w);
			return fail("%s %s: out of memory", method, path);
		}
	}
	rc = http_request(fc->http, method, path, NULL, body, body ? strlen(body) : 0, &r);
	if (w)
		jw_free(w);
	if (rc < 0)
		return transport_fail(fc, method, path);
	if (r.status < 200 || r.status > 299) {
		status_fail(method, path, &r);
		http_response_free(&r);
		return -1;
	}
	if (out)
		*out = r;
	else
		http_response_free(&r);
	return 0;
}

/* GET path and tokenize its JSON body into t. Returns token count. */
static int
get_json(struct fc *fc, const char *path, struct http_response *r, struct json_tok *t)
{
	int n;

	if (call(fc, "GET", path, NULL, r) < 0)
		return -1;
	n = r->body ? json_parse(r->body, r->body_len, t, FC_MAX_TOKENS, NULL) : JSON_EPART;
	if (n < 0 || t[0].type != JSON_OBJECT) {
		fail("GET %s: %s: answer is not a JSON object (%s)", path, fc->sock,
		    n < 0 ? json_strerror(n) : "other JSON value");
		http_response_free(r);
		return -1;
	}
	return n;
}

int
fc_put_boot_source(struct fc *fc, const struct fc_boot_source *b)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "kernel_image_path", b->kernel_image_path);
	if (b->boot_args)
		jw_kstr(&w, "boot_args", b->boot_args);
	if (b->initrd_path)
		jw_kstr(&w, "initrd_path", b->initrd_path);
	jw_obj_end(&w);
	return call(fc, "PUT", "/boot-source", &w, NULL);
}

/* "/<what>/<id>" with the id checked to be a plain path segment. */
static int
id_path(char *out, size_t n, const char *what, const char *id)
{
	size_t i;

	if (!id || !*id)
		return fail("PUT /%s: empty id", what);
	for (i = 0; id[i]; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c <= 0x20 || c == '/' || c == '?' || c == '#' || c == '%' || c >= 0x7f)
			return fail("PUT /%s: bad id '%s': use letters, digits, '_' and '-'",
			    what, id);
	}
	return fmt(out, n, "/%s/%s", what, id);
}

int
fc_put_drive(struct fc *fc, const struct fc_drive *d)
{
	char path[128];
	struct jw w;

	if (id_path(path, sizeof path, "drives", d->drive_id) < 0)
		return -1;
	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "drive_id", d->drive_id);
	jw_kstr(&w, "path_on_host", d->path_on_host);
	jw_kbool(&w, "is_root_device", d->is_root_device);
	jw_kbool(&w, "is_read_only", d->is_read_only);
	jw_obj_end(&w);
	return call(fc, "PUT", path, &w, NULL);
}

int
fc_put_machine_config(struct fc *fc, const struct fc_machine_config *m)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kint(&w, "vcpu_count", m->vcpu_count);
	jw_kint(&w, "mem_size_mib", m->mem_size_mib);
	if (m->smt)
		jw_kbool(&w, "smt", 1);
	if (m->track_dirty_pages)
		jw_kbool(&w, "track_dirty_pages", 1);
	jw_obj_end(&w);
	return call(fc, "PUT", "/machine-config", &w, NULL);
}

static int
get_int_field(const char *js, const struct json_tok *t, const char *key, int *out)
{
	int64_t v;
	int k = json_get(js, t, 0, key);

	if (k < 0)
		return 0;
	if (json_int(js, t, k, &v) < 0 || v < 0 || v > 0x7fffffff)
		return -1;
	*out = (int)v;
	return 0;
}

static int
get_bool_field(const char *js, const struct json_tok *t, const char *key, int *out)
{
	int k = json_get(js, t, 0, key);

	if (k < 0)
		return 0;
	return json_bool(t, k, out);
}

int
fc_get_machine_config(struct fc *fc, struct fc_machine_config *m)
{
	struct json_tok t[FC_MAX_TOKENS];
	struct http_response r;
	int bad;

	if (get_json(fc, "/machine-config", &r, t) < 0)
		return -1;
	memset(m, 0, sizeof *m);
	bad = get_int_field(r.body, t, "vcpu_count", &m->vcpu_count) < 0 ||
	    get_int_field(r.body, t, "mem_size_mib", &m->mem_size_mib) < 0 ||
	    get_bool_field(r.body, t, "smt", &m->smt) < 0 ||
	    get_bool_field(r.body, t, "track_dirty_pages", &m->track_dirty_pages) < 0;
	http_response_free(&r);
	if (bad)
		return fail("GET /machine-config: %s: a field has the wrong type", fc->sock);
	return 0;
}

int
fc_put_vsock(struct fc *fc, const struct fc_vsock *v)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	if (v->vsock_id)
		jw_kstr(&w, "vsock_id", v->vsock_id);
	jw_kint(&w, "guest_cid", v->guest_cid);
	jw_kstr(&w, "uds_path", v->uds_path);
	jw_obj_end(&w);
	return call(fc, "PUT", "/vsock", &w, NULL);
}

int
fc_put_network_interface(struct fc *fc, const struct fc_net *n)
{
	char path[128];
	struct jw w;

	if (id_path(path, sizeof path, "network-interfaces", n->iface_id) < 0)
		return -1;
	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "iface_id", n->iface_id);
	jw_kstr(&w, "host_dev_name", n->host_dev_name);
	if (n->guest_mac)
		jw_kstr(&w, "guest_mac", n->guest_mac);
	jw_obj_end(&w);
	return call(fc, "PUT", path, &w, NULL);
}

int
fc_action(struct fc *fc, const char *action_type)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "action_type", action_type);
	jw_obj_end(&w);
	return call(fc, "PUT", "/actions", &w, NULL);
}

static int
vm_state(struct fc *fc, const char *state)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "state", state);
	jw_obj_end(&w);
	return call(fc, "PATCH", "/vm", &w, NULL);
}

int fc_pause(struct fc *fc) { return vm_state(fc, "Paused"); }
int fc_resume(struct fc *fc) { return vm_state(fc, "Resumed"); }

int
fc_snapshot_create(struct fc *fc, const struct fc_snapshot_create *s)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	if (s->snapshot_type)
		jw_kstr(&w, "snapshot_type", s->snapshot_type);
	jw_kstr(&w, "snapshot_path", s->snapshot_path);
	jw_kstr(&w, "mem_file_path", s->mem_file_path);
	jw_obj_end(&w);
	return call(fc, "PUT", "/snapshot/create", &w, NULL);
}

int
fc_snapshot_load(struct fc *fc, const struct fc_snapshot_load *s)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "snapshot_path", s->snapshot_path);
	jw_key(&w, "mem_backend");
	jw_obj(&w);
	jw_kstr(&w, "backend_type", s->mem_backend_type ? s->mem_backend_type : "File");
	jw_kstr(&w, "backend_path", s->mem_backend_path);
	jw_obj_end(&w);
	if (s->enable_diff_snapshots)
		jw_kbool(&w, "enable_diff_snapshots", 1);
	if (s->resume_vm)
		jw_kbool(&w, "resume_vm", 1);
	if (s->vsock_override_uds_path) {
		jw_key(&w, "vsock_override");
		jw_obj(&w);
		jw_kstr(&w, "uds_path", s->vsock_override_uds_path);
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
	return call(fc, "PUT", "/snapshot/load", &w, NULL);
}

/* String field key of the top object into out; missing -> "". */
static int
get_str_field(const char *js, const struct json_tok *t, const char *key, char *out, size_t n)
{
	int k = json_get(js, t, 0, key);

	out[0] = 0;
	if (k < 0)
		return 0;
	return json_str(js, t, k, out, n) < 0 ? -1 : 0;
}

int
fc_describe(struct fc *fc, struct fc_instance_info *info)
{
	struct json_tok t[FC_MAX_TOKENS];
	struct http_response r;
	int bad;

	if (get_json(fc, "/", &r, t) < 0)
		return -1;
	bad = get_str_field(r.body, t, "id", info->id, sizeof info->id) < 0 ||
	    get_str_field(r.body, t, "state", info->state, sizeof info->state) < 0 ||
	    get_str_field(r.body, t, "vmm_version", info->vmm_version,
	        sizeof info->vmm_version) < 0 ||
	    get_str_field(r.body, t, "app_name", info->app_name, sizeof info->app_name) < 0;
	http_response_free(&r);
	if (bad)
		return fail("GET /: %s: bad instance info (a field is not a string or too long)",
		    fc->sock);
	if (!info->state[0])
		return fail("GET /: %s: instance info without a state", fc->sock);
	return 0;
}

int
fc_version(struct fc *fc, char *out, size_t n)
{
	struct json_tok t[FC_MAX_TOKENS];
	struct http_response r;
	int bad;

	if (get_json(fc, "/version", &r, t) < 0)
		return -1;
	bad = get_str_field(r.body, t, "firecracker_version", out, n) < 0;
	http_response_free(&r);
	if (bad || !out[0])
		return fail("GET /version: %s: no firecracker_version string in the answer",
		    fc->sock);
	return 0;
}

char *
fc_vm_config(struct fc *fc)
{
	struct http_response r;
	char *s;

	if (call(fc, "GET", "/vm/config", NULL, &r) < 0)
		return NULL;
	if (!r.body) {
		http_response_free(&r);
		fail("GET /vm/config: %s: empty answer", fc->sock);
		return NULL;
	}
	s = r.body;
	r.body = NULL;
	http_response_free(&r);
	return s;
}

/* A process that is not our child: gone, or a zombie its parent has not
 * reaped yet ("Z" in /proc/PID/stat)? */
static int
other_gone(int pid)
{
	char path[64], buf[512], *p;
	size_t n;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	p = read_file(path, sizeof buf, &n);
	if (!p)
		return 0;
	snprintf(buf, sizeof buf, "%s", p);
	free(p);
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* Has pid exited? Leaves a child unreaped (WNOWAIT) for its owner. */
static int
pid_gone(int pid, char *how, size_t n)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
		if (si.si_pid == 0)
			return 0;
		if (si.si_code == CLD_EXITED)
			snprintf(how, n, "exited with status %d", si.si_status);
		else
			snprintf(how, n, "was killed by signal %d", si.si_status);
		return 1;
	}
	if (other_gone(pid)) {
		snprintf(how, n, "exited");
		return 1;
	}
	return 0;
}

static int
retryable(enum http_err e)
{
	return e == HTTP_ENOSOCK || e == HTTP_EREFUSED || e == HTTP_ECLOSED;
}

int
fc_wait_ready(struct fc *fc, int pid, int timeout_ms)
{
	struct http_response r;
	int64_t deadline = now_ms() + timeout_ms, left;
	long sleep_ns = 1000000;
	char how[64], last[512] = "no attempt made";
	int rc;

	for (;;) {
		if (pid > 0 && pid_gone(pid, how, sizeof how))
			return fail("firecracker (pid %d) %s before its API socket %s was ready",
			    pid, how, fc->sock);
		left = deadline - now_ms();
		if (left <= 0)
			return fail("%s: firecracker API not ready after %d ms (last: %s)",
			    fc->sock, timeout_ms, last);
		http_set_timeout(fc->http, fc->timeout_ms > 0 && fc->timeout_ms < left ?
		    fc->timeout_ms : (int)left);
		rc = http_request(fc->http, "GET", "/", NULL, NULL, 0, &r);
		http_set_timeout(fc->http, fc->timeout_ms);
		if (rc == 0) {
			if (r.status == 200) {
				http_response_free(&r);
				return 0;
			}
			status_fail("GET", "/", &r);
			http_response_free(&r);
			return -1;
		}
		if (!retryable(http_last_error(fc->http)) &&
		    http_last_error(fc->http) != HTTP_ETIMEOUT)
			return fail("%s: waiting for the firecracker API: %s", fc->sock, errmsg());
		snprintf(last, sizeof last, "%s", errmsg());
		nanosleep(&(struct timespec){ 0, sleep_ns }, NULL);
		if (sleep_ns < 20000000)
			sleep_ns = sleep_ns * 2 > 20000000 ? 20000000 : sleep_ns * 2;
	}
}
