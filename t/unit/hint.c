/* hint: the working-set hint's parser refuses everything but its one
 * form, and hint_format writes that form. */
#include "hint.h"
#include "util.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define AT "2026-11-25T00:33:25Z"
#define HEAD "fcsnap-hint 1\ncreated_at " AT "\n"

static int
parse(const char *t, uint64_t pages, struct hint *h)
{
	return hint_parse(t, strlen(t), AT, pages, h);
}

/* -1 and a message holding why. */
static void
refused(const char *t, const char *why, const char *name)
{
	struct hint h;
	int r = parse(t, 100, &h);

	ok(r == -1 && strstr(errmsg(), why), "refused: %s (%s)", name, r < 0 ? errmsg() : "parsed");
}

int
main(void)
{
	struct hint h;
	uint64_t pages[3] = { 0, 7, 99 };
	size_t n;
	char *t, big[HINT_MAX_BYTES + 2];

	is_int(parse(HEAD "0\n7\n99\n", 100, &h), 0, "a hint parses");
	is_int(h.n, 3, "three pages");
	ok(h.n == 3 && h.pages[0] == 0 && h.pages[1] == 7 && h.pages[2] == 99, "in order");
	hint_free(&h);
	is_int(parse(HEAD, 100, &h), 0, "no pages at all parses");
	is_int(h.n, 0, "and lists none");
	hint_free(&h);
	is_int(parse("fcsnap-hint 1\ncreated_at 2001-01-01T00:00:00Z\n1\n", 100, &h), 1,
	    "another generation's is stale");
	refused("", "does not start with", "empty");
	refused("fcsnap-hint 2\n", "does not start with", "another version");
	refused("fcsnap-hint 1\n", "no created_at line", "no stamp");
	refused("fcsnap-hint 1\ncreated_at " AT, "malformed", "stamp unended");
	refused(HEAD "100\n", "past the end of mem", "page past mem");
	refused(HEAD "5\n5\n", "out of order", "a page twice");
	refused(HEAD "6\n5\n", "out of order", "pages descending");
	refused(HEAD "05\n", "not a page number", "a leading zero");
	refused(HEAD "+5\n", "not a page number", "a sign");
	refused(HEAD "5 \n", "not a page number", "a space");
	refused(HEAD "\n", "not a page number", "an empty line");
	refused(HEAD "5", "not ended", "the last line unended");
	refused(HEAD "99999999999999999999\n", "not a page number", "a huge number");
	memset(big, '1', sizeof big);
	ok(hint_parse(big, sizeof big, AT, 100, &h) == -1 && strstr(errmsg(), "larger than"),
	    "refused: larger than HINT_MAX_BYTES");
	t = hint_format(AT, pages, 3, &n);
	is_mem(t, n, HEAD "0\n7\n99\n", strlen(HEAD "0\n7\n99\n"), "hint_format writes the form");
	free(t);
	return done_testing();
}
