/* creds: AWS credentials and how to get them again.
 *
 * A struct creds holds the current key pair (and session token), when they
 * expire, where they came from, and what it takes to fetch them again:
 *   STATIC          keys from the environment or a profile: never refreshed
 *   PROCESS         a profile's credential_process (credproc.h)
 *   CONTAINER       the ECS / EKS Pod Identity endpoint (container.h)
 *   IMDS            the EC2 instance metadata service, IMDSv2 (imds.h)
 *   WEB_IDENTITY    STS AssumeRoleWithWebIdentity with a token file (sts.h)
 *   ASSUME_ROLE     STS AssumeRole signed with the parent's credentials
 * awsconf.h decides which (the AWS SDKs' chain) and fills in the fields.
 *
 * Users of the keys call creds_current() each time they sign (the S3 pool
 * does it for every batch it starts): credentials that expire within
 * CREDS_REFRESH_S are fetched again first. When that fails while the old
 * ones still have more than CREDS_GRACE_S to live, a warning is printed
 * and the old ones are used (again tried after 30 s); else it is an error.
 *
 * Everything a service, a process or a file hands back is checked: key
 * ids of [A-Za-z0-9], secrets and tokens without control characters, all
 * of bounded length; an Expiration that does not parse or lies in the past
 * is refused.
 */
#ifndef FCSNAP_CREDS_H
#define FCSNAP_CREDS_H

#include <stddef.h>
#include <time.h>

#include "sigv4.h"

#define CREDS_REFRESH_S  300
#define CREDS_GRACE_S    60

enum creds_kind { CREDS_STATIC, CREDS_PROCESS, CREDS_CONTAINER, CREDS_IMDS,
	CREDS_WEB_IDENTITY, CREDS_ASSUME_ROLE };

struct creds {
	char *access_key, *secret_key, *session_token;  /* token may be NULL */
	time_t expires;                 /* 0: never */
	char *source;                   /* for messages: "environment", "FILE [sec]",
	                                   "credential_process of profile 'p'", ... */
	enum creds_kind kind;
	/* how to fetch them (by kind) */
	char *cmd;                      /* PROCESS: the command line */
	char *url;                      /* CONTAINER: URL; IMDS, STS: endpoint */
	char *auth, *auth_file;         /* CONTAINER: authorization token (file) */
	char *role_arn, *session_name, *external_id, *token_file;
	char *region;                   /* STS: signing region */
	char *ca_bundle;                /* STS, https container endpoints */
	long long duration_s;           /* STS: 0 = the service's default */
	long long timeout_ms;           /* one HTTP request */
	int attempts;                   /* IMDS / container: tries per fetch */
	int v1_disabled;                /* IMDS: no IMDSv1 fallback */
	struct creds *parent;           /* ASSUME_ROLE: signs the call (owned) */
	time_t retry_after;             /* after a failed refresh */
};

/* A new, empty provider of kind named source. NULL + message. */
struct creds *creds_new(enum creds_kind kind, const char *source);
void creds_free(struct creds *c);       /* and its parent; NULL is fine */

/* Fetch (or for STATIC, do nothing): 0, or -1 with a message naming the
 * source. The current keys are kept on failure. */
int creds_fetch(struct creds *c);
/* The keys to sign with now (refreshing first, see above); the strings
 * stay valid until the next call. 0 or -1. */
int creds_current(struct creds *c, struct sigv4_cred *out);

/* Replace the keys after checking them (what = the source, for messages).
 * token may be NULL; expiration NULL or an ISO 8601 UTC time. */
int creds_set(struct creds *c, const char *what, const char *ak, const char *sk,
    const char *token, const char *expiration);
/* The JSON answer of IMDS, the container endpoint or a credential_process:
 * AccessKeyId, SecretAccessKey, Token or SessionToken, Expiration. */
int creds_set_json(struct creds *c, const char *what, const char *js, size_t n);

/* "2026-12-02T01:02:03Z" (fraction and +00:00 allowed) -> *t. 0 or -1. */
int creds_parse_time(const char *s, time_t *t);
/* Text safe for a one-line message: at most n-1 bytes of s, control
 * characters as '?'. */
void creds_clean(char *out, size_t n, const char *s, size_t len);

#endif
