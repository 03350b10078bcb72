/* Unit tests for common/fc.c against a canned server forked in the test:
 * the exact request bodies (optional fields sent only when set), error
 * messages for JSON and non-JSON refusals, GET parsing, fc_wait_ready. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fc.h"
#include "util.h"
#include "tap.h"

static char dir[64], sock[PATH_MAX];
static FILE *log_in;    /* "METHOD PATH BODY" per request, from the server */

static void
reply(int fd, int status, const char *ctype, const char *body)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof head, "HTTP/1.1 %d \r\nServer: Firecracker API\r\n"
	    "%s%s%sContent-Length: %zu\r\n\r\n", status, ctype ? "Content-Type: " : "",
	    ctype ? ctype : "", ctype ? "\r\n" : "", strlen(body));
	if (write_all(fd, head, (size_t)n) < 0 || write_all(fd, body, strlen(body)) < 0)
		_exit(3);
}

static void
route(int fd, const char *m, const char *path, const char *body)
{
	if (!strcmp(m, "GET") && !strcmp(path, "/"))
		reply(fd, 200, "application/json", "{\"id\":\"vm\\u00e9\",\"state\":\"Paused\","
		    "\"vmm_version\":\"1.7.0\",\"app_name\":\"Firecracker\"}");
	else if (!strcmp(path, "/version"))
		reply(fd, 200, "application/json", "{\"firecracker_version\":\"1.7.0\"}");
	else if (!strcmp(m, "GET") && !strcmp(path, "/machine-config"))
		reply(fd, 200, "application/json", "{\"vcpu_count\":2,\"mem_size_mib\":256,"
		    "\"smt\":false,\"track_dirty_pages\":true,\"huge_pages\":\"None\"}");
	else if (!strcmp(path, "/vm/config"))
		reply(fd, 200, "application/json", "{\"x\": [1, 2]}");
	else if (strstr(body, "text-error"))
		reply(fd, 400, "text/plain", "kernel\tnot found\n");
	else if (strstr(body, "empty-error"))
		reply(fd, 500, NULL, "");
	else if (strstr(body, "escaped-error"))
		reply(fd, 400, "application/json",
		    "{\"fault_message\": \"Bad \\\"x\\\": a\\\\b \\u00e9\\ud83d\\ude00 (os error 2)\"}");
	else if (strstr(body, "other-json"))
		reply(fd, 400, "application/json", "{\"error\":\"nope\"}");
	else if (strstr(body, "html"))
		reply(fd, 502, "text/html", "<html>bad gateway</html>");
	else
		reply(fd, 204, NULL, "");
}

static void
serve(int lfd, int logfd)
{
	static char buf[65536];
	char m[16], path[256], *end, *cl, *body, line[66000];
	size_t n;
	ssize_t r;
	long len;
	int fd, k;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		n = 0;
		for (;;) {
			buf[n] = 0;
			end = strstr(buf, "\r\n\r\n");
			len = 0;
			if (end) {
				cl = strcasestr(buf, "\r\ncontent-length:");
				len = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
				if ((long)n >= end + 4 - buf + len) {
					body = end + 4;
					if (sscanf(buf, "%15s %255s", m, path) != 2)
						_exit(3);
					k = snprintf(line, sizeof line, "%s %s %.*s\n", m, path,
					    (int)len, body);
					if (write_all(logfd, line, (size_t)k) < 0)
						_exit(3);
					body[len] = 0;
					route(fd, m, path, body);
					n -= (size_t)(body + len - buf);
					memmove(buf, body + len, n);
					continue;
				}
			}
			r = read(fd, buf + n, sizeof buf - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		close(fd);
	}
	_exit(0);
}

static int
listen_at(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, 8) < 0)
		exit(1);
	return fd;
}

static pid_t
start_server(void)
{
	int p[2], lfd;
	pid_t pid;

	if (pipe(p) < 0)
		exit(1);
	lfd = listen_at(sock);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		serve(lfd, p[1]);
	}
	close(lfd);
	close(p[1]);
	log_in = fdopen(p[0], "r");
	return pid;
}

/* The next request the server saw, without the newline. */
static const char *
seen(void)
{
	static char line[66000];

	if (!fgets(line, sizeof line, log_in))
		return "(none)";
	line[strcspn(line, "\n")] = 0;
	return line;
}

static void
test_bodies(struct fc *fc)
{
	ok(fc_put_boot_source(fc, &(struct fc_boot_source){ "vmlinux", NULL, NULL }) == 0,
	    "boot-source accepted");
	is_str(seen(), "PUT /boot-source {\"kernel_image_path\":\"vmlinux\"}",
	    "boot-source: optional fields not sent");
	fc_put_boot_source(fc, &(struct fc_boot_source){ "k", "console=ttyS0 \"q\"", "initrd" });
	is_str(seen(), "PUT /boot-source {\"kernel_image_path\":\"k\",\"boot_args\":"
	    "\"console=ttyS0 \\\"q\\\"\",\"initrd_path\":\"initrd\"}", "boot-source: all fields, escaped");
	fc_put_drive(fc, &(struct fc_drive){ "rootfs", "rootfs.ext4", 1, 0 });
	is_str(seen(), "PUT /drives/rootfs {\"drive_id\":\"rootfs\",\"path_on_host\":\"rootfs.ext4\","
	    "\"is_root_device\":true,\"is_read_only\":false}", "drive body and path");
	ok(fc_put_drive(fc, &(struct fc_drive){ "a/b", "x", 0, 0 }) == -1 &&
	    strstr(errmsg(), "bad id"), "drive id with a slash refused before sending");
	fc_put_machine_config(fc, &(struct fc_machine_config){ 2, 512, 0, 0 });
	is_str(seen(), "PUT /machine-config {\"vcpu_count\":2,\"mem_size_mib\":512}",
	    "machine-config without smt/dirty");
	fc_put_machine_config(fc, &(struct fc_machine_config){ 1, 128, 1, 1 });
	is_str(seen(), "PUT /machine-config {\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":true,"
	    "\"track_dirty_pages\":true}", "machine-config with smt and dirty pages");
	fc_put_vsock(fc, &(struct fc_vsock){ 3, "v.sock", NULL });
	is_str(seen(), "PUT /vsock {\"guest_cid\":3,\"uds_path\":\"v.sock\"}", "vsock");
	fc_put_vsock(fc, &(struct fc_vsock){ 7, "v.sock", "vsock0" });
	is_str(seen(), "PUT /vsock {\"vsock_id\":\"vsock0\",\"guest_cid\":7,\"uds_path\":\"v.sock\"}",
	    "vsock with the old vsock_id");
	fc_put_network_interface(fc, &(struct fc_net){ "eth0", "tap0", NULL });
	is_str(seen(), "PUT /network-interfaces/eth0 {\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\"}",
	    "network interface");
	fc_put_network_interface(fc, &(struct fc_net){ "eth0", "tap0", "06:00:00:00:00:01" });
	is_str(seen(), "PUT /network-interfaces/eth0 {\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
	    "\"guest_mac\":\"06:00:00:00:00:01\"}", "network interface with a MAC");
	fc_action(fc, "InstanceStart");
	is_str(seen(), "PUT /actions {\"action_type\":\"InstanceStart\"}", "action");
	fc_pause(fc);
	is_str(seen(), "PATCH /vm {\"state\":\"Paused\"}", "pause is PATCH /vm");
	fc_resume(fc);
	is_str(seen(), "PATCH /vm {\"state\":\"Resumed\"}", "resume is PATCH /vm");
	fc_snapshot_create(fc, &(struct fc_snapshot_create){ NULL, "vmstate", "mem" });
	is_str(seen(), "PUT /snapshot/create {\"snapshot_path\":\"vmstate\",\"mem_file_path\":\"mem\"}",
	    "snapshot create");
	fc_snapshot_create(fc, &(struct fc_snapshot_create){ "Diff", "vmstate", "mem" });
	is_str(seen(), "PUT /snapshot/create {\"snapshot_type\":\"Diff\",\"snapshot_path\":\"vmstate\","
	    "\"mem_file_path\":\"mem\"}", "diff snapshot create");
	fc_snapshot_load(fc, &(struct fc_snapshot_load){ "vmstate", "mem", NULL, 0, 0, NULL });
	is_str(seen(), "PUT /snapshot/load {\"snapshot_path\":\"vmstate\",\"mem_backend\":"
	    "{\"backend_type\":\"File\",\"backend_path\":\"mem\"}}", "snapshot load, minimal");
	fc_snapshot_load(fc, &(struct fc_snapshot_load){ "vmstate", "uffd.sock", "Uffd", 1, 1, "v.sock" });
	is_str(seen(), "PUT /snapshot/load {\"snapshot_path\":\"vmstate\",\"mem_backend\":"
	    "{\"backend_type\":\"Uffd\",\"backend_path\":\"uffd.sock\"},\"enable_diff_snapshots\":true,"
	    "\"resume_vm\":true,\"vsock_override\":{\"uds_path\":\"v.sock\"}}", "snapshot load, everything");
}

static void
test_errors(struct fc *fc)
{
	ok(fc_put_boot_source(fc, &(struct fc_boot_source){ "escaped-error", NULL, NULL }) == -1,
	    "400 is a failure");
	is_str(errmsg(), "PUT /boot-source: Bad \"x\": a\\b \xc3\xa9\xf0\x9f\x98\x80 (os error 2)",
	    "fault_message decoded and passed verbatim, prefixed by the call");
	seen();
	fc_put_boot_source(fc, &(struct fc_boot_source){ "text-error", NULL, NULL });
	is_str(errmsg(), "PUT /boot-source: HTTP 400: kernel not found",
	    "non-JSON refusal: status and the body's text");
	seen();
	fc_put_boot_source(fc, &(struct fc_boot_source){ "empty-error", NULL, NULL });
	is_str(errmsg(), "PUT /boot-source: HTTP 500 (no error message)", "empty 500");
	seen();
	fc_put_boot_source(fc, &(struct fc_boot_source){ "other-json", NULL, NULL });
	ok(strstr(errmsg(), "HTTP 400") && strstr(errmsg(), "nope"),
	    "JSON without fault_message shows the body: %s", errmsg());
	seen();
	fc_put_boot_source(fc, &(struct fc_boot_source){ "html", NULL, NULL });
	ok(strstr(errmsg(), "HTTP 502") && strstr(errmsg(), "bad gateway"), "502 html: %s", errmsg());
	seen();
}

static void
test_gets(struct fc *fc)
{
	struct fc_instance_info info;
	struct fc_machine_config m;
	char v[32], *cfg;

	ok(fc_describe(fc, &info) == 0, "describe");
	is_str(info.id, "vm\xc3\xa9", "id decoded");
	is_str(info.state, "Paused", "state");
	is_str(info.vmm_version, "1.7.0", "vmm_version");
	is_str(info.app_name, "Firecracker", "app_name");
	seen();
	ok(fc_version(fc, v, sizeof v) == 0 && !strcmp(v, "1.7.0"), "version");
	seen();
	ok(fc_version(fc, v, 3) == -1, "version into a too-small buffer fails");
	seen();
	ok(fc_get_machine_config(fc, &m) == 0 && m.vcpu_count == 2 && m.mem_size_mib == 256 &&
	    m.smt == 0 && m.track_dirty_pages == 1, "get machine-config");
	seen();
	cfg = fc_vm_config(fc);
	is_str(cfg, "{\"x\": [1, 2]}", "vm config body returned whole");
	free(cfg);
	seen();
}

static void
test_wait_ready(void)
{
	struct fc fc;
	char path[PATH_MAX];
	pid_t pid;
	int st, lfd;

	/* a child that exits before its socket appears */
	snprintf(path, sizeof path, "%s/late.sock", dir);
	pid = fork();
	if (pid == 0)
		_exit(7);
	fc_open(&fc, path, 1000);
	ok(fc_wait_ready(&fc, pid, 60000) == -1 && strstr(errmsg(), "exited with status 7"),
	    "wait_ready: an exited child is noticed: %s", errmsg());
	ok(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 7, "and is left for us to reap");
	fc_close(&fc);

	/* a server that binds a little later */
	pid = fork();
	if (pid == 0) {
		usleep(30000);
		lfd = listen_at(path);
		for (;;) {
			int fd = accept(lfd, NULL, NULL);
			char b[4096];
			if (fd < 0)
				_exit(1);
			if (read(fd, b, sizeof b) > 0)
				reply(fd, 200, "application/json", "{\"state\":\"Not started\"}");
			close(fd);
		}
	}
	fc_open(&fc, path, 10000);
	ok(fc_wait_ready(&fc, pid, 60000) == 0, "wait_ready: a socket that appears later");
	fc_close(&fc);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	snprintf(path, sizeof path, "%s/never.sock", dir);
	fc_open(&fc, path, 1000);
	ok(fc_wait_ready(&fc, 0, 50) == -1 && strstr(errmsg(), "not ready after 50 ms") &&
	    strstr(errmsg(), "no such socket"), "wait_ready: deadline, with the last error: %s", errmsg());
	fc_close(&fc);
}

static void
cleanup(void)
{
	if (dir[0])
		rm_rf(dir);
}

int
main(void)
{
	struct fc fc;
	pid_t pid;

	prog_init((char *[]){ "fc", NULL });
	snprintf(dir, sizeof dir, "/tmp/ffc.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	atexit(cleanup);
	snprintf(sock, sizeof sock, "%s/api.sock", dir);
	ok(fc_open(&fc, sock, 10000) == 0, "fc_open");
	ok(fc_describe(&fc, &(struct fc_instance_info){ 0 }) == -1 &&
	    strstr(errmsg(), "no such socket (is firecracker running?)"),
	    "no server yet: %s", errmsg());
	pid = start_server();
	test_bodies(&fc);
	test_errors(&fc);
	test_gets(&fc);
	fc_close(&fc);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fc_open(&fc, sock, 10000);
	ok(fc_pause(&fc) == -1 && strstr(errmsg(), "PATCH /vm: ") &&
	    strstr(errmsg(), "connection refused (firecracker has exited; stale socket?)"),
	    "stale socket: %s", errmsg());
	fc_close(&fc);
	test_wait_ready();
	return done_testing();
}
