/* s3pool: the parser of curl's response heads, exposed for fuzz/s3_head.c.
 * The pool itself is declared in s3.h. */
#ifndef FCSNAP_S3POOL_H
#define FCSNAP_S3POOL_H

#include "s3.h"

/* Parse one complete response header block s (NUL-terminated, modified in
 * place): the status line's code into *status; for a final (>= 200)
 * response also res->http_status, res->content_length (-1 when absent) and
 * res->etag (without its quotes).  Returns 0, or -1 with *why set to a
 * static reason: no "HTTP/x NNN" status line, or a Content-Length that is
 * not one decimal number (or two that differ). */
int s3_parse_head(char *s, struct s3_result *res, int *status, const char **why);

#endif
