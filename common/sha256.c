/* sha256: see sha256.h. */
#include <string.h>

#include "sha256.h"

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define S0(x) (ROR(x, 2) ^ ROR(x, 13) ^ ROR(x, 22))
#define S1(x) (ROR(x, 6) ^ ROR(x, 11) ^ ROR(x, 25))
#define s0(x) (ROR(x, 7) ^ ROR(x, 18) ^ ((x) >> 3))
#define s1(x) (ROR(x, 17) ^ ROR(x, 19) ^ ((x) >> 10))
#define CH(x, y, z) (((x) & ((y) ^ (z))) ^ (z))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One round; the eight working variables rotate by renaming. W is a
 * 16-word ring: from round 16 on, word i is computed in place. */
#define RND(a, b, c, d, e, f, g, h, i) do { \
	uint32_t t1_ = h + S1(e) + CH(e, f, g) + K[i] + W[(i) & 15]; \
	d += t1_; \
	h = t1_ + S0(a) + MAJ(a, b, c); \
} while (0)
#define EXP(i) (W[(i) & 15] += s1(W[((i) - 2) & 15]) + W[((i) - 7) & 15] + s0(W[((i) - 15) & 15]))
#define R8(i) do { \
	RND(a, b, c, d, e, f, g, h, (i) + 0); RND(h, a, b, c, d, e, f, g, (i) + 1); \
	RND(g, h, a, b, c, d, e, f, (i) + 2); RND(f, g, h, a, b, c, d, e, (i) + 3); \
	RND(e, f, g, h, a, b, c, d, (i) + 4); RND(d, e, f, g, h, a, b, c, (i) + 5); \
	RND(c, d, e, f, g, h, a, b, (i) + 6); RND(b, c, d, e, f, g, h, a, (i) + 7); \
} while (0)
#define X8(i) do { \
	EXP((i) + 0); EXP((i) + 1); EXP((i) + 2); EXP((i) + 3); \
	EXP((i) + 4); EXP((i) + 5); EXP((i) + 6); EXP((i) + 7); \
} while (0)

static void
blocks_c(uint32_t s[8], const unsigned char *p, size_t nblk)
{
	uint32_t W[16], a, b, c, d, e, f, g, h;
	int i;

	for (; nblk; nblk--, p += SHA256_BLOCK) {
		for (i = 0; i < 16; i++)
			W[i] = be32(p + 4 * i);
		a = s[0]; b = s[1]; c = s[2]; d = s[3];
		e = s[4]; f = s[5]; g = s[6]; h = s[7];
		R8(0); R8(8);
		for (i = 16; i < 64; i += 16) {
			X8(i); R8(i);
			X8(i + 8); R8(i + 8);
		}
		s[0] += a; s[1] += b; s[2] += c; s[3] += d;
		s[4] += e; s[5] += f; s[6] += g; s[7] += h;
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

#define HW_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* The x86 SHA extensions: sha256rnds2 does two rounds on the state kept as
 * ABEF/CDGH; sha256msg1/msg2 extend the schedule four words at a time. */
static HW_TARGET void
blocks_hw(uint32_t s[8], const unsigned char *p, size_t nblk)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i st0, st1, t, m[4], w, save0, save1;
	int g;

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s[0]), 0xB1);
	st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s[4]), 0x1B);
	st0 = _mm_alignr_epi8(t, st1, 8);       /* ABEF */
	st1 = _mm_blend_epi16(st1, t, 0xF0);    /* CDGH */
	for (; nblk; nblk--, p += SHA256_BLOCK) {
		save0 = st0;
		save1 = st1;
		for (g = 0; g < 16; g++) {
			if (g < 4)
				m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
			else
				m[g & 3] = _mm_sha256msg2_epu32(
				    _mm_add_epi32(_mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]),
					_mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4)),
				    m[(g + 3) & 3]);
			w = _mm_add_epi32(m[g & 3], _mm_loadu_si128((const __m128i *)&K[4 * g]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, w);
			st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(w, 0x0E));
		}
		st0 = _mm_add_epi32(st0, save0);
		st1 = _mm_add_epi32(st1, save1);
	}
	t = _mm_shuffle_epi32(st0, 0x1B);       /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);     /* DCHG */
	st0 = _mm_blend_epi16(t, st1, 0xF0);    /* DCBA */
	st1 = _mm_alignr_epi8(st1, t, 8);       /* HGFE */
	_mm_storeu_si128((__m128i *)&s[0], st0);
	_mm_storeu_si128((__m128i *)&s[4], st1);
}

static int
cpu_has_sha(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return 0;
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b >> 29) & 1;
}
#else
static void
blocks_hw(uint32_t s[8], const unsigned char *p, size_t nblk)
{
	blocks_c(s, p, nblk);
}

static int
cpu_has_sha(void)
{
	return 0;
}
#endif

static int hw = -1;     /* -1: not checked yet */

int
sha256_use_hw(int on)
{
	hw = on ? cpu_has_sha() : 0;
	return hw;
}

static void
blocks(uint32_t s[8], const unsigned char *p, size_t nblk)
{
	if (hw < 0)
		hw = cpu_has_sha();
	if (hw)
		blocks_hw(s, p, nblk);
	else
		blocks_c(s, p, nblk);
}

void
sha256_init(struct sha256 *c)
{
	memcpy(c->h, H0, sizeof H0);
	c->len = 0;
	c->nbuf = 0;
}

void
sha256_update(struct sha256 *c, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t k;

	c->len += n;
	if (c->nbuf) {
		k = SHA256_BLOCK - c->nbuf;
		if (k > n)
			k = n;
		memcpy(c->buf + c->nbuf, p, k);
		c->nbuf += k;
		p += k;
		n -= k;
		if (c->nbuf < SHA256_BLOCK)
			return;
		blocks(c->h, c->buf, 1);
		c->nbuf = 0;
	}
	if (n >= SHA256_BLOCK) {
		blocks(c->h, p, n / SHA256_BLOCK);
		p += n & ~(size_t)(SHA256_BLOCK - 1);
		n &= SHA256_BLOCK - 1;
	}
	memcpy(c->buf, p, n);
	c->nbuf = n;
}

void
sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN])
{
	uint64_t bits = c->len * 8;
	int i;

	c->buf[c->nbuf++] = 0x80;
	if (c->nbuf > SHA256_BLOCK - 8) {
		memset(c->buf + c->nbuf, 0, SHA256_BLOCK - c->nbuf);
		blocks(c->h, c->buf, 1);
		c->nbuf = 0;
	}
	memset(c->buf + c->nbuf, 0, SHA256_BLOCK - 8 - c->nbuf);
	for (i = 0; i < 8; i++)
		c->buf[SHA256_BLOCK - 1 - i] = (unsigned char)(bits >> (8 * i));
	blocks(c->h, c->buf, 1);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(c->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)c->h[i];
	}
	memset(c, 0, sizeof *c);
}

void
sha256(const void *p, size_t n, unsigned char out[SHA256_LEN])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, p, n);
	sha256_final(&c, out);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
sha256_unhex(const char *s, unsigned char d[SHA256_LEN])
{
	size_t i;

	for (i = 0; i < SHA256_LEN; i++) {
		int a = hexval(s[2 * i]), b = a < 0 ? -1 : hexval(s[2 * i + 1]);

		if (a < 0 || b < 0)
			return -1;
		d[i] = (unsigned char)(a << 4 | b);
	}
	return 0;
}

void
sha256_hex(const unsigned char d[SHA256_LEN], char out[SHA256_HEX_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";
	int i;

	for (i = 0; i < SHA256_LEN; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[SHA256_HEX_LEN] = 0;
}

void
sha256_hex_of(const void *p, size_t n, char out[SHA256_HEX_LEN + 1])
{
	unsigned char d[SHA256_LEN];

	sha256(p, n, d);
	sha256_hex(d, out);
}

void
hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t klen)
{
	unsigned char k[SHA256_BLOCK], pad[SHA256_BLOCK];
	size_t i;

	memset(k, 0, sizeof k);
	if (klen > SHA256_BLOCK)
		sha256(key, klen, k);
	else if (klen)
		memcpy(k, key, klen);
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&h->inner);
	sha256_update(&h->inner, pad, SHA256_BLOCK);
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&h->outer);
	sha256_update(&h->outer, pad, SHA256_BLOCK);
	memset(k, 0, sizeof k);
	memset(pad, 0, sizeof pad);
}

void
hmac_sha256_update(struct hmac_sha256 *h, const void *p, size_t n)
{
	sha256_update(&h->inner, p, n);
}

void
hmac_sha256_final(struct hmac_sha256 *h, unsigned char out[SHA256_LEN])
{
	unsigned char d[SHA256_LEN];

	sha256_final(&h->inner, d);
	sha256_update(&h->outer, d, SHA256_LEN);
	sha256_final(&h->outer, out);
	memset(d, 0, sizeof d);
}

void
hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
    unsigned char out[SHA256_LEN])
{
	struct hmac_sha256 h;

	hmac_sha256_init(&h, key, klen);
	hmac_sha256_update(&h, msg, n);
	hmac_sha256_final(&h, out);
}
