import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  chmodSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPrivateKeyPem, exportPublicKeyPem, generateKeyPair, importSigningKey, writeKeyFile } from '../../src/ca';
import { isStandardPem } from './fixtures';

test('generated keys are ECDSA P-256, exported as PKCS#8 and SPKI PEM that Node reads back as a matching pair', async () => {
  const keys = await generateKeyPair();
  const priv = await exportPrivateKeyPem(keys.privateKey);
  const pub = await exportPublicKeyPem(keys.publicKey);
  assert.ok(isStandardPem(priv, 'PRIVATE KEY'), priv);
  assert.ok(isStandardPem(pub, 'PUBLIC KEY'), pub);
  const k = createPrivateKey(priv);
  assert.equal(k.asymmetricKeyType, 'ec');
  assert.equal(k.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const sig = sign('sha256', Buffer.from('hello'), k);
  assert.ok(verify('sha256', Buffer.from('hello'), createPublicKey(pub), sig));
  assert.ok(!verify('sha256', Buffer.from('hellO'), createPublicKey(pub), sig));
});

test('importSigningKey accepts PKCS#8 and SEC1 EC keys and RSA ≥ 2048, and refuses others', async () => {
  const ec384 = generateKeyPairSync('ec', {
    namedCurve: 'secp384r1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  const k = await importSigningKey(ec384.privateKey);
  assert.deepEqual(k.algorithm, { name: 'ECDSA', hash: 'SHA-384' });
  assert.deepEqual(k.publicKeyDer, ec384.publicKey);

  const rsa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  assert.equal((await importSigningKey(rsa.privateKey)).algorithm.name, 'RSASSA-PKCS1-v1_5');

  const ed = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await assert.rejects(importSigningKey(ed.privateKey), /unsupported key type: ed25519/);
  const k256 = generateKeyPairSync('ec', {
    namedCurve: 'secp256k1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await assert.rejects(importSigningKey(k256.privateKey), /unsupported ECDSA curve/);
});

test('writeKeyFile writes 0600 regardless of umask and of the old file’s mode, and leaves no temp files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'swarm-node.key');
  const pem = await exportPrivateKeyPem((await generateKeyPair()).privateKey);

  // A permissive umask must not widen the mode; a strict one (here even owner-write masked) must not narrow it.
  for (const umask of [0o000, 0o277]) {
    const oldUmask = process.umask(umask);
    try {
      await writeKeyFile(path, pem);
    } finally {
      process.umask(oldUmask);
    }
    assert.equal(statSync(path).mode & 0o777, 0o600, `umask ${umask.toString(8)}`);
    assert.equal(readFileSync(path, 'utf8'), pem);
  }

  writeFileSync(path, 'old');
  chmodSync(path, 0o644);
  assert.equal(statSync(path).mode & 0o777, 0o644);
  await writeKeyFile(path, pem);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['swarm-node.key']);
});

test('writeKeyFile replaces the file by rename: a reader of the old file still sees the old content', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'k.pem');
  await writeKeyFile(path, 'first key\n');
  const inodeBefore = statSync(path).ino;
  const fd = openSync(path, 'r');
  try {
    await writeKeyFile(path, 'second key, longer\n');
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, 64, 0);
    assert.equal(buf.subarray(0, n).toString(), 'first key\n');
  } finally {
    closeSync(fd);
  }
  assert.notEqual(statSync(path).ino, inodeBefore);
  assert.equal(readFileSync(path, 'utf8'), 'second key, longer\n');
});

test('writeKeyFile fails cleanly when the directory does not exist', async () => {
  await assert.rejects(writeKeyFile(join(tmpdir(), 'shoal-no-such-dir-' + process.pid, 'k'), 'x'), { code: 'ENOENT' });
});
