/* awshttp: one small HTTP request to an AWS credential service (EC2
 * instance metadata, the container credentials endpoint, STS), carried by
 * curl the way s3.h carries S3: `curl -q -K /dev/fd/N` with the URL, the
 * headers (tokens, Authorization) and the body on the config pipe, so
 * nothing secret is in an argv or an environment; curl's environment is
 * ours without AWS_*. No redirects are followed, only http and https are
 * spoken, and a local service (link-local or loopback: IMDS, ECS) is
 * reached without any proxy. The answer ends with a write-out marker
 * holding a random token, so a body cannot forge the status.
 *
 * Why curl and not http.h over TCP: STS and https container endpoints need
 * TLS, which only curl gives us; one path for all three keeps one set of
 * timeouts, messages and secrecy rules.
 */
#ifndef FCSNAP_AWSHTTP_H
#define FCSNAP_AWSHTTP_H

#include <stddef.h>

struct awshttp_hdr {
	const char *name, *value;
};

struct awshttp_req {
	const char *method;             /* GET, PUT, POST */
	const char *url;                /* http[s]://host[:port]/path */
	const struct awshttp_hdr *hdr;
	size_t nhdr;
	const char *body;               /* NUL-terminated, printable; NULL: none */
	long long timeout_ms;           /* connect + whole request */
	int no_proxy;                   /* a local service: never via a proxy */
	const char *ca_bundle;          /* NULL: curl's default */
	size_t max;                     /* largest body accepted */
};

struct awshttp_res {
	int status;                     /* HTTP status */
	char *body;                     /* NUL-terminated, malloc'd */
	size_t len;
};

/* 0 when an HTTP answer (any status) came back; -1 with "URL: REASON"
 * (connection refused, timed out, curl not found, answer too large). */
int awshttp_do(const struct awshttp_req *r, struct awshttp_res *res);
void awshttp_res_free(struct awshttp_res *res);

/* Split "scheme://host[:port][/path]": *host points at the host (for
 * hlen bytes, brackets of an IPv6 literal included, port excluded).
 * 0, or -1 with a message naming what (e.g. "AWS_CONTAINER_CREDENTIALS_FULL_URI"). */
int awshttp_url_host(const char *url, const char *what, int *https, const char **host,
    size_t *hlen);

#endif
