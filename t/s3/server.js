#!/usr/bin/env node
// server.js: run @20minutes/s3rver (an S3-compatible server that verifies
// SigV4 signatures) for fcsnap's tests.
//
//   S3_ACCESS_KEY=... S3_SECRET_KEY=... \
//   NODE_OPTIONS=--openssl-legacy-provider node server.js [--port N] \
//       [--dir DIR] [--bucket NAME]... [--tls-cert FILE --tls-key FILE]
//
// Listens on 127.0.0.1 (port 0 = any free port) and prints "port N" on
// stdout once it accepts connections. The key pair comes from the
// environment (never argv); the package's built-in S3RVER/S3RVER pair is
// revoked, so only correctly signed requests with our pair get in.
// Unsigned requests are served anonymously, as s3rver does. With
// --tls-cert/--tls-key it speaks HTTPS.
// --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation
// tokens with DES, which Node 17+ only has in the legacy provider.
'use strict';

const fs = require('fs');
const path = require('path');
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

function usage(msg) {
  process.stderr.write(`server.js: ${msg}\n`);
  process.exit(2);
}

const opts = { port: 0, dir: null, buckets: [], cert: null, key: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    return argv[++i];
  };
  if (a === '--port') opts.port = Number(val());
  else if (a === '--dir') opts.dir = val();
  else if (a === '--bucket') opts.buckets.push({ name: val() });
  else if (a === '--tls-cert') opts.cert = fs.readFileSync(val());
  else if (a === '--tls-key') opts.key = fs.readFileSync(val());
  else usage(`unknown argument ${a}`);
}
if (!opts.dir) usage('--dir DIR is required');
const ak = process.env.S3_ACCESS_KEY;
const sk = process.env.S3_SECRET_KEY;
if (!ak || !sk) usage('set S3_ACCESS_KEY and S3_SECRET_KEY');

AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(ak, sk);

const server = new S3rver({
  address: '127.0.0.1',
  port: opts.port,
  directory: path.resolve(opts.dir),
  silent: true,
  configureBuckets: opts.buckets,
  allowMismatchedSignatures: false,
  ...(opts.cert && opts.key ? { cert: opts.cert, key: opts.key } : {}),
});

server.run().then(
  (addr) => {
    process.stdout.write(`port ${addr.port}\n`);
  },
  (err) => {
    process.stderr.write(`server.js: ${err.message}\n`);
    process.exit(1);
  },
);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
