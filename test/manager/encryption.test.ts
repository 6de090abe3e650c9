import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateUnlockKey,
  humanReadableKey,
  parseUnlockKey,
  UNLOCK_KEY_PREFIX,
} from '../../src/manager/encryption/unlock-key';
import { open, seal, SealedBoxKeyError } from '../../src/manager/encryption/sealed-box';
import { InvalidKEKError, KeyReadWriter } from '../../src/ca/key-read-writer';
import { ManagerKeys } from '../../src/manager/deks';
import { createNodeKeyAndCSR } from '../../src/ca';

test('unlock keys: SWMKEY-1- and unpadded base64 of 32 bytes, parsed back exactly', () => {
  const key = generateUnlockKey();
  assert.match(key, /^SWMKEY-1-[A-Za-z0-9+/]{43}$/);
  const raw = parseUnlockKey(key);
  assert.equal(raw.length, 32);
  assert.equal(humanReadableKey(raw), key);
  // The example from Docker's documentation.
  assert.equal(parseUnlockKey('SWMKEY-1-WuYH/IX284+lRcXuoVf38viIDK3HJEKY13MIHX+tTt8').length, 32);
});

test('unlock keys: a missing prefix, padding or a character outside the alphabet is "invalid key string"', () => {
  for (const bad of [
    '',
    'SWMKEY-1-',
    'WuYH/IX284+lRcXuoVf38viIDK3HJEKY13MIHX+tTt8',
    'SWMKEY-2-abcd',
    'SWMKEY-1-ab==',
    'SWMKEY-1-ab-_',
    'SWMKEY-1-a',
  ]) {
    assert.throws(() => parseUnlockKey(bad), { message: 'invalid key string' }, bad);
  }
  assert.ok(UNLOCK_KEY_PREFIX === 'SWMKEY-1-');
});

test('sealed boxes: opened by their key and label only', () => {
  const key = randomBytes(32);
  const secret = randomBytes(32);
  const box = seal(secret, key, 'raft-dek');
  assert.ok(!box.includes(secret));
  assert.deepEqual(open(box, key, 'raft-dek'), secret);
  assert.throws(() => open(box, randomBytes(32), 'raft-dek'), SealedBoxKeyError);
  assert.throws(() => open(box, key, 'raft-dek-pending'), SealedBoxKeyError);
  assert.throws(() => open(box, undefined, 'raft-dek'), SealedBoxKeyError);
  for (let i = 1; i < box.length; i++) {
    const t = Buffer.from(box);
    t[i] ^= 0x01;
    assert.throws(() => open(t, key, 'raft-dek'), SealedBoxKeyError, `flipped byte ${i}`);
  }
  // Without a key the record holds the plaintext, as an unlocked node keeps its DEK.
  assert.deepEqual(open(seal(secret, undefined, 'raft-dek'), undefined, 'raft-dek'), secret);
});

function tempKeyFile(): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-key-'));
  return { path: join(dir, 'swarm-node.key'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('key file: plaintext without a KEK; PBES2 and sealed DEK headers under one; 0600', async () => {
  const { path, done } = tempKeyFile();
  try {
    const krw = new KeyReadWriter(path);
    const { keyPem } = await createNodeKeyAndCSR();
    const dek = randomBytes(32);
    await krw.write({ keyPem, dek }, undefined, 0);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(await krw.needsKEK(), false);
    let text = readFileSync(path, 'utf8');
    assert.match(text, /^-----BEGIN PRIVATE KEY-----\nkek-version: 0\nraft-dek: /);
    assert.deepEqual((await krw.read()).material.dek, dek);

    const kek = randomBytes(32);
    await krw.write({ keyPem, dek }, kek, 7);
    text = readFileSync(path, 'utf8');
    assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\nkek-version: 7\n/);
    assert.ok(!text.includes(keyPem.split('\n')[1]), 'the plaintext key is gone');
    assert.ok(!readFileSync(path).includes(dek), 'the DEK is not stored raw');
    assert.equal(await krw.needsKEK(), true);
    const back = await krw.read(kek);
    assert.deepEqual(back.material.dek, dek);
    assert.equal(back.material.keyPem.trim(), keyPem.trim());
    assert.equal(back.kekVersion, 7);
    await assert.rejects(krw.read(), InvalidKEKError);
    await assert.rejects(krw.read(randomBytes(32)), InvalidKEKError);
  } finally {
    done();
  }
});

test('key file: a DEK header sealed under another key does not open', async () => {
  const { path, done } = tempKeyFile();
  try {
    const krw = new KeyReadWriter(path);
    const { keyPem } = await createNodeKeyAndCSR();
    const kek = randomBytes(32);
    await krw.write({ keyPem, dek: randomBytes(32) }, kek, 1);
    const other = tempKeyFile();
    await new KeyReadWriter(other.path).write({ keyPem, dek: randomBytes(32) }, randomBytes(32), 1);
    const foreign = /raft-dek: (.*)/.exec(readFileSync(other.path, 'utf8'))![1];
    other.done();
    writeFileSync(path, readFileSync(path, 'utf8').replace(/raft-dek: .*/, `raft-dek: ${foreign}`));
    await assert.rejects(krw.read(kek), InvalidKEKError);
  } finally {
    done();
  }
});

test('manager keys: locking rotates the DEK through a pending one; rotating the KEK keeps the DEK', async () => {
  const { path, done } = tempKeyFile();
  try {
    const krw = new KeyReadWriter(path);
    const { keyPem } = await createNodeKeyAndCSR();
    const keys = await ManagerKeys.create(krw, keyPem, undefined);
    const first = keys.writeDek;
    const rekeyed: Buffer[] = [];
    let seenOnDisk: { dek?: Buffer; pendingDek?: Buffer } = {};
    const key1 = generateUnlockKey();
    await keys.applyUnlockKey(key1, 5, async (dek) => {
      // The pending DEK is recorded before anything is written under it.
      seenOnDisk = (await krw.read(parseUnlockKey(key1))).material;
      rekeyed.push(dek);
    });
    assert.equal(rekeyed.length, 1);
    assert.ok(!rekeyed[0].equals(first));
    assert.deepEqual(seenOnDisk.dek, first);
    assert.deepEqual(seenOnDisk.pendingDek, rekeyed[0]);
    const after = await krw.read(parseUnlockKey(key1));
    assert.deepEqual(after.material.dek, rekeyed[0]);
    assert.equal(after.material.pendingDek, undefined);
    assert.equal(after.kekVersion, 5);

    const key2 = generateUnlockKey();
    await keys.applyUnlockKey(key2, 9, async () => assert.fail('a KEK rotation does not rotate the DEK'));
    await assert.rejects(krw.read(parseUnlockKey(key1)), InvalidKEKError);
    assert.deepEqual((await krw.read(parseUnlockKey(key2))).material.dek, rekeyed[0]);

    await keys.applyUnlockKey('', 11, async () => assert.fail('unlocking does not rotate the DEK'));
    assert.equal(await krw.needsKEK(), false);
    assert.deepEqual((await krw.read()).material.dek, rekeyed[0]);
  } finally {
    done();
  }
});

test('manager keys: a rotation cut short is finished on the next load', async () => {
  const { path, done } = tempKeyFile();
  try {
    const krw = new KeyReadWriter(path);
    const { keyPem } = await createNodeKeyAndCSR();
    const kek = randomBytes(32);
    const dek = randomBytes(32);
    const pendingDek = randomBytes(32);
    await krw.write({ keyPem, dek, pendingDek }, kek, 3);
    const keys = await ManagerKeys.load(krw, kek);
    assert.deepEqual(keys.readDeks, [pendingDek, dek]);
    assert.ok(keys.rotationPending);
    let rekeyedTo: Buffer | undefined;
    await keys.finishRotation(async (d) => {
      rekeyedTo = d;
    });
    assert.deepEqual(rekeyedTo, pendingDek);
    const after = await krw.read(kek);
    assert.deepEqual(after.material.dek, pendingDek);
    assert.equal(after.material.pendingDek, undefined);
  } finally {
    done();
  }
});
