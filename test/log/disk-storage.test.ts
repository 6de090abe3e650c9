import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskLogStorage, LogKeyError } from '../../src/log/wal/disk-storage';
import { SingleMemberLog } from '../../src/log/single-member-log';
import type { LogEntry, LogStorage, Snapshot, StateMachine } from '../../src/log/replicated-log';

const dek = randomBytes(32);

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-wal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'raft');
}

const entry = (index: number, text = `entry ${index}`): LogEntry => ({ index, term: 1, data: Buffer.from(text) });
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => entry(from + i));
const wal = (dir: string) => join(dir, 'wal-v3-encrypted');
const snap = (dir: string) => join(dir, 'snap-v3-encrypted');

/** Sums the entries it applies: enough state to tell a replay from a lost or doubled entry. */
class Counter implements StateMachine {
  count = 0;
  sum = 0;
  apply(e: LogEntry): unknown {
    this.count++;
    this.sum += Number(e.data.toString());
    return e.index;
  }
  snapshot(): Buffer {
    return Buffer.from(JSON.stringify({ count: this.count, sum: this.sum }));
  }
  restore(s: Snapshot): void {
    ({ count: this.count, sum: this.sum } = JSON.parse(s.data.toString()) as { count: number; sum: number });
  }
}

test('entries survive a restart, in order', async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [dek] });
  assert.deepEqual(await s.load(), { snapshot: undefined, entries: [] });
  await s.append(range(1, 3));
  await s.append([entry(4, '')]);
  await s.append(range(5, 2));
  await s.close();

  s = await DiskLogStorage.open(dir, { deks: [dek] });
  const { snapshot, entries } = await s.load();
  assert.equal(snapshot, undefined);
  assert.deepEqual(entries, range(1, 3).concat([entry(4, '')], range(5, 2)));
  await s.append([entry(7)]);
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [dek] });
  assert.deepEqual(
    (await s.load()).entries.map((e) => e.index),
    [1, 2, 3, 4, 5, 6, 7],
  );
  await s.close();
});

test('directories are 0700 and files 0600', async (t) => {
  const dir = tempDir(t);
  const s = await DiskLogStorage.open(dir, { deks: [dek] });
  await s.append(range(1, 2));
  await s.saveSnapshot({ meta: { index: 2, term: 1 }, data: Buffer.from('state') });
  await s.close();
  for (const d of [dir, wal(dir), snap(dir)]) assert.equal(statSync(d).mode & 0o777, 0o700, d);
  for (const d of [wal(dir), snap(dir)]) {
    for (const f of readdirSync(d)) assert.equal(statSync(join(d, f)).mode & 0o777, 0o600, f);
  }
});

test('appends must follow the last index', async (t) => {
  const s = await DiskLogStorage.open(tempDir(t), { deks: [dek] });
  await s.append(range(1, 2));
  await assert.rejects(s.append([entry(4)]), /cannot append entry 4 to a raft log ending at 2/);
  await assert.rejects(s.append([entry(3), entry(5)]), /cannot append entry 5 after entry 3: not contiguous/);
  await s.append([entry(3)]);
  await s.close();
});

test('segments roll over past the size limit, and reopen in order', async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  for (let i = 1; i <= 40; i++) await s.append([entry(i)]);
  await s.close();
  const files = readdirSync(wal(dir)).sort();
  assert.ok(files.length >= 10, `${files.length} segments`);
  for (const f of files) assert.ok(statSync(join(wal(dir), f)).size <= 300 + 100, f);
  // A batch larger than the limit still goes in whole, in a segment of its own.
  s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  await s.append(range(41, 20));
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  assert.deepEqual((await s.load()).entries, range(1, 60));
  await s.close();
});

test('a snapshot compacts: older segments and snapshots are deleted, later entries kept', async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  for (let i = 1; i <= 30; i++) await s.append([entry(i)]);
  const before = readdirSync(wal(dir)).length;
  await s.saveSnapshot({ meta: { index: 10, term: 1 }, data: Buffer.from('ten') });
  await s.saveSnapshot({ meta: { index: 25, term: 1 }, data: Buffer.from('twenty-five') });
  const after = readdirSync(wal(dir)).length;
  assert.ok(after < before / 2, `${before} segments, then ${after}`);
  assert.equal(readdirSync(snap(dir)).length, 1);
  for (let i = 31; i <= 33; i++) await s.append([entry(i)]);
  await s.close();

  s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  const { snapshot, entries } = await s.load();
  assert.deepEqual(snapshot, { meta: { index: 25, term: 1 }, data: Buffer.from('twenty-five') });
  assert.deepEqual(entries, range(26, 8));
  await s.close();
});

test('a snapshot past the last entry: entries go on after it', async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [dek] });
  await s.append(range(1, 3));
  await s.saveSnapshot({ meta: { index: 10, term: 2 }, data: Buffer.from('ten') });
  await assert.rejects(s.append([entry(12)]), /ending at 10/);
  // Entries the snapshot covers are committed: an append of them is ignored, as etcd's storage does.
  await s.append([entry(4)]);
  assert.deepEqual((await s.load()).entries, []);
  await s.append(range(11, 2));
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [dek] });
  const { snapshot, entries } = await s.load();
  assert.equal(snapshot?.meta.index, 10);
  assert.deepEqual(entries, range(11, 2));
  await s.append([entry(13)]);
  await s.close();
});

test('a wrong key is refused, naming the file and the key IDs', async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [dek] });
  await s.append(range(1, 2));
  await s.close();
  const err = await DiskLogStorage.open(dir, { deks: [randomBytes(32)] }).catch((e: unknown) => e);
  assert.ok(err instanceof LogKeyError, String(err));
  assert.match(
    err.message,
    /wal-v3-encrypted\/0000000000000001-0000000000000001\.wal is encrypted under data encryption key [0-9a-f]{16}, which is not among the keys given \([0-9a-f]{16}\)/,
  );
  // With the right key among several, the header picks it.
  s = await DiskLogStorage.open(dir, { deks: [randomBytes(32), dek] });
  assert.deepEqual((await s.load()).entries, range(1, 2));
  await s.close();
  await assert.rejects(DiskLogStorage.open(dir, { deks: [randomBytes(16)] }), /32 bytes/);
});

test("cipher 'none' (bench only) keeps the framing; an encrypted reader refuses it", async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [], cipher: 'none' });
  await s.append(range(1, 3));
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [], cipher: 'none' });
  assert.deepEqual((await s.load()).entries, range(1, 3));
  await s.close();
  await assert.rejects(DiskLogStorage.open(dir, { deks: [dek] }), /written with cipher none, expected aes-256-gcm/);
});

test('closed storage refuses work', async (t) => {
  const s = await DiskLogStorage.open(tempDir(t), { deks: [dek] });
  await s.close();
  await assert.rejects(s.append([entry(1)]), /closed/);
  await assert.rejects(s.load(), /closed/);
});

test('through SingleMemberLog: concurrent proposals are group-committed and recovered', async (t) => {
  const dir = tempDir(t);
  let appends = 0;
  const disk = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 4096 });
  const counting: LogStorage = {
    append: (e) => {
      appends++;
      return disk.append(e);
    },
    saveSnapshot: (s) => disk.saveSnapshot(s),
    load: () => disk.load(),
  };
  let sm = new Counter();
  let log = await SingleMemberLog.open(sm, { storage: counting, snapshotInterval: 50 });
  const n = 200;
  const acked = await Promise.all(Array.from({ length: n }, (_, i) => log.propose(Buffer.from(String(i + 1)))));
  assert.deepEqual(
    acked,
    Array.from({ length: n }, (_, i) => i + 1),
  );
  assert.ok(appends < n / 4, `${appends} appends for ${n} proposals`);
  await log.close();
  await disk.close();

  const again = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 4096 });
  sm = new Counter();
  log = await SingleMemberLog.open(sm, { storage: again, snapshotInterval: 50 });
  assert.equal(log.appliedIndex(), n);
  assert.deepEqual([sm.count, sm.sum], [n, (n * (n + 1)) / 2]);
  await log.close();
  await again.close();
});
