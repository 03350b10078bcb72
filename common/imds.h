/* imds: credentials of an EC2 instance's role from the instance metadata
 * service, as the AWS SDKs get them (IMDSv2):
 *   PUT  ENDPOINT/latest/api/token   X-aws-ec2-metadata-token-ttl-seconds: 21600
 *   GET  ENDPOINT/latest/meta-data/iam/security-credentials/      -> role name
 *   GET  ENDPOINT/latest/meta-data/iam/security-credentials/ROLE  -> JSON
 * both GETs with X-aws-ec2-metadata-token. A token PUT answered 403, 404
 * or 405 (IMDSv2 not there) falls back to IMDSv1 (the GETs without a
 * token), unless c->v1_disabled; any other failure of the PUT is an error.
 * A 401 on a GET (the token went stale) gets a new token once. Each
 * request has c->timeout_ms; the whole fetch is tried c->attempts times.
 * c->url is the endpoint (http://169.254.169.254 by default, see
 * awsconf.h). On success c->source names the role.
 */
#ifndef FCSNAP_IMDS_H
#define FCSNAP_IMDS_H

#include "creds.h"

int imds_fetch(struct creds *c);

#endif
