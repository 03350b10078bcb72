/* s3obj: one call per S3 object (PUT, GET, HEAD, DELETE) and the LIST of
 * a prefix, each one s3_do (s3pool.h): retried, failures as one line.
 * Return values: 0 ok; 1 no such object (HEAD/GET); -1 error (message).
 */
#ifndef FCSNAP_S3OBJ_H
#define FCSNAP_S3OBJ_H

#include <stddef.h>
#include <sys/types.h>

#include "s3.h"
#include "sha256.h"

int s3_put_mem(struct s3 *c, const char *key, const void *buf, size_t n);
/* PUT a file range; sha256hex NULL = UNSIGNED-PAYLOAD. */
int s3_put_file(struct s3 *c, const char *key, int fd, off_t off, off_t len,
    const char *sha256hex);
/* GET into fd at off; *n = bytes written; sha (may be NULL) = their hash. */
int s3_get_fd(struct s3 *c, const char *key, int fd, off_t off, off_t *n,
    unsigned char sha[SHA256_LEN]);
/* GET into a malloc'd NUL-terminated buffer of at most max bytes. */
int s3_get_mem(struct s3 *c, const char *key, size_t max, char **buf, size_t *n);
/* HEAD: *size = Content-Length (may be NULL). */
int s3_head(struct s3 *c, const char *key, long long *size);
int s3_delete(struct s3 *c, const char *key);

/* List every key under prefix (all pages; max_keys per page, 0 = server
 * default). delimiter may be NULL. 0 or -1 (message).  A listing is the
 * server's word: at most S3_LIST_MAX_ENTRIES keys and prefixes in at most
 * S3_LIST_MAX_PAGES pages, and a page that hands back the token it was
 * asked with is refused, so a bucket cannot keep us listing (and holding
 * its keys) without end. */
#define S3_LIST_MAX_ENTRIES 1000000
#define S3_LIST_MAX_PAGES (S3_LIST_MAX_ENTRIES / 1000 + 100)
int s3_list(struct s3 *c, const char *prefix, const char *delimiter, int max_keys,
    struct s3_list *out);

#endif
