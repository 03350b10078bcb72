/* manifest: write/parse round trip and refusal of hostile manifests. */
#include "manifest.h"
#include "util.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H64B "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H64C "2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CS "65536"

static int
parses(const char *js)
{
	struct manifest m;
	int r = manifest_parse(js, strlen(js), &m);

	if (r == 0)
		manifest_free(&m);
	return r == 0;
}

static char *
docf(int format, const char *vm, const char *mem, const char *rootfs)
{
	static char buf[8192];

	snprintf(buf, sizeof buf, "{\"format\":%d,\"name\":\"py\",\"chunk_size\":" CS
	    ",\"created_at\":\"2026-11-25T00:00:00Z\",\"files\":[%s,%s,%s]}", format, vm, mem,
	    rootfs);
	return buf;
}

static char *
doc(const char *vm, const char *mem, const char *rootfs)
{
	return docf(1, vm, mem, rootfs);
}

#define VM "{\"name\":\"vmstate\",\"size\":10,\"mode\":384,\"chunks\":[\"" H64 "\"]}"
#define MEM "{\"name\":\"mem\",\"size\":65537,\"mode\":384,\"chunks\":[null,\"" H64B "\"]}"
#define SPMEM "{\"name\":\"mem\",\"size\":65537,\"mode\":384,\"chunks\":[\"" H64C ".sparse\",\"" H64B "\"]}"
#define RFS "{\"name\":\"rootfs.ext4\",\"size\":0,\"mode\":420,\"chunks\":[]}"

int
main(void)
{
	struct manifest m, p;
	uint64_t sizes[3] = { 10, 3 * 65536 + 1, 0 };
	unsigned modes[3] = { 0600, 0600, 0644 };
	char *s, *s2;

	prog_init((char *[]){ "manifest", NULL });
	ok(manifest_init(&m, "py", 65536, sizes, modes) == 0, "init");
	is_int(m.files[1].nchunks, 4, "mem: 3 full chunks and a short one");
	is_int(manifest_chunk_len(&m, &m.files[1], 3), 1, "the last chunk is short");
	is_int(m.files[2].nchunks, 0, "an empty file has no chunks");
	memset(m.files[1].chunks[2].sha, 0xab, SHA256_LEN);
	m.files[1].chunks[2].zero = 0;
	strcpy(m.created_at, "2026-11-25T00:00:00Z");
	s = manifest_write(&m);
	ok(s != NULL, "write");
	ok(s && manifest_parse(s, strlen(s), &p) == 0, "what we write parses: %s", errmsg());
	ok(p.chunk_size == 65536 && p.files[1].size == sizes[1] && p.files[1].chunks[0].zero &&
	    !p.files[1].chunks[2].zero && p.files[1].chunks[2].sha[5] == 0xab &&
	    p.files[0].mode == 0600 && !strcmp(p.name, "py"), "round trip keeps every field");
	s2 = manifest_write(&p);
	is_str(s2, s, "rewriting gives the same text");
	free(s2);
	manifest_free(&p);
	manifest_free(&m);
	free(s);

	ok(parses(doc(VM, MEM, RFS)), "a hand-written manifest parses");
	ok(parses(doc(RFS, VM, MEM)), "files in any order");
	ok(!parses(doc(VM, MEM, VM)), "a file listed twice is refused");
	ok(!parses(doc(VM, MEM, "{\"name\":\"../../etc/passwd\",\"size\":0,\"mode\":420,\"chunks\":[]}")),
	    "a path as a file name is refused");
	ok(strstr(errmsg(), "unknown file name") != NULL, "named as unknown: %s", errmsg());
	ok(!parses(doc(VM, "{\"name\":\"mem\",\"size\":65536000000,\"mode\":384,\"chunks\":[null]}", RFS)),
	    "a huge size with one chunk is refused");
	ok(strstr(errmsg(), "does not match its chunk count") != NULL, "named: %s", errmsg());
	ok(!parses(doc(VM, "{\"name\":\"mem\",\"size\":1,\"mode\":384,\"chunks\":[\"" "0123\"]}", RFS)),
	    "short hex is refused");
	ok(!parses(doc(VM, "{\"name\":\"mem\",\"size\":1,\"mode\":384,\"chunks\":[\"" 
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"]}", RFS)),
	    "upper-case hex is refused");
	ok(!parses(doc(VM, "{\"name\":\"mem\",\"size\":1,\"mode\":384,\"chunks\":[7]}", RFS)),
	    "a number as a chunk is refused");
	ok(!parses(doc(VM, "{\"name\":\"mem\",\"size\":1,\"mode\":4095,\"chunks\":[null]}", RFS)),
	    "setuid mode bits are refused");
	ok(!parses("{\"format\":1,\"name\":\"py\",\"chunk_size\":1,\"files\":[]}"),
	    "a tiny chunk size is refused");
	ok(!parses(docf(3, VM, MEM, RFS)), "an unknown format is refused");
	ok(strstr(errmsg(), "unsupported format") != NULL, "named: %s", errmsg());
	ok(!parses(docf(0, VM, MEM, RFS)), "format 0 is refused");
	ok(parses(docf(2, VM, MEM, RFS)), "format 2 without sparse chunks parses");
	ok(parses(docf(2, VM, SPMEM, RFS)), "format 2 with a sparse chunk parses");
	ok(!parses(docf(1, VM, SPMEM, RFS)), "a sparse chunk in format 1 is refused");
	ok(strstr(errmsg(), "sparse chunk in a format 1") != NULL, "named: %s", errmsg());
	ok(!parses(docf(2, VM, "{\"name\":\"mem\",\"size\":1,\"mode\":384,\"chunks\":[\""
	    H64 ".Sparse\"]}", RFS)), "another suffix is refused");
	ok(!parses(docf(2, VM, "{\"name\":\"mem\",\"size\":1,\"mode\":384,\"chunks\":[\""
	    H64 ".sparse.sparse\"]}", RFS)), "a doubled suffix is refused");
	ok(!parses(docf(2, VM, "{\"name\":\"mem\",\"size\":1,\"mode\":384,\"chunks\":[\""
	    ".sparse\"]}", RFS)), "a suffix alone is refused");
	{
		const char *d = docf(2, VM, SPMEM, RFS);

		ok(manifest_parse(d, strlen(d), &p) == 0 && p.format == 2 &&
		    p.files[1].chunks[0].sparse && !p.files[1].chunks[1].sparse &&
		    !p.files[0].chunks[0].sparse, "entries keep their form");
		s = manifest_write(&p);
		ok(s && strstr(s, "\"format\":2,") && strstr(s, H64C ".sparse\",\"" H64B "\"]"),
		    "a manifest with a sparse chunk is written as format 2: %s", s ? s : "");
		free(s);
		p.files[1].chunks[0].sparse = 0;
		s = manifest_write(&p);
		ok(s && strstr(s, "{\"format\":1,") && !strstr(s, ".sparse"),
		    "without one, as format 1 (which older readers read)");
		free(s);
		p.files[1].chunks[0].sparse = 1;
		p.files[1].chunks[0].zero = 1;
		s = manifest_write(&p);
		ok(s && strstr(s, "{\"format\":1,") && strstr(s, "\"chunks\":[null,"),
		    "a null entry's form does not count");
		free(s);
		manifest_free(&p);
	}
	ok(parses(doc(VM, "{\"name\":\"mem\",\"size\":131072,\"mode\":384,\"chunks\":[\""
	    H64B "\",\"" H64B "\"]}", RFS)), "one chunk at two positions of one length parses");
	ok(!parses(doc(VM, "{\"name\":\"mem\",\"size\":65547,\"mode\":384,\"chunks\":[null,\""
	    H64 "\"]}", RFS)), "one chunk at positions of different lengths is refused");
	ok(strstr(errmsg(), "chunk " H64 " is named at positions of different lengths") != NULL,
	    "named: %s", errmsg());
	ok(parses(doc(VM, "{\"name\":\"mem\",\"size\":131072,\"mode\":384,\"chunks\":[\""
	    H64B "\",\"" H64B "\"]}", "{\"name\":\"rootfs.ext4\",\"size\":65536,\"mode\":420,"
	    "\"chunks\":[\"" H64B "\"]}")), "a third position of that length, in another file, parses");
	ok(!parses(docf(2, VM, "{\"name\":\"mem\",\"size\":65536,\"mode\":384,\"chunks\":[\""
	    H64 ".sparse\"]}", "{\"name\":\"rootfs.ext4\",\"size\":10,\"mode\":420,"
	    "\"chunks\":[\"" H64 "\"]}")), "one chunk named raw and .sparse is refused");
	ok(strstr(errmsg(), "both raw and .sparse") != NULL, "named: %s", errmsg());
	{
		/* 1 TiB + 1 of nulls in 1 GiB chunks: too large; 1 TiB: fine */
		char *d = malloc(16384), *e;
		int big, i;

		for (big = 0; big < 2; big++) {
			e = d + sprintf(d, "{\"format\":1,\"name\":\"py\",\"chunk_size\":1073741824,"
			    "\"files\":[" VM ",%s,{\"name\":\"mem\",\"size\":%llu,\"mode\":384,"
			    "\"chunks\":[", RFS, (1ULL << 40) + (uint64_t)big);
			for (i = 0; i < 1024 + big; i++)
				e += sprintf(e, "%snull", i ? "," : "");
			strcpy(e, "]}]}");
			ok(parses(d) == !big, big ? "a file of more than 1 TiB is refused" :
			    "a file of 1 TiB parses: %s", errmsg());
		}
		ok(strstr(errmsg(), "mem is 1099511627777 bytes, more than 1 TiB") != NULL,
		    "named: %s", errmsg());
		sprintf(d, "{\"format\":1,\"name\":\"py\",\"chunk_size\":1073741824,"
		    "\"files\":[%s,%s,{\"name\":\"vmstate\",\"size\":1073741825,\"mode\":384,"
		    "\"chunks\":[null,null]}]}", RFS,
		    "{\"name\":\"mem\",\"size\":0,\"mode\":384,\"chunks\":[]}");
		ok(!parses(d) && strstr(errmsg(), "vmstate is 1073741825 bytes, more than 1 GiB"),
		    "a vmstate of more than 1 GiB is refused: %s", errmsg());
		free(d);
	}
	ok(!parses("{\"format\":1,\"name\":\"../x\",\"chunk_size\":65536,\"files\":[]}"),
	    "a bad snapshot name is refused");
	ok(!parses(doc(VM, MEM, "")), "truncated JSON is refused");
	{
		/* a dense token flood: refused without a huge allocation */
		size_t n = 1 << 20, i;
		char *d = malloc(n + 3);

		d[0] = '[';
		for (i = 1; i < n; i += 2) {
			d[i] = '0';
			d[i + 1] = ',';
		}
		d[n - 1] = '0';
		d[n] = ']';
		d[n + 1] = 0;
		ok(!parses(d), "a token flood is refused");
		free(d);
	}
	return done_testing();
}
