/* curlcfg: see curlcfg.h. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "curlcfg.h"
#include "util.h"

#define PIPE_MAX (1 << 20)

int
curlcfg_quote(struct strbuf *b, const char *s)
{
	sb_addc(b, '"');
	for (; *s; s++) {
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return fail("control character in a request field");
		if (*s == '"' || *s == '\\')
			sb_addc(b, '\\');
		sb_addc(b, *s);
	}
	sb_addc(b, '"');
	return 0;
}

void
curlcfg_token(char *out, size_t n, const char *prefix)
{
	unsigned char r[16];
	size_t i, pl = strlen(prefix);

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		uint64_t a = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32), b = a * 0x9e3779b97f4a7c15ULL;
		memcpy(r, &a, 8);
		memcpy(r + 8, &b, 8);
	}
	if (n < pl + 2 * sizeof r + 1)
		return;
	memcpy(out, prefix, pl);
	for (i = 0; i < sizeof r; i++)
		snprintf(out + pl + 2 * i, 3, "%02x", r[i]);
}

int
curlcfg_pipe(const struct strbuf *cfg)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	if (cfg->len > 60000 && fcntl(p[1], F_SETPIPE_SZ, PIPE_MAX) < (int)cfg->len) {
		close(p[0]);
		close(p[1]);
		return fail("curl config too large for a pipe");
	}
	if (write_all(p[1], cfg->s, cfg->len) < 0) {
		close(p[0]);
		close(p[1]);
		return fail_errno("writing curl config");
	}
	close(p[1]);
	return p[0];
}
