/* agent-frame: the agent frame codec (common/agent.c). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "tap.h"
#include "util.h"

static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
}

/* Fork a writer that sends n bytes of b in pieces of `piece` bytes, then
 * closes. */
static pid_t
writer(int fd, const unsigned char *b, size_t n, size_t piece)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (size_t off = 0; off < n; off += piece)
			if (write_all(fd, b + off, n - off < piece ? n - off : piece) < 0)
				_exit(1);
		_exit(0);
	}
	close(fd);
	return pid;
}

static void
test_ints(void)
{
	unsigned char b[8];

	agent_put32(b, 0xdeadbeef);
	is_int(b[0], 0xde, "put32 is big endian");
	is_int(agent_get32(b), 0xdeadbeef, "get32 reads put32");
	agent_put64(b, 0x0102030405060708ull);
	is_int(b[7], 8, "put64 is big endian");
	ok(agent_get64(b) == 0x0102030405060708ull, "get64 reads put64");
}

static void
test_roundtrip(void)
{
	unsigned char buf[64];
	size_t n = 99;
	int sv[2], t;

	pair(sv);
	ok(agent_write_frame(sv[0], AGENT_T_PING, "hello", 5) == 0, "write a frame");
	ok(agent_write_frame(sv[0], AGENT_T_STDIN_EOF, NULL, 0) == 0, "write an empty frame");
	t = agent_read_frame(sv[1], buf, sizeof(buf), &n, 1000);
	is_int(t, AGENT_T_PING, "read back its type");
	is_mem(buf, n, "hello", 5, "read back its payload");
	t = agent_read_frame(sv[1], buf, sizeof(buf), &n, 1000);
	is_int(t, AGENT_T_STDIN_EOF, "empty frame type");
	is_int(n, 0, "empty frame length");
	close(sv[0]);
	t = agent_read_frame(sv[1], buf, sizeof(buf), &n, 1000);
	is_int(t, -1, "EOF before a frame fails");
	is_str(errmsg(), "connection closed", "and says the connection closed");
	close(sv[1]);
}

static void
test_split_reads(void)
{
	unsigned char f[AGENT_HDR_LEN + 300], buf[300];
	size_t n;
	int sv[2], t, st;
	pid_t pid;

	agent_put_hdr(f, AGENT_T_STDOUT, 300);
	for (int i = 0; i < 300; i++)
		f[AGENT_HDR_LEN + i] = (unsigned char)i;
	pair(sv);
	pid = writer(sv[0], f, sizeof(f), 1);
	t = agent_read_frame(sv[1], buf, sizeof(buf), &n, 10000);
	is_int(t, AGENT_T_STDOUT, "a frame written one byte at a time is read whole");
	is_mem(buf, n, f + AGENT_HDR_LEN, 300, "with its payload intact");
	waitpid(pid, &st, 0);
	close(sv[1]);
}

static void
test_max_frame(void)
{
	size_t len = AGENT_MAX_PAYLOAD, n = 0;
	unsigned char *f = malloc(AGENT_HDR_LEN + len), *buf = malloc(len);
	int sv[2], t, st;
	pid_t pid;

	agent_put_hdr(f, AGENT_T_STDIN, (uint32_t)len);
	memset(f + AGENT_HDR_LEN, 'x', len);
	pair(sv);
	pid = writer(sv[0], f, AGENT_HDR_LEN + len, 4093);
	t = agent_read_frame(sv[1], buf, len, &n, 10000);
	is_int(t, AGENT_T_STDIN, "a frame of exactly the limit is accepted");
	is_int(n, len, "with all its bytes");
	waitpid(pid, &st, 0);
	close(sv[1]);
	ok(agent_write_frame(sv[1], 1, f, len + 1) == -1 && strstr(errmsg(), "limit"),
	    "writing a frame over the limit is refused");
	free(f);
	free(buf);
}

static void
test_oversized(void)
{
	unsigned char h[AGENT_HDR_LEN], buf[16];
	size_t n;
	int sv[2], t;

	pair(sv);
	agent_put_hdr(h, AGENT_T_STDOUT, 17);
	write_all(sv[0], h, sizeof(h));
	t = agent_read_frame(sv[1], buf, sizeof(buf), &n, 1000);
	ok(t == -1 && strstr(errmsg(), "oversized"), "a frame larger than the buffer is refused");
	agent_put_hdr(h, AGENT_T_STDOUT, AGENT_MAX_PAYLOAD + 1);
	write_all(sv[0], h, sizeof(h));
	t = agent_read_frame(sv[1], buf, (size_t)-1, &n, 1000);
	ok(t == -1 && strstr(errmsg(), "oversized"), "a frame over AGENT_MAX_PAYLOAD is refused");
	close(sv[0]);
	close(sv[1]);
}

static void
test_truncated(void)
{
	unsigned char f[AGENT_HDR_LEN + 4], buf[16];
	size_t n;
	int sv[2], t;

	pair(sv);
	agent_put_hdr(f, AGENT_T_STDOUT, 10);
	memcpy(f + AGENT_HDR_LEN, "abcd", 4);
	write_all(sv[0], f, sizeof(f));
	close(sv[0]);
	t = agent_read_frame(sv[1], buf, sizeof(buf), &n, 1000);
	ok(t == -1 && strstr(errmsg(), "truncated frame"), "EOF inside a payload: truncated");
	close(sv[1]);
	pair(sv);
	write_all(sv[0], f, 3);
	close(sv[0]);
	t = agent_read_frame(sv[1], buf, sizeof(buf), &n, 1000);
	ok(t == -1 && strstr(errmsg(), "truncated frame"), "EOF inside a header: truncated");
	close(sv[1]);
}

static void
test_timeout(void)
{
	unsigned char buf[16];
	size_t n;
	int sv[2], t;

	pair(sv);
	write_all(sv[0], "\x03\x00", 2);
	t = agent_read_frame(sv[1], buf, sizeof(buf), &n, 20);
	ok(t == -1 && strstr(errmsg(), "timed out"), "a stalled frame times out");
	close(sv[0]);
	close(sv[1]);
}

static void
test_decode(void)
{
	unsigned char f[2 * AGENT_HDR_LEN + 7];
	const unsigned char *p;
	size_t n, used, len;
	int type, r = 0;

	agent_put_hdr(f, AGENT_T_STDERR, 3);
	memcpy(f + AGENT_HDR_LEN, "abc", 3);
	agent_put_hdr(f + AGENT_HDR_LEN + 3, AGENT_T_WINDOW, 4);
	agent_put32(f + 2 * AGENT_HDR_LEN + 3, 1234);
	for (len = 0; len <= AGENT_HDR_LEN + 3; len++) {
		r = agent_decode(f, len, 100, &type, &p, &n, &used);
		if (r != (len == AGENT_HDR_LEN + 3))
			break;
	}
	ok(len == AGENT_HDR_LEN + 4 && r == 1, "decode waits for the whole frame, byte by byte");
	ok(type == AGENT_T_STDERR && n == 3 && !memcmp(p, "abc", 3) && used == 8,
	    "and returns its type, payload and size");
	r = agent_decode(f + used, sizeof(f) - used, 100, &type, &p, &n, &used);
	ok(r == 1 && type == AGENT_T_WINDOW && agent_get32(p) == 1234, "decodes the next frame");
	r = agent_decode(f, sizeof(f), 2, &type, &p, &n, &used);
	ok(r == -1 && strstr(errmsg(), "oversized"), "decode refuses a frame over its limit");
	agent_put_hdr(f, AGENT_T_STDERR, 0xffffffffu);
	r = agent_decode(f, AGENT_HDR_LEN, (size_t)-1, &type, &p, &n, &used);
	ok(r == -1, "decode refuses a frame over AGENT_MAX_PAYLOAD");
}

/* The guest says how its command ended; a status no process can have is
 * a lie, refused rather than passed on as fc-exec's own status. */
static void
test_exit_parse(void)
{
	static const struct { int kind; uint32_t code; int good; const char *what; } c[] = {
		{ AGENT_EXIT_CODE, 0, 1, "exit status 0" },
		{ AGENT_EXIT_CODE, 255, 1, "exit status 255" },
		{ AGENT_EXIT_CODE, 256, 0, "exit status 256 (would be fc-exec's 0)" },
		{ AGENT_EXIT_CODE, 0xffffffffu, 0, "exit status 2^32-1" },
		{ AGENT_EXIT_SIGNAL, 9, 1, "signal 9" },
		{ AGENT_EXIT_SIGNAL, 64, 1, "signal 64" },
		{ AGENT_EXIT_SIGNAL, 0, 0, "signal 0" },
		{ AGENT_EXIT_SIGNAL, 65, 0, "signal 65" },
		{ AGENT_EXIT_SIGNAL, 2147483647, 0, "signal 2^31-1 (128 + it overflowed)" },
		{ AGENT_EXIT_TIMEOUT, 9, 1, "a timeout" },
		{ AGENT_EXIT_TIMEOUT, 300, 0, "a timeout with status 300" },
		{ 3, 0, 0, "kind 3" },
	};
	unsigned char p[5];
	int kind, code, r;
	size_t i;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		p[0] = (unsigned char)c[i].kind;
		agent_put32(p + 1, c[i].code);
		kind = code = -1;
		r = agent_exit_parse(p, sizeof p, &kind, &code);
		if (c[i].good)
			ok(r == 0 && kind == c[i].kind && code == (int)c[i].code, "EXIT with %s is taken",
			    c[i].what);
		else
			ok(r == -1 && strstr(errmsg(), "malformed exit frame") && kind == -1,
			    "EXIT with %s is refused: %s", c[i].what, errmsg());
	}
	ok(agent_exit_parse(p, 4, &kind, &code) == -1, "a short EXIT frame is refused");
}

/* Guest and bucket text reaches a terminal only as printable ASCII. */
static void
test_shown(void)
{
	char s[] = "a\x1b[2J\x1b]0;pwned\x07\rb\nc\x7f\xc3\xa9" "d";

	is_str(text_shown(s), "a?[2J?]0;pwned??b?c???d",
	    "text_shown: ESC, BEL, CR, LF, DEL and high bytes become ?");
}

int
main(int argc, char **argv)
{
	prog_init(argv);
	test_ints();
	test_roundtrip();
	test_split_reads();
	test_max_frame();
	test_oversized();
	test_truncated();
	test_timeout();
	test_decode();
	test_exit_parse();
	test_shown();
	return done_testing();
}
