/* http-bench: N GET requests over one persistent connection (bench/http).
 *
 *   http-bench SOCK N [PATH]
 *
 * Prints "requests=N seconds=S rps=R" on stdout.  Every answer must be a
 * 200; anything else stops the run with exit 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "http.h"
#include "util.h"

int
main(int argc, char **argv)
{
	struct http_conn *c;
	struct http_response r;
	long long n, i;
	int64_t t0, t1;
	double s;

	prog_init(argv);
	if (argc < 3 || argc > 4)
		usage_die("usage: http-bench SOCK N [PATH]");
	if (parse_long(argv[2], 1, 100000000, &n, "request count") < 0)
		usage_die("%s", errmsg());
	c = http_unix(argv[1], 30000);
	if (!c)
		die("%s", errmsg());
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (http_request(c, "GET", argc > 3 ? argv[3] : "/", NULL, NULL, 0, &r) < 0)
			die("request %lld: %s", i + 1, errmsg());
		if (r.status != 200)
			die("request %lld: HTTP %d", i + 1, r.status);
		http_response_free(&r);
	}
	t1 = now_ns();
	http_close(c);
	s = (double)(t1 - t0) / 1e9;
	printf("requests=%lld seconds=%.3f rps=%.0f\n", n, s, (double)n / s);
	return 0;
}
