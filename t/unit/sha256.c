/* SHA-256 and HMAC-SHA256 against FIPS 180-4 and RFC 4231, in both the
 * portable and the hardware compression paths. */
#include <stdlib.h>

#include "sha256.h"
#include "tap.h"

static const char *
hex_of(const void *p, size_t n)
{
	static char out[SHA256_HEX_LEN + 1];

	sha256_hex_of(p, n, out);
	return out;
}

static void
fips(const char *mode)
{
	static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char m896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	struct sha256 c;
	unsigned char d[SHA256_LEN];
	char hx[SHA256_HEX_LEN + 1], a[1000];
	int i;

	is_str(hex_of("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "%s: empty message", mode);
	is_str(hex_of("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "%s: FIPS 180-4 \"abc\"", mode);
	is_str(hex_of(m448, strlen(m448)),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "%s: FIPS 180-4 448-bit message", mode);
	is_str(hex_of(m896, strlen(m896)),
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
	    "%s: FIPS 180-4 896-bit message", mode);
	memset(a, 'a', sizeof a);
	sha256_init(&c);
	for (i = 0; i < 1000; i++)
		sha256_update(&c, a, sizeof a);
	sha256_final(&c, d);
	sha256_hex(d, hx);
	is_str(hx, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	    "%s: one million 'a'", mode);
}

static void
unhex(const char *h, unsigned char *out)
{
	size_t i;

	for (i = 0; h[2 * i]; i++) {
		char b[3] = { h[2 * i], h[2 * i + 1], 0 };
		out[i] = (unsigned char)strtoul(b, NULL, 16);
	}
}

static void
rfc4231(const char *mode)
{
	static const char t7[] = "This is a test using a larger than block-size key and a larger "
	    "than block-size data. The key needs to be hashed before being used by the HMAC algorithm.";
	static const struct { int klen; unsigned char kb; const char *data; int dlen; unsigned char db;
	    const char *want; int cmp; } tc[] = {
		{ 20, 0x0b, "Hi There", 8, 0,
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32 },
		{ 4, 0, "what do ya want for nothing?", 28, 0,
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32 },
		{ 20, 0xaa, NULL, 50, 0xdd,
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32 },
		{ 25, 0, NULL, 50, 0xcd,
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32 },
		{ 20, 0x0c, "Test With Truncation", 20, 0,
		  "a3b6167473100ee06e0c796c2955552b", 16 },
		{ 131, 0xaa, "Test Using Larger Than Block-Size Key - Hash Key First", 54, 0,
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32 },
		{ 131, 0xaa, t7, 152, 0,
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32 },
	};
	unsigned char key[131], data[200], want[32], got[32];
	size_t i;
	int j;

	for (i = 0; i < sizeof tc / sizeof tc[0]; i++) {
		if (i == 1)
			memcpy(key, "Jefe", 4);
		else if (i == 3)
			for (j = 0; j < 25; j++)
				key[j] = (unsigned char)(j + 1);
		else
			memset(key, tc[i].kb, (size_t)tc[i].klen);
		if (tc[i].data)
			memcpy(data, tc[i].data, (size_t)tc[i].dlen);
		else
			memset(data, tc[i].db, (size_t)tc[i].dlen);
		unhex(tc[i].want, want);
		hmac_sha256(key, (size_t)tc[i].klen, data, (size_t)tc[i].dlen, got);
		is_mem(got, tc[i].cmp, want, tc[i].cmp, "%s: RFC 4231 test case %zu%s", mode, i + 1,
		    tc[i].cmp < 32 ? " (truncated to 128 bits)" : "");
	}
}

/* Hashing in arbitrary pieces gives the one-shot digest, for every length
 * around the block and padding boundaries. */
static void
split(const char *mode)
{
	unsigned char buf[300], d1[32], d2[32];
	struct sha256 c;
	size_t n, cut, cut2;
	int bad = 0;

	for (n = 0; n < sizeof buf; n++)
		buf[n] = (unsigned char)(n * 131 + 7);
	for (n = 0; n <= 200; n++) {
		sha256(buf, n, d1);
		for (cut = 0; cut <= n; cut += 1 + cut / 8) {
			cut2 = cut + (n - cut) / 3;
			sha256_init(&c);
			sha256_update(&c, buf, cut);
			sha256_update(&c, buf + cut, cut2 - cut);
			sha256_update(&c, buf + cut2, n - cut2);
			sha256_final(&c, d2);
			if (memcmp(d1, d2, 32))
				bad++;
		}
	}
	is_int(bad, 0, "%s: split updates equal one-shot for lengths 0..200", mode);
}

int
main(void)
{
	unsigned char *big, d1[32], d2[32];
	size_t n = (1 << 20) + 77, i;
	int hw;

	sha256_use_hw(0);
	fips("portable");
	rfc4231("portable");
	split("portable");
	hw = sha256_use_hw(1);
	if (hw) {
		fips("hardware");
		rfc4231("hardware");
		split("hardware");
	}
	big = malloc(n);
	for (i = 0; i < n; i++)
		big[i] = (unsigned char)(i * 2654435761u >> 13);
	sha256_use_hw(0);
	sha256(big, n, d1);
	sha256_use_hw(1);
	sha256(big, n, d2);
	is_mem(d1, 32, d2, 32, "portable and %s paths agree on 1 MiB + 77 bytes",
	    hw ? "hardware" : "default");
	free(big);
	return done_testing();
}
