/* hint: the working-set hint's parser refuses everything but its one
 * form, and hint_format writes that form. */
#include "chunk.h"
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

#define HEAD2 "fcsnap-hint 2\ncreated_at " AT "\n"
#define SHA0 "0000000000000000000000000000000000000000000000000000000000000000"

/* Format 2: blocks, their checks, and where their bytes are. */
static void
blocks(void)
{
	struct hint h;
	struct hint_block b[2];
	struct mchunk ch[2];
	struct mfile f;
	uint64_t pages[2] = { 17, 40 }, off, len;
	size_t n;
	char *t;

	is_int(parse(HEAD2 "17\n40\nblocks 65536\n1 0003 5 " SHA0 "\n2 8000 0 " SHA0 "\n",
	    100, &h), 0, "format 2 parses");
	ok(h.n == 2 && h.nblk == 2 && h.chunk_size == 65536 && h.blk[0].block == 1 &&
	    h.blk[0].mask == 3 && h.blk[0].skip == 5 && h.blk[1].mask == 0x8000,
	    "its pages and blocks");
	hint_free(&h);
	refused(HEAD2 "17\n", "no blocks line", "format 2 without blocks");
	refused(HEAD2 "blocks 1000\n", "blocks line is malformed", "a chunk size not of blocks");
	refused(HEAD2 "blocks 65536\n1 3 5 " SHA0 "\n", "malformed", "a short mask");
	refused(HEAD2 "blocks 65536\n1 0003 5 " SHA0 "0\n", "malformed", "a long SHA-256");
	refused(HEAD2 "blocks 65536\n1 0003 5 " SHA0 " \n", "malformed", "a stray space");
	refused(HEAD2 "blocks 65536\n1 000G 5 " SHA0 "\n", "malformed", "a mask not hex");
	refused(HEAD2 "blocks 65536\n7 0001 0 " SHA0 "\n", "past the end of mem", "a block past mem");
	refused(HEAD2 "blocks 65536\n6 0010 0 " SHA0 "\n", "a page past the end", "a page past mem");
	refused(HEAD2 "blocks 65536\n1 0001 16 " SHA0 "\n", "past its chunk", "a skip past its chunk");
	refused(HEAD2 "blocks 65536\n2 0001 0 " SHA0 "\n1 0001 0 " SHA0 "\n", "out of order",
	    "blocks descending");

	memset(b, 0, sizeof b);
	b[0] = (struct hint_block){ 1, 0x0003, 5, { 0 } };
	b[1] = (struct hint_block){ 2, 0xffff, 0, { 0xab } };
	t = hint_format_blocks(AT, pages, 2, 65536, b, 2, &n);
	ok(t && parse(t, 100, &h) == 0 && h.nblk == 2 && h.blk[1].sha[0] == 0xab &&
	    h.blk[1].mask == 0xffff && h.blk[0].skip == 5, "hint_format_blocks round-trips");
	hint_free(&h);
	free(t);

	/* mem of 2 chunks of 128 KiB: a raw one, a sparse one */
	memset(&f, 0, sizeof f);
	memset(ch, 0, sizeof ch);
	f.size = 256 * 1024;
	f.nchunks = 2;
	f.chunks = ch;
	ch[1].sparse = 1;
	b[0] = (struct hint_block){ 1, 0xffff, 16, { 0 } };
	ok(hint_block_range(&b[0], 131072, &f, &off, &len) == 0 && off == 65536 && len == 65536,
	    "raw: the block's own bytes");
	b[0].skip = 15;
	is_int(hint_block_range(&b[0], 131072, &f, &off, &len), -1, "raw: another offset is refused");
	b[0] = (struct hint_block){ 1, 0x00ff, 16, { 0 } };
	is_int(hint_block_range(&b[0], 131072, &f, &off, &len), -1, "raw: a zero page is refused");
	b[0] = (struct hint_block){ 3, 0x0101, 7, { 0 } };
	ok(hint_block_range(&b[0], 131072, &f, &off, &len) == 0 &&
	    off == chunk_head_len(131072) + 7 * 4096 && len == 2 * 4096,
	    "sparse: after the header and the pages it skips");
	b[0].skip = 31;
	is_int(hint_block_range(&b[0], 131072, &f, &off, &len), -1, "sparse: past its chunk");
	b[0] = (struct hint_block){ 3, 0, 7, { 0 } };
	ok(hint_block_range(&b[0], 131072, &f, &off, &len) == 0 && len == 0,
	    "sparse: an all-zero block has nothing to fetch");
	b[0].block = 1;
	is_int(hint_block_range(&b[0], 131072, &f, &off, &len), -1, "raw: it cannot be all zero");
	b[0] = (struct hint_block){ 3, 0x0101, 31, { 0 } };
	ch[1].zero = 1;
	b[0].skip = 0;
	is_int(hint_block_range(&b[0], 131072, &f, &off, &len), -1, "a zero chunk is refused");
	is_int(hint_block_range(&b[0], 100000, &f, &off, &len), -1, "chunks not of blocks");
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
	refused("fcsnap-hint 3\n", "does not start with", "another version");
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
	blocks();
	return done_testing();
}
