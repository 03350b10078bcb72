#!/bin/sh
# The push/pull round trips of t/0800 against the second real server,
# OpenStack Swift with s3api (which checks payload hashes, lists objects in
# its own way and signs with an access key holding a colon).
S3_SERVER=swift exec sh "$(dirname "$0")/0800-push-pull.t" "$@"
