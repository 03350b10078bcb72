/* Unit tests for the socket side of http: a small server forked in the
 * test, on a Unix socket (and TCP) under a fresh /tmp directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "util.h"
#include "tap.h"

enum mode {
	M_KEEP,         /* answer every request, keep the connection */
	M_IDLE_CLOSE,   /* answer, then close; tell the test through syncfd */
	M_DROP_SECOND,  /* on each connection: answer the 1st, close on the 2nd unanswered */
	M_HANG,         /* read the request, never answer */
	M_HALF_BODY,    /* Content-Length: 100 and 10 bytes, then close */
	M_GARBAGE,      /* not HTTP */
	M_CONN_CLOSE,   /* answer with Connection: close and close */
	M_ECHO,         /* echo the request body */
	M_CHUNKED,      /* chunked answer */
	M_BIG,          /* a body larger than the test's limit */
	M_HOST,         /* answer with the request's Host header */
};

static char dir[64];

/* Read one request; returns body length or -1 at EOF/error. */
static long
read_request(int fd, char *buf, size_t cap, char **body)
{
	size_t n = 0;
	ssize_t r;
	char *end, *cl;
	long len = 0, hl;

	for (;;) {
		buf[n] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (n + 1 >= cap)
			return -1;
		r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	hl = end + 4 - buf;
	cl = strcasestr(buf, "\r\ncontent-length:");
	if (cl && cl < end)
		len = strtol(cl + 17, NULL, 10);
	if ((size_t)(hl + len) >= cap)
		return -1;
	while ((long)n < hl + len) {
		r = read(fd, buf + n, (size_t)(hl + len) - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	*body = buf + hl;
	return len;
}

static void
answer(int fd, const char *extra, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n%sContent-Length: %zu\r\n\r\n",
	    extra, len);

	if (write_all(fd, head, (size_t)n) < 0 || write_all(fd, body, len) < 0)
		_exit(3);
}

/* Serve one connection; returns when it is closed. */
static void
serve_conn(int fd, enum mode m, int conn, int syncfd)
{
	static char buf[4 << 20];
	char msg[64], *body;
	long len;
	int req = 0, n;

	while ((len = read_request(fd, buf, sizeof buf, &body)) >= 0) {
		req++;
		n = snprintf(msg, sizeof msg, "c=%d r=%d", conn, req);
		switch (m) {
		case M_KEEP:
			answer(fd, "", msg, (size_t)n);
			break;
		case M_IDLE_CLOSE:
			answer(fd, "", msg, (size_t)n);
			close(fd);
			if (write(syncfd, "x", 1) != 1)
				_exit(3);
			return;
		case M_DROP_SECOND:
			if (req == 2) {
				close(fd);
				return;
			}
			answer(fd, "", msg, (size_t)n);
			break;
		case M_HANG:
			pause();
			break;
		case M_HALF_BODY:
			write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", 50);
			close(fd);
			return;
		case M_GARBAGE:
			write_all(fd, "SSH-2.0-OpenSSH_9.6\r\n\r\n", 23);
			break;
		case M_CONN_CLOSE:
			answer(fd, "Connection: close\r\n", msg, (size_t)n);
			close(fd);
			return;
		case M_ECHO:
			answer(fd, "", body, (size_t)len);
			break;
		case M_CHUNKED:
			write_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			    "3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nT: 1\r\n\r\n", 80);
			break;
		case M_BIG:
			memset(buf, 'b', 5000);
			answer(fd, "", buf, 5000);
			break;
		case M_HOST: {
			char *h = strcasestr(buf, "\r\nHost: ");
			answer(fd, "", h ? h + 8 : "none", h ? strcspn(h + 8, "\r") : 4);
			break;
		}
		}
	}
	close(fd);
}

static pid_t
server(int lfd, enum mode m, int syncfd)
{
	pid_t pid = fork();
	int fd, conn = 0;

	if (pid != 0) {
		close(lfd);
		return pid;
	}
	while ((fd = accept(lfd, NULL, NULL)) >= 0)
		serve_conn(fd, m, ++conn, syncfd);
	_exit(0);
}

static void
stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	unlink(path);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, 8) < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

/* Start a server in mode m on dir/name; returns its pid. */
static pid_t
start(const char *name, enum mode m, int syncfd, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", dir, name);
	return server(listen_unix(path), m, syncfd);
}

static int
get(struct http_conn *c, const char *method, const char *want_body)
{
	struct http_response r;
	int good;

	if (http_request(c, method, "/", NULL, NULL, 0, &r) < 0) {
		printf("# %s\n", errmsg());
		return 0;
	}
	good = r.status == 200 && r.body && !strcmp(r.body, want_body);
	if (!good)
		printf("# got %d '%s'\n", r.status, r.body ? r.body : "");
	http_response_free(&r);
	return good;
}

static void
test_keepalive(void)
{
	char path[PATH_MAX];
	pid_t pid = start("keep", M_KEEP, -1, path, sizeof path);
	struct http_conn *c = http_unix(path, 10000);

	ok(get(c, "GET", "c=1 r=1"), "first request opens connection 1");
	ok(get(c, "GET", "c=1 r=2"), "second request reuses it");
	ok(get(c, "PUT", "c=1 r=3"), "third (PUT, empty body) reuses it too");
	http_close(c);
	stop(pid);
	pid = start("host", M_HOST, -1, path, sizeof path);
	c = http_unix(path, 10000);
	ok(get(c, "GET", "localhost"), "Unix socket: Host: localhost");
	is_int(http_last_error(c), HTTP_OK, "no error recorded after success");
	http_close(c);
	stop(pid);
}

static void
test_idle_close(void)
{
	char path[PATH_MAX], x;
	int sp[2];
	pid_t pid;
	struct http_conn *c;

	if (pipe(sp) < 0)
		exit(1);
	pid = start("idle", M_IDLE_CLOSE, sp[1], path, sizeof path);
	c = http_unix(path, 10000);
	ok(get(c, "GET", "c=1 r=1"), "idle close: first answer");
	ok(read(sp[0], &x, 1) == 1, "server closed the idle connection");
	ok(get(c, "PUT", "c=2 r=1"), "PUT after an idle close goes out on a new connection");
	ok(read(sp[0], &x, 1) == 1, "server closed again");
	ok(get(c, "GET", "c=3 r=1"), "and once more");
	http_close(c);
	stop(pid);
	close(sp[0]);
	close(sp[1]);
}

static void
test_drop_unanswered(void)
{
	char path[PATH_MAX];
	pid_t pid = start("drop", M_DROP_SECOND, -1, path, sizeof path);
	struct http_conn *c = http_unix(path, 10000);
	struct http_response r;

	ok(get(c, "GET", "c=1 r=1"), "drop: first answer");
	ok(get(c, "GET", "c=2 r=1"), "GET closed unanswered on a reused connection is retried once");
	ok(http_request(c, "PUT", "/", NULL, "{}", 2, &r) == -1 &&
	    http_last_error(c) == HTTP_ECLOSED && strstr(errmsg(), "without a response"),
	    "PUT closed unanswered is not retried: 'closed without a response'");
	ok(strstr(errmsg(), path) != NULL, "the message names the socket");
	ok(get(c, "GET", "c=3 r=1"), "the next request reconnects");
	http_close(c);
	stop(pid);
}

static void
test_timeout(void)
{
	char path[PATH_MAX];
	pid_t pid = start("hang", M_HANG, -1, path, sizeof path);
	struct http_conn *c = http_unix(path, 200);
	struct http_response r;
	int64_t t0 = now_ms();
	int rc = http_request(c, "GET", "/", NULL, NULL, 0, &r);

	ok(rc == -1 && http_last_error(c) == HTTP_ETIMEOUT, "a server that never answers times out");
	ok(strstr(errmsg(), "timed out after 200 ms") != NULL, "message: %s", errmsg());
	ok(now_ms() - t0 >= 190, "not before the timeout");
	http_set_timeout(c, 100);
	rc = http_request(c, "GET", "/", NULL, NULL, 0, &r);
	ok(rc == -1 && http_last_error(c) == HTTP_ETIMEOUT, "http_set_timeout applies to the next request");
	http_close(c);
	stop(pid);
}

static void
test_half_body(void)
{
	char path[PATH_MAX];
	pid_t pid = start("half", M_HALF_BODY, -1, path, sizeof path);
	struct http_conn *c = http_unix(path, 10000);
	struct http_response r;

	ok(http_request(c, "GET", "/", NULL, NULL, 0, &r) == -1 &&
	    http_last_error(c) == HTTP_ECLOSED && strstr(errmsg(), "mid-response"),
	    "peer closing mid-body: %s", errmsg());
	http_close(c);
	stop(pid);
}

static void
test_garbage(void)
{
	char path[PATH_MAX];
	pid_t pid = start("junk", M_GARBAGE, -1, path, sizeof path);
	struct http_conn *c = http_unix(path, 10000);
	struct http_response r;

	ok(http_request(c, "GET", "/", NULL, NULL, 0, &r) == -1 &&
	    http_last_error(c) == HTTP_EMALFORMED && strstr(errmsg(), "malformed"),
	    "non-HTTP answer: %s", errmsg());
	http_close(c);
	stop(pid);
}

static void
test_conn_close(void)
{
	char path[PATH_MAX];
	pid_t pid = start("cc", M_CONN_CLOSE, -1, path, sizeof path);
	struct http_conn *c = http_unix(path, 10000);

	ok(get(c, "PUT", "c=1 r=1"), "Connection: close answer read");
	ok(get(c, "PUT", "c=2 r=1"), "next request on a new connection");
	http_close(c);
	stop(pid);
}

static void
test_echo(void)
{
	char path[PATH_MAX];
	pid_t pid = start("echo", M_ECHO, -1, path, sizeof path);
	struct http_conn *c = http_unix(path, 10000);
	struct http_response r;
	size_t n = 3 << 20, i;
	char *big = malloc(n);

	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	ok(http_request(c, "PUT", "/echo", "application/octet-stream", big, n, &r) == 0 &&
	    r.body_len == n && !memcmp(r.body, big, n), "a 3 MiB body is written whole");
	http_response_free(&r);
	ok(http_request(c, "PATCH", "/vm", NULL, "{\"state\":\"Paused\"}", 18, &r) == 0 &&
	    r.body_len == 18 && !strcmp(r.body, "{\"state\":\"Paused\"}"), "small body after it");
	http_response_free(&r);
	free(big);
	http_close(c);
	stop(pid);
}

static void
test_chunked_and_limit(void)
{
	char path[PATH_MAX];
	pid_t pid = start("chunk", M_CHUNKED, -1, path, sizeof path);
	struct http_conn *c = http_unix(path, 10000);
	struct http_response r;

	ok(get(c, "GET", "abcdefg"), "chunked answer over the socket");
	ok(get(c, "GET", "abcdefg"), "again on the same connection (trailers consumed)");
	http_close(c);
	stop(pid);

	pid = start("big", M_BIG, -1, path, sizeof path);
	c = http_unix(path, 10000);
	http_set_max_body(c, 4096);
	ok(http_request(c, "GET", "/", NULL, NULL, 0, &r) == -1 &&
	    http_last_error(c) == HTTP_ETOOBIG && strstr(errmsg(), "too large"),
	    "body over the connection's limit: %s", errmsg());
	http_close(c);
	stop(pid);
}

static void
test_missing_and_refused(void)
{
	char path[PATH_MAX];
	struct http_conn *c;
	struct http_response r;
	int fd;

	snprintf(path, sizeof path, "%s/nosuch.sock", dir);
	c = http_unix(path, 1000);
	ok(http_request(c, "GET", "/", NULL, NULL, 0, &r) == -1 &&
	    http_last_error(c) == HTTP_ENOSOCK && strstr(errmsg(), "no such socket") &&
	    strstr(errmsg(), path), "missing socket file: %s", errmsg());
	http_close(c);

	snprintf(path, sizeof path, "%s/nodir/x.sock", dir);
	c = http_unix(path, 1000);
	ok(http_request(c, "GET", "/", NULL, NULL, 0, &r) == -1 &&
	    http_last_error(c) == HTTP_ENOSOCK, "missing directory: no such socket");
	http_close(c);

	snprintf(path, sizeof path, "%s/stale.sock", dir);
	fd = listen_unix(path);
	close(fd);
	c = http_unix(path, 1000);
	ok(http_request(c, "GET", "/", NULL, NULL, 0, &r) == -1 &&
	    http_last_error(c) == HTTP_EREFUSED && strstr(errmsg(), "refused"),
	    "stale socket file: %s", errmsg());
	http_close(c);

	snprintf(path, sizeof path, "%s/plain", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	c = http_unix(path, 1000);
	ok(http_request(c, "GET", "/", NULL, NULL, 0, &r) == -1 &&
	    http_last_error(c) == HTTP_EREFUSED, "a regular file is refused too: %s", errmsg());
	http_close(c);
}

static void
test_long_path(void)
{
	char sub[256], path[PATH_MAX], cwd[PATH_MAX];
	struct http_conn *c;
	pid_t pid;
	int fd;

	snprintf(sub, sizeof sub, "%s/%0100d", dir, 0);
	mkdir(sub, 0700);
	snprintf(path, sizeof path, "%s/api.sock", sub);
	ok(strlen(path) > sizeof ((struct sockaddr_un *)0)->sun_path, "path is %zu bytes", strlen(path));
	if (!getcwd(cwd, sizeof cwd) || chdir(sub) < 0)
		exit(1);
	fd = listen_unix("api.sock");
	if (chdir(cwd) < 0)
		exit(1);
	pid = server(fd, M_KEEP, -1);
	c = http_unix(path, 10000);
	ok(get(c, "GET", "c=1 r=1"), "socket path longer than sun_path works");
	ok(get(c, "GET", "c=1 r=2"), "and stays connected");
	http_close(c);
	stop(pid);
	unlink(path);

	snprintf(path, sizeof path, "%s/%0100d.sock", sub, 1);
	c = http_unix(path, 1000);
	ok(http_request(c, "GET", "/", NULL, NULL, 0, &(struct http_response){ 0 }) == -1 &&
	    http_last_error(c) == HTTP_EIO && strstr(errmsg(), "use a shorter path"),
	    "a socket file name too long even for /proc/self/fd is refused clearly");
	http_close(c);
	rmdir(sub);
}

static void
test_tcp(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;
	char want[64];
	struct http_conn *c;
	pid_t pid;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
		exit(1);
	port = ntohs(sin.sin_port);
	pid = server(fd, M_KEEP, -1);
	c = http_tcp("127.0.0.1", port, 10000);
	ok(get(c, "GET", "c=1 r=1"), "TCP: first request");
	ok(get(c, "GET", "c=1 r=2"), "TCP: keep-alive");
	http_close(c);
	stop(pid);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_port = 0;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
		exit(1);
	port = ntohs(sin.sin_port);
	pid = server(fd, M_HOST, -1);
	c = http_tcp("127.0.0.1", port, 10000);
	snprintf(want, sizeof want, "127.0.0.1:%d", port);
	ok(get(c, "GET", want), "TCP: Host header is host:port");
	http_close(c);
	stop(pid);
	ok(http_tcp("127.0.0.1", 0, 100) == NULL, "port 0 refused");
}

static void
test_bad_request(void)
{
	struct http_conn *c = http_unix("/nonexistent/x", 100);
	struct http_response r;

	ok(http_request(c, "GET", "/a b", NULL, NULL, 0, &r) == -1, "space in path refused");
	ok(http_request(c, "GET", "/\r\nX: y", NULL, NULL, 0, &r) == -1, "CRLF in path refused");
	http_close(c);
	ok(http_unix("", 100) == NULL, "empty socket path refused");
}

static void
cleanup(void)
{
	char cmd[PATH_MAX];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof cmd, "%s", dir);
	rm_rf(cmd);
}

int
main(void)
{
	prog_init((char *[]){ "http-conn", NULL });
	snprintf(dir, sizeof dir, "/tmp/fhc.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	atexit(cleanup);
	test_keepalive();
	test_idle_close();
	test_drop_unanswered();
	test_timeout();
	test_half_body();
	test_garbage();
	test_conn_close();
	test_echo();
	test_chunked_and_limit();
	test_missing_and_refused();
	test_long_path();
	test_tcp();
	test_bad_request();
	return done_testing();
}
