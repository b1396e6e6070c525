// Ticket-minting throughput of @cloudbase/node-sdk auth().createTicket in one process (bench only).
// Usage: node mint.js KEYFILE SECONDS
// KEYFILE is a tcb_custom_login.json ({private_key_id, private_key, env_id}).
// Prints one JSON line: {"bits", "per_sec", "calls", "seconds"}.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const tcb = require('@cloudbase/node-sdk');

const [keyFile, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
if (!keyFile || !(seconds > 0)) {
  console.error('usage: node mint.js KEYFILE SECONDS');
  process.exit(2);
}
const key = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
const bits = crypto.createPrivateKey(key.private_key).asymmetricKeyDetails.modulusLength;
const auth = tcb.init({ env: key.env_id, credentials: key }).auth();

// Warm-up: about half a second, at most 2000 calls.
const warmEnd = Date.now() + 500;
for (let i = 0; i < 2000 && Date.now() < warmEnd; i++) auth.createTicket(`warm${i}`, { refresh: 3600 * 1000 });

const start = process.hrtime.bigint();
const limit = start + BigInt(Math.round(seconds * 1e9));
let calls = 0;
let now = start;
while (now < limit) {
  auth.createTicket(`bench${calls}`, { refresh: 3600 * 1000 });
  calls++;
  now = process.hrtime.bigint();
}
const elapsed = Number(now - start) / 1e9;
console.log(JSON.stringify({ bits, per_sec: Math.round((calls / elapsed) * 10) / 10, calls, seconds: Math.round(elapsed * 1000) / 1000 }));
