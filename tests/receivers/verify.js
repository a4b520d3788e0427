#!/usr/bin/env node
// Checks an X-NEOSTORE-SIGNATURE the way a receiver written in Node.js should.
//
//     node verify.js SECRET SIGNATURE BODY_FILE      exit 0 if it matches, 1 if not
//
// The signature is HMAC-SHA256 over the exact body bytes, keyed with the
// webhook's signatureSecret (its ASCII bytes), sent as lowercase hex or, when
// the service is configured so, standard base64. Node's standard library only.
'use strict';

const crypto = require('crypto');
const fs = require('fs');

function signatureValid(secret, body, presented) {
  const mac = crypto.createHmac('sha256', Buffer.from(secret, 'ascii')).update(body).digest();
  presented = presented.trim();
  const expected = presented.length === 64 ? mac.toString('hex') : mac.toString('base64');
  const given = presented.length === 64 ? presented.toLowerCase() : presented;
  const a = Buffer.from(expected, 'ascii');
  const b = Buffer.from(given, 'ascii');
  // timingSafeEqual throws on different lengths; the length is not secret.
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function main(argv) {
  if (argv.length !== 3) {
    process.stderr.write('usage: node verify.js SECRET SIGNATURE BODY_FILE\n');
    return 2;
  }
  const body = fs.readFileSync(argv[2]); // a Buffer: the raw bytes, not parsed JSON
  if (signatureValid(argv[0], body, argv[1])) return 0;
  process.stderr.write('verify.js: signature does not match\n');
  return 1;
}

module.exports = { signatureValid };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
