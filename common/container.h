/* container: credentials from the ECS task / EKS Pod Identity endpoint,
 * as the AWS SDKs get them.
 *   AWS_CONTAINER_CREDENTIALS_RELATIVE_URI   http://169.254.170.2 + it
 *   AWS_CONTAINER_CREDENTIALS_FULL_URI       any https URL; an http URL
 *                                            only to a loopback address
 *                                            (127.0.0.0/8, [::1],
 *                                            localhost), ECS's
 *                                            169.254.170.2 or EKS's
 *                                            169.254.170.23 / [fd00:ec2::23]
 *   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE   read at every fetch; its
 *                                            content is the Authorization
 *   AWS_CONTAINER_AUTHORIZATION_TOKEN        else this is
 * One GET (c->timeout_ms, c->attempts tries); the answer is JSON with
 * AccessKeyId, SecretAccessKey, Token, Expiration.
 */
#ifndef FCSNAP_CONTAINER_H
#define FCSNAP_CONTAINER_H

#include "creds.h"

/* Is url one the token may be sent to (see above)? 0, or -1 with a
 * message naming what (the variable) and the rule. */
int container_url_ok(const char *url, const char *what);
int container_fetch(struct creds *c);

#endif
