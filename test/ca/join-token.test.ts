import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  createRootCA,
  generateJoinToken,
  joinTokenMatches,
  joinTokenPinsRoot,
  parseJoinToken,
  rootCADigest,
} from '../../src/ca';

const TOKEN_RE = /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/;
const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');

test('generated tokens have Docker’s v1 shape and pin the root digest', async () => {
  const { certPem } = await createRootCA();
  const token = generateJoinToken(certPem);
  assert.match(token, TOKEN_RE);
  const parsed = parseJoinToken(token);
  assert.equal(parsed.rootDigestHex, sha256hex(certPem));
  assert.equal(parsed.fips, false);
  assert.equal(parsed.secret, token.slice(-25));
  assert.ok(joinTokenPinsRoot(parsed, certPem));
});

test('the digest part changes with the root; the secret part changes every time', async () => {
  const a = (await createRootCA()).certPem;
  const b = (await createRootCA()).certPem;
  const [ta1, ta2, tb] = [generateJoinToken(a), generateJoinToken(a), generateJoinToken(b)];
  const digestPart = (t: string): string => t.split('-')[2];
  const secretPart = (t: string): string => t.split('-')[3];
  assert.equal(digestPart(ta1), digestPart(ta2));
  assert.notEqual(digestPart(ta1), digestPart(tb));
  assert.notEqual(secretPart(ta1), secretPart(ta2));
  assert.equal(joinTokenPinsRoot(parseJoinToken(tb), a), false);
});

test('the digest covers the exact bytes, trailing newline included', async () => {
  const { certPem } = await createRootCA();
  assert.ok(certPem.endsWith('\n'));
  const trimmed = certPem.trimEnd();
  assert.equal(rootCADigest(certPem), `sha256:${sha256hex(certPem)}`);
  assert.notEqual(rootCADigest(trimmed), rootCADigest(certPem));
  assert.notEqual(parseJoinToken(generateJoinToken(trimmed)).rootDigestHex, sha256hex(certPem));
  assert.equal(rootCADigest(Buffer.from(certPem)), rootCADigest(certPem));
});

test('decodes the digest of the example token in the Docker Engine API swagger', () => {
  const parsed = parseJoinToken(
    'SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-7p73s1dx5in4tatdymyhg9hu2',
  );
  assert.match(parsed.rootDigestHex, /^9529c6f3[0-9a-f]{48}afaa2fb5$/);
  assert.equal(parsed.secret, '7p73s1dx5in4tatdymyhg9hu2');
});

test('small values are zero-padded on both sides of the conversion', () => {
  const parsed = parseJoinToken(`SWMTKN-1-${'0'.repeat(48)}10-${'0'.repeat(25)}`);
  assert.equal(parsed.rootDigestHex, '0'.repeat(62) + '24'); // base36 "10" = 36 = 0x24
  assert.equal(parsed.secret, '0'.repeat(25));
});

test('v2 (FIPS) tokens', async () => {
  const { certPem } = await createRootCA();
  const token = generateJoinToken(certPem, { fips: true });
  assert.match(token, /^SWMTKN-2-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  const parsed = parseJoinToken(token);
  assert.equal(parsed.fips, true);
  assert.equal(parsed.rootDigestHex, sha256hex(certPem));
  assert.equal(parseJoinToken(token.replace('SWMTKN-2-1-', 'SWMTKN-2-0-')).fips, false);
});

test('malformed tokens are all "invalid join token"', () => {
  const d = '1'.repeat(40) + 'abcdefghij'; // a valid digest (under 2^256)
  const s = 'b'.repeat(25);
  const bad = [
    '',
    'SWMTKN',
    `SWMTKN-1-${d}`,
    `SWMTKX-1-${d}-${s}`,
    `swmtkn-1-${d}-${s}`,
    `SWMTKN-3-${d}-${s}`,
    `SWMTKN-1-${d}-${s}-extra`,
    `SWMTKN-1-${d.slice(1)}-${s}`,
    `SWMTKN-1-${d}a-${s}`,
    `SWMTKN-1-${d}-${s.slice(1)}`,
    `SWMTKN-1-${d.toUpperCase()}-${s}`,
    `SWMTKN-1-${'!'.repeat(50)}-${s}`,
    `SWMTKN-2-${d}-${s}`,
    `SWMTKN-2-2-${d}-${s}`,
    `SWMTKN-1-${'z'.repeat(50)}-${s}`, // more than 256 bits
  ];
  for (const t of bad) assert.throws(() => parseJoinToken(t), /^Error: invalid join token$/, t);
  assert.doesNotThrow(() => parseJoinToken(`SWMTKN-1-${d}-${s}`));
});

test('joinTokenMatches compares whole tokens, including across lengths, and never matches an empty expected token', async () => {
  const { certPem } = await createRootCA();
  const token = generateJoinToken(certPem);
  assert.equal(joinTokenMatches(token, token), true);
  assert.equal(joinTokenMatches(token.slice(0, -1) + (token.endsWith('0') ? '1' : '0'), token), false);
  assert.equal(joinTokenMatches(token + 'x', token), false);
  assert.equal(joinTokenMatches(token.slice(0, 30), token), false);
  assert.equal(joinTokenMatches('', token), false);
  assert.equal(joinTokenMatches('', ''), false);
  assert.equal(joinTokenMatches(generateJoinToken(certPem), token), false);
});
