// Cross-language check of the tokensession token format (format version 1)
// against paseto-ts, a PASETO v4.local implementation that shares no code
// with go-paseto (its primitives come from @stablelib).
//
//   node check.mjs <token sealed by tokensession's Manager.Seal>
//
// interop_test.go runs it. The script
//  1. opens the Go token with the raw key bytes, the implicit assertion
//     "tokensession/v1:__Host-session" and checks every claim and the footer
//     byte for byte;
//  2. seals new tokens in the documented format and prints them on stdout,
//     one "name value" pair a line, for the Go side to open:
//       sid <session ID of the new token>
//       token <v4.local token for purpose __Host-session>
//       wrong-purpose <the same claims, sealed for purpose "session">
// Diagnostics go to stderr; any failed check exits non-zero.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hash } from '@stablelib/blake2b';
import { decrypt, encrypt } from 'paseto-ts/v4';

// The fixed test key: bytes 0x70..0x8f.
const RAW_KEY = Uint8Array.from({ length: 32 }, (_, i) => 0x70 + i);
const PASERK = 'k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8';
// The official PASERK k4.lid of that key.
const LID = 'k4.lid.iVtYQDjr5gEijCSjJC3fQaJm7nCeQSeaty0Jixy8dbsk';
const FOOTER = `{"kid":"${LID}"}`;
const ASSERTION = 'tokensession/v1:__Host-session';

// The value interop_test.go seals; keep the two in step.
const GO_VALUE = {
  user: 'alice',
  roles: ['admin', 'dev'],
  n: 42,
  note: 'héllo ✓ <&> "q"',
};
// The value this script seals; interop_test.go expects it back.
const NODE_VALUE = {
  user: 'bob',
  roles: ['reader'],
  n: 7,
  note: 'from node ✓ <&>',
};

const IDLE_SECONDS = 30 * 60; // tokensession's default idle timeout
const RFC3339_UTC_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
// created: fractional seconds as Go's time.RFC3339Nano writes them (no
// trailing zeros, none at all on a whole second).
const RFC3339_UTC_NANO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{0,8}[1-9])?Z$/;
const SID = /^[A-Za-z0-9_-]{22}$/;

function log(msg) {
  process.stderr.write(`check.mjs: ${msg}\n`);
}

// paseto-ts takes a local key as the bytes "k4.local." followed by the raw
// 32 bytes: build it from RAW_KEY, not from the PASERK string.
function pasetoTsKey() {
  const magic = new TextEncoder().encode('k4.local.');
  const k = new Uint8Array(magic.length + RAW_KEY.length);
  k.set(magic, 0);
  k.set(RAW_KEY, magic.length);
  return k;
}

function b64urlToString(s) {
  const b = Buffer.from(s, 'base64url');
  // Reject non-canonical encodings: Buffer decoding is lenient.
  assert.equal(b.toString('base64url'), s, 'not canonical base64url');
  return b.toString('utf8');
}

function parseTime(name, v) {
  assert.equal(typeof v, 'string', `${name} is not a string`);
  assert.match(v, RFC3339_UTC_SECONDS, `${name} is not RFC 3339 UTC whole seconds`);
  const ms = Date.parse(v);
  assert.ok(Number.isFinite(ms), `${name} does not parse`);
  return ms / 1000;
}

// parseNanoTime parses a time in seconds, keeping the fraction (Date.parse
// would round it to milliseconds).
function parseNanoTime(name, v) {
  assert.equal(typeof v, 'string', `${name} is not a string`);
  const m = RFC3339_UTC_NANO.exec(v);
  assert.ok(m, `${name} is not RFC 3339 UTC with fractional seconds`);
  const ms = Date.parse(`${m[1]}Z`);
  assert.ok(Number.isFinite(ms), `${name} does not parse`);
  return ms / 1000 + (m[2] ? Number(`0${m[2]}`) : 0);
}

function rfc3339(sec) {
  return new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function checkKey() {
  assert.equal(`k4.local.${Buffer.from(RAW_KEY).toString('base64url')}`, PASERK, 'PASERK of the raw key');
  // PASERK lid: "k4.lid." + base64url(BLAKE2b-264("k4.lid." + PASERK)).
  const digest = hash(new TextEncoder().encode(`k4.lid.${PASERK}`), 33);
  assert.equal(`k4.lid.${Buffer.from(digest).toString('base64url')}`, LID, 'k4.lid of the key');
  log('key: PASERK and k4.lid match');
}

function checkGoToken(token) {
  assert.ok(token.startsWith('v4.local.'), 'token header');
  const parts = token.split('.');
  assert.equal(parts.length, 4, 'token has v4, local, payload and footer');
  assert.equal(b64urlToString(parts[3]), FOOTER, 'footer bytes');
  // paseto-ts decodes leniently; the format promises canonical base64url.
  const raw = Buffer.from(parts[2], 'base64url');
  assert.equal(raw.toString('base64url'), parts[2], 'payload is not canonical base64url');
  assert.ok(raw.length > 64, 'payload holds a nonce, a ciphertext and a tag');

  const { payload, footer } = decrypt(pasetoTsKey(), token, { assertion: ASSERTION });
  assert.deepEqual(footer, { kid: LID }, 'parsed footer');

  assert.deepEqual(Object.keys(payload).sort(), ['created', 'data', 'exp', 'iat', 'sid'], 'claim names');
  const exp = parseTime('exp', payload.exp);
  const iat = parseTime('iat', payload.iat);
  const created = parseNanoTime('created', payload.created);
  const now = Date.now() / 1000;
  assert.ok(Math.abs(now - iat) < 300, `iat ${payload.iat} is not close to now`);
  assert.equal(Math.floor(created), iat, 'a new session is created when sealed, in the second of iat');
  assert.equal(exp - iat, IDLE_SECONDS, 'exp is iat + the default idle timeout');
  assert.equal(typeof payload.sid, 'string', 'sid is a string');
  assert.match(payload.sid, SID, 'sid is 22 base64url characters');
  const sid = Buffer.from(payload.sid, 'base64url');
  assert.equal(sid.length, 16, 'sid holds 128 bits');
  assert.equal(sid.toString('base64url'), payload.sid, 'sid is canonical base64url');
  assert.deepEqual(payload.data, GO_VALUE, 'data');
  log('Go token: footer, claims and data match');

  // The implicit assertion is bound: any other purpose, or none, fails.
  for (const assertion of ['tokensession/v1:session', '__Host-session', '']) {
    assert.throws(() => decrypt(pasetoTsKey(), token, { assertion }), `opened with assertion ${JSON.stringify(assertion)}`);
  }
  // The footer is authenticated: the same token with another footer fails.
  const otherFooter = Buffer.from(`{"kid":"k4.lid.${'A'.repeat(44)}"}`).toString('base64url');
  assert.throws(() => decrypt(pasetoTsKey(), `${parts.slice(0, 3).join('.')}.${otherFooter}`, { assertion: ASSERTION }), 'opened with a changed footer');
  log('Go token: wrong purposes and a changed footer are rejected');
}

function sealNodeTokens() {
  const iat = Math.floor(Date.now() / 1000);
  const sid = randomBytes(16).toString('base64url');
  const claims = {
    exp: rfc3339(iat + 10 * 60),
    iat: rfc3339(iat),
    created: rfc3339(iat),
    sid,
    data: NODE_VALUE,
  };
  const opts = { footer: FOOTER, addExp: false, addIat: false };
  const token = encrypt(pasetoTsKey(), claims, { ...opts, assertion: ASSERTION });
  const wrong = encrypt(pasetoTsKey(), claims, { ...opts, assertion: 'tokensession/v1:session' });
  assert.equal(b64urlToString(token.split('.')[3]), FOOTER, 'footer of the sealed token');
  // Sanity: paseto-ts opens what it sealed.
  assert.deepEqual(decrypt(pasetoTsKey(), token, { assertion: ASSERTION }).payload.data, NODE_VALUE);
  process.stdout.write(`sid ${sid}\ntoken ${token}\nwrong-purpose ${wrong}\n`);
  log('sealed a token for the Go side');
}

function main() {
  const token = process.argv[2];
  if (!token) {
    log('usage: node check.mjs <token>');
    process.exit(2);
  }
  checkKey();
  checkGoToken(token);
  sealNodeTokens();
  log('ok');
}

try {
  main();
} catch (err) {
  log(`FAIL: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
}
