// Cross-checks our CloudBase tickets against the official Node SDKs:
//  1. ours verifies with Node's jsonwebtoken against the public key (and fails with another key);
//  2. ours decodes to the same header and claims as @cloudbase/node-sdk auth().createTicket
//     for the same key, uid, env and clock;
//  3. node-sdk's ticket passes our `ticket verify` (signature, key id, env).
// For 1024-bit PKCS#1 (the console's keys) and 2048-bit keys.
// Usage: node check.js PATH_TO_OUR_ticket_BINARY
'use strict';
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const assert = require('assert');
const jwt = require('jsonwebtoken');

const ticketBin = process.argv[2];
if (!ticketBin) { console.error('usage: node check.js PATH_TO_ticket'); process.exit(2); }
const NOW = 1795236328953;
const ENV = 'compat-env-1a2b';
const UID = 'oAbC-defGHIJ_klmnOPQRstuvwx12';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wxlogin-compat-'));
const run = (args) => execFileSync(ticketBin, args, { encoding: 'utf8' }).trim();
const decode = (t) => {
  const [h, p] = t.split('/@@/')[1].split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
};

function nodeSdkTicket(keyFile) {
  const realGetTime = Date.prototype.getTime;
  const realNow = Date.now;
  Date.prototype.getTime = function () { return NOW; };
  Date.now = () => NOW;
  try {
    delete require.cache[require.resolve('@cloudbase/node-sdk')];
    const tcb = require('@cloudbase/node-sdk');
    const app = tcb.init({ env: ENV, credentials: keyFile });
    return app.auth().createTicket(UID, { refresh: 7200000 });
  } finally {
    Date.prototype.getTime = realGetTime;
    Date.now = realNow;
  }
}

let passed = 0;
let failed = 0;
function check(name, fn) {
  try { fn(); passed++; console.log(`ok   ${name}`); } catch (e) { failed++; console.log(`FAIL ${name}: ${e.message}`); }
}

for (const bits of [1024, 2048]) {
  const keyPath = path.join(tmp, `key-${bits}.json`);
  run(['keygen', '--out', keyPath, '--bits', String(bits), '--env', ENV]);
  const keyFile = JSON.parse(fs.readFileSync(keyPath, 'utf8'));
  const publicKey = crypto.createPublicKey(keyFile.private_key);
  const ours = run(['mint', '--key', keyPath, '--uid', UID, '--now-ms', String(NOW), '--refresh', '7200000']);
  const theirs = nodeSdkTicket(keyFile);

  check(`${bits}-bit: our ticket verifies with jsonwebtoken`, () => {
    assert.ok(ours.startsWith(keyFile.private_key_id + '/@@/'));
    jwt.verify(ours.split('/@@/')[1], publicKey, { algorithms: ['RS256'] });
  });
  check(`${bits}-bit: our ticket fails with another public key`, () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    assert.throws(() => jwt.verify(ours.split('/@@/')[1], other, { algorithms: ['RS256'] }), /invalid signature/);
  });
  check(`${bits}-bit: same header and claims as node-sdk createTicket`, () => {
    assert.deepStrictEqual(decode(ours), decode(theirs));
    assert.strictEqual(ours.split('/@@/')[0], theirs.split('/@@/')[0]);
    assert.deepStrictEqual(Object.keys(decode(ours).payload), Object.keys(decode(theirs).payload));
  });
  check(`${bits}-bit: node-sdk's ticket passes our verify (signature, key id, env)`, () => {
    let out;
    try { out = run(['verify', '--key', keyPath, theirs]); } catch (e) { out = String(e.stdout); }
    // The fixed clock is in the past, so only the expiry check may fail.
    for (const c of ['format', 'key id', 'signature', 'algorithm', 'env']) assert.match(out, new RegExp(`\\[ok\\] ${c}:`), out);
  });
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
