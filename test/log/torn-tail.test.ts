import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskLogStorage, LogCorruptionError } from '../../src/log/wal/disk-storage';
import type { LogEntry } from '../../src/log/replicated-log';

const dek = randomBytes(32);
const entry = (index: number, text = `entry ${index}`): LogEntry => ({ index, term: 3, data: Buffer.from(text) });
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => entry(from + i));

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-wal-torn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'raft');
}

function segments(dir: string): string[] {
  const w = join(dir, 'wal-v3-encrypted');
  return readdirSync(w)
    .sort()
    .map((f) => join(w, f));
}

test('a torn last batch record is cut off at every byte it could be cut at, and appending goes on', async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [dek] });
  await s.append(range(1, 3), { term: 3, vote: 'a', commit: 1 });
  await s.close();
  const file = segments(dir).at(-1)!;
  const start = statSync(file).size;
  s = await DiskLogStorage.open(dir, { deks: [dek] });
  // A batch with a hard state: a crash can tear it anywhere, including between its entries.
  const last = entry(6, 'the last entry, a little longer than the others');
  await s.append([entry(4), entry(5), last], { term: 4, vote: 'b', commit: 3 });
  await s.close();
  const whole = readFileSync(file);
  assert.ok(whole.length > start + 32 + 3 * 13 + 28);

  for (let cut = start; cut < whole.length; cut++) {
    writeFileSync(file, whole.subarray(0, cut));
    s = await DiskLogStorage.open(dir, { deks: [dek] });
    const loaded = await s.load();
    assert.deepEqual(loaded.entries, range(1, 3), `cut at ${cut}`);
    assert.deepEqual(loaded.hardState, { term: 3, vote: 'a', commit: 1 }, `cut at ${cut}`);
    assert.equal(statSync(file).size, start, `the file is truncated on disk (cut at ${cut})`);
    await s.append([entry(4, `again ${cut}`)]);
    await s.close();
    s = await DiskLogStorage.open(dir, { deks: [dek] });
    assert.deepEqual((await s.load()).entries, [...range(1, 3), entry(4, `again ${cut}`)]);
    await s.close();
    writeFileSync(file, whole);
  }
});

test('a torn overwrite leaves the entries it would have replaced', async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [dek] });
  await s.append(range(1, 10));
  await s.close();
  const file = segments(dir)[0];
  const before = statSync(file).size;
  s = await DiskLogStorage.open(dir, { deks: [dek] });
  await s.append([entry(6, 'six, term 4'), entry(7, 'seven, term 4')]);
  await s.close();
  const whole = readFileSync(file);
  for (let cut = before; cut < whole.length; cut++) {
    writeFileSync(file, whole.subarray(0, cut));
    s = await DiskLogStorage.open(dir, { deks: [dek] });
    assert.deepEqual((await s.load()).entries, range(1, 10), `cut at ${cut}`);
    await s.close();
  }
});

test('a batch torn inside its first record loses the whole batch, nothing before it', async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [dek] });
  await s.append(range(1, 2));
  const before = statSync(segments(dir)[0]).size;
  await s.append(range(3, 3));
  await s.close();
  const file = segments(dir)[0];
  for (const cut of [before + 1, before + 31, before + 32, before + 40]) {
    writeFileSync(file, readFileSync(file).subarray(0, cut));
    s = await DiskLogStorage.open(dir, { deks: [dek] });
    assert.deepEqual((await s.load()).entries, range(1, 2));
    await s.append(range(3, 3));
    await s.close();
  }
});

test('an incomplete record in a segment that is not the last is corruption', async (t) => {
  const dir = tempDir(t);
  const s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 200 });
  for (let i = 1; i <= 6; i++) await s.append([entry(i)]);
  await s.close();
  const [first] = segments(dir);
  assert.ok(segments(dir).length > 1);
  const size = statSync(first).size;
  writeFileSync(first, readFileSync(first).subarray(0, size - 5));
  const err = await DiskLogStorage.open(dir, { deks: [dek] }).catch((e: unknown) => e);
  assert.ok(err instanceof LogCorruptionError, String(err));
  assert.equal(err.file, first);
  assert.match(err.message, /record payload is incomplete \(\d+ of \d+ bytes\) in a segment that is not the last/);
});
