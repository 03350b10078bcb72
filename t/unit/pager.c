/* Unit tests for common/pager.c's region list: what firecracker sends is
 * taken only when every region is aligned, non-empty, inside the memory
 * file and alone; anything else is refused with a message. */
#include "tap.h"
#include "pager.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define MB (1024 * 1024ULL)

static int
parse(struct pager *p, const char *js)
{
	pager_init(p);
	p->mem_size = 64 * MB;
	p->npages = p->mem_size / PAGER_PAGE;
	return pager_parse_regions(p, js, strlen(js));
}

static void
refused(const char *js, const char *want, const char *name)
{
	struct pager p;
	int r = parse(&p, js);

	ok(r < 0 && strstr(errmsg(), want), "%s", name);
	if (r == 0 || !strstr(errmsg(), want))
		printf("#   got %d '%s', want /%s/\n", r, r < 0 ? errmsg() : "", want);
}

int
main(void)
{
	struct pager p;

	is_int(parse(&p, "[{\"base_host_virt_addr\":140000000000000,\"size\":67108864,"
	    "\"offset\":0}]"), 0, "1.3's region list (no page size)");
	is_int(p.nreg, 1, "one region");
	ok(p.reg[0].base == 140000000000000ULL && p.reg[0].size == 64 * MB, "its fields");
	is_int(parse(&p, "[{\"base_host_virt_addr\":4096,\"size\":33554432,\"offset\":0,"
	    "\"page_size_kib\":4096},{\"base_host_virt_addr\":1073741824,\"size\":33554432,"
	    "\"offset\":33554432,\"page_size_kib\":4096}]"), 0, "1.7's, two regions");
	is_int(p.nreg, 2, "two regions");
	is_int(parse(&p, "[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0,"
	    "\"page_size\":4096,\"page_size_kib\":4096,\"future\":[1,2]}]"), 0,
	    "1.10's with both page sizes and an unknown field");
	refused("{}", "not an array", "an object instead of the list");
	refused("[]", "not an array of 1 to", "an empty list");
	refused("[{\"base_host_virt_addr\":0,\"size\":4096,\"offset\":0}", "region list from "
	    "firecracker", "truncated JSON");
	refused("[{\"size\":4096,\"offset\":0}]", "no base_host_virt_addr", "a missing field");
	refused("[{\"base_host_virt_addr\":-4096,\"size\":4096,\"offset\":0}]",
	    "non-negative integer", "a negative address");
	refused("[{\"base_host_virt_addr\":\"4096\",\"size\":4096,\"offset\":0}]",
	    "non-negative integer", "a string address");
	refused("[{\"base_host_virt_addr\":4097,\"size\":4096,\"offset\":0}]", "aligned",
	    "an unaligned address");
	refused("[{\"base_host_virt_addr\":4096,\"size\":0,\"offset\":0}]", "empty",
	    "an empty region");
	refused("[{\"base_host_virt_addr\":4096,\"size\":8192,\"offset\":67104768}]",
	    "outside the", "a region past the end of the file");
	refused("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":9223372036854771712}]",
	    "outside the", "an offset that would overflow");
	refused("[{\"base_host_virt_addr\":9223372036854771712,\"size\":9223372036854771712,"
	    "\"offset\":0}]", "outside the", "an address range that wraps");
	refused("[{\"base_host_virt_addr\":4096,\"size\":8192,\"offset\":0},"
	    "{\"base_host_virt_addr\":8192,\"size\":4096,\"offset\":8192}]", "overlap",
	    "overlapping host ranges");
	refused("[{\"base_host_virt_addr\":4096,\"size\":8192,\"offset\":0},"
	    "{\"base_host_virt_addr\":65536,\"size\":4096,\"offset\":4096}]", "overlap",
	    "overlapping file ranges");
	refused("[{\"base_host_virt_addr\":2097152,\"size\":2097152,\"offset\":0,"
	    "\"page_size\":2097152}]", "only 4 KiB pages", "huge pages");
	refused("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]", "1 to 16", "too many regions");
	return done_testing();
}
