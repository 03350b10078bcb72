/* sha256: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104).
 *
 * Streaming:  struct sha256 c; sha256_init(&c); sha256_update(&c, p, n)...;
 *             sha256_final(&c, digest);
 * One shot:   sha256(p, n, digest);   hex: sha256_hex(digest, out65).
 * The compression function uses the x86 SHA extensions when the CPU has
 * them (checked at run time) and portable C otherwise; both give the same
 * digests (t/unit/sha256.c checks them against each other).
 * No allocation, no global state beyond the one-time CPU check.
 */
#ifndef FCSNAP_SHA256_H
#define FCSNAP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64
#define SHA256_BLOCK 64

struct sha256 {
	uint32_t h[8];
	uint64_t len;           /* bytes hashed so far */
	unsigned char buf[SHA256_BLOCK];
	size_t nbuf;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *p, size_t n);
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);
void sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);
/* Lower-case hex of a digest; out gets 65 bytes (NUL-terminated). */
void sha256_hex(const unsigned char d[SHA256_LEN], char out[SHA256_HEX_LEN + 1]);
/* The reverse: exactly 64 lower-case hex digits at s -> d. 0 or -1. */
int sha256_unhex(const char *s, unsigned char d[SHA256_LEN]);
/* sha256 of p, as hex. */
void sha256_hex_of(const void *p, size_t n, char out[SHA256_HEX_LEN + 1]);

/* Choose the compression function: 1 = hardware when available (the
 * default), 0 = portable C only. Returns whether hardware is now in use.
 * For tests and benchmarks. */
int sha256_use_hw(int on);

/* HMAC-SHA256 of msg under key (any key length). */
struct hmac_sha256 {
	struct sha256 inner, outer;
};
void hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t klen);
void hmac_sha256_update(struct hmac_sha256 *h, const void *p, size_t n);
void hmac_sha256_final(struct hmac_sha256 *h, unsigned char out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
    unsigned char out[SHA256_LEN]);

#endif
