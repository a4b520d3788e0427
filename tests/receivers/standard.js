#!/usr/bin/env node
// Checks deliveries' Standard Webhooks headers with the npm "standardwebhooks"
// package, the way a receiver that uses it does (tests/receivers/package.json).
//
//     node standard.js SECRET REQUESTS_FILE
//
// REQUESTS_FILE is a JSON array of recorded requests, {"headers": {...}, "body":
// "<base64 of the raw body>"}. Prints a JSON array with, for each request, "ok"
// or the library's error message. The key is the secret's 64 ASCII bytes, given
// to the library as a raw key: new Webhook(secret, {format: "raw"}).
'use strict';

const fs = require('fs');
const { Webhook } = require('standardwebhooks');

function main(argv) {
  if (argv.length !== 2) {
    process.stderr.write('usage: node standard.js SECRET REQUESTS_FILE\n');
    return 2;
  }
  const wh = new Webhook(argv[0], { format: 'raw' });
  const requests = JSON.parse(fs.readFileSync(argv[1], 'utf8'));
  const verdicts = requests.map((r) => {
    try {
      // The raw body, as the receiver got it: a Buffer, never re-serialised JSON.
      wh.verify(Buffer.from(r.body, 'base64'), r.headers);
      return 'ok';
    } catch (e) {
      return String(e.message || e);
    }
  });
  process.stdout.write(JSON.stringify(verdicts) + '\n');
  return 0;
}

process.exitCode = main(process.argv.slice(2));
