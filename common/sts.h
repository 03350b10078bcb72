/* sts: temporary credentials for a role from AWS STS (query API, version
 * 2011-06-15), as the AWS SDKs get them:
 *   ASSUME_ROLE    POST Action=AssumeRole&RoleArn=..&RoleSessionName=..
 *                  [&ExternalId=..][&DurationSeconds=..], signed in-tree
 *                  (SigV4, service "sts", c->region) with the parent's
 *                  credentials (refreshed first when they expire, creds.h)
 *   WEB_IDENTITY   POST Action=AssumeRoleWithWebIdentity&RoleArn=..
 *                  &RoleSessionName=..&WebIdentityToken=<c->token_file,
 *                  read again at every fetch>, unsigned
 * to c->url (https://sts.REGION.amazonaws.com unless configured, see
 * awsconf.h), form-encoded. The answer is XML from the network: at most
 * 64 KiB, the <Credentials> block of the <...Result> element taken apart
 * with s3_xml_text (bounded search, entities decoded), every value
 * checked (creds.h). An error answer becomes one line with STS's
 * <Code> and <Message>.
 */
#ifndef FCSNAP_STS_H
#define FCSNAP_STS_H

#include "creds.h"

int sts_fetch(struct creds *c);
/* Parse an answer to action (AssumeRole, AssumeRoleWithWebIdentity) into
 * c. Exposed for tests. */
int sts_parse(struct creds *c, const char *what, const char *action, const char *xml,
    size_t n);

#endif
