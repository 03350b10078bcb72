#!/bin/sh
# The failures of t/0801 (killed and resumed pulls, corrupt raw and sparse
# chunks, a killed push, SIGTERM, a full disk) against Swift with s3api.
S3_SERVER=swift exec sh "$(dirname "$0")/0801-push-pull-failures.t" "$@"
