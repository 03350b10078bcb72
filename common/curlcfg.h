/* curlcfg: the pieces of a curl config (`curl -q -K /dev/fd/N`) that every
 * request carried by curl shares: quoted strings, the random token of the
 * write-out line that ends a response, and the pipe the config goes on
 * (so no URL, header or secret is ever in an argv or an environment).
 */
#ifndef FCSNAP_CURLCFG_H
#define FCSNAP_CURLCFG_H

#include <stddef.h>

#include "strbuf.h"

/* Append s as a config string: "..." with \ and " escaped. A control
 * character would end the line (header injection): -1, "control character
 * in a request field". */
int curlcfg_quote(struct strbuf *b, const char *s);
/* prefix followed by 32 random hex digits (n >= strlen(prefix) + 33). */
void curlcfg_token(char *out, size_t n, const char *prefix);
/* A pipe holding the whole config (grown when it is larger than a default
 * pipe); the read end, close-on-exec, or -1 with a message. */
int curlcfg_pipe(const struct strbuf *cfg);

#endif
