import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DiskLogStorage, LogKeyError } from '../../src/log/wal/disk-storage';
import { keyIdOf } from '../../src/log/wal/payload-cipher';
import { SingleMemberLog } from '../../src/log/single-member-log';
import type { LogEntry, Snapshot, StateMachine } from '../../src/log/replicated-log';
import { allFiles, findIn } from '../support/files';

const MARKER = 'plaintext-marker';
const text = (i: number) => `${MARKER}-${i}`;
const entry = (index: number): LogEntry => ({ index, term: 1, data: Buffer.from(text(index)) });
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => entry(from + i));
/** The whole state up to `index`, as the snapshots here hold it. */
const stateAt = (index: number): Snapshot => ({
  meta: { index, term: 1 },
  data: Buffer.from(JSON.stringify(range(1, index).map((e) => e.data.toString()))),
});
/** What a load gives back, replayed: the data of every entry from 1 on. */
async function replayed(s: DiskLogStorage): Promise<string[]> {
  const { snapshot, entries } = await s.load();
  const base = snapshot ? (JSON.parse(snapshot.data.toString()) as string[]) : [];
  return [...base, ...entries.map((e) => e.data.toString())];
}
const expected = (n: number) => range(1, n).map((e) => e.data.toString());

function tempRoot(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-wal-rekey-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fileSet(dir: string): string[] {
  return allFiles(dir)
    .map((f) => relative(dir, f.path))
    .sort();
}

/** Key IDs named by the headers of every file under `dir`. */
function headerKeyIds(dir: string): string[] {
  return allFiles(dir).map((f) => f.data.subarray(12, 20).toString('hex'));
}

/** A log under `oldDek`: a snapshot at 10 and entries to 20 over several segments. */
async function oldLog(dir: string, oldDek: Buffer): Promise<void> {
  const s = await DiskLogStorage.open(dir, { deks: [oldDek], segmentBytes: 300 });
  await s.append(range(1, 10));
  await s.saveSnapshot(stateAt(10));
  for (let i = 11; i <= 20; i++) await s.append([entry(i)]);
  await s.close();
}

test('after rekey nothing on disk is under the old key, and no plaintext is anywhere', async (t) => {
  const root = tempRoot(t);
  const dir = join(root, 'raft');
  const oldDek = randomBytes(32);
  const newDek = randomBytes(32);
  await oldLog(dir, oldDek);

  let s = await DiskLogStorage.open(dir, { deks: [oldDek], segmentBytes: 300 });
  await s.load();
  await s.rekey(newDek, stateAt(20));
  await s.append(range(21, 3));
  await s.close();

  const newId = keyIdOf(newDek).toString('hex');
  assert.deepEqual([...new Set(headerKeyIds(dir))], [newId]);
  assert.deepEqual(findIn(allFiles(dir), MARKER), []);
  const err = await DiskLogStorage.open(dir, { deks: [oldDek] }).catch((e: unknown) => e);
  assert.ok(err instanceof LogKeyError, String(err));

  s = await DiskLogStorage.open(dir, { deks: [newDek] });
  assert.deepEqual(await replayed(s), expected(23));
  await s.close();
});

test('the plaintext search finds what is in the clear (so its silence above means something)', async (t) => {
  const dir = join(tempRoot(t), 'raft');
  const s = await DiskLogStorage.open(dir, { deks: [], cipher: 'none' });
  await s.append(range(1, 2));
  await s.close();
  assert.equal(findIn(allFiles(dir), MARKER).length, 1);
});

test('rekey refuses a snapshot that does not cover the whole log', async (t) => {
  const dir = join(tempRoot(t), 'raft');
  const oldDek = randomBytes(32);
  await oldLog(dir, oldDek);
  const s = await DiskLogStorage.open(dir, { deks: [oldDek] });
  await assert.rejects(
    s.rekey(randomBytes(32), stateAt(19)),
    /a tail that cover the whole log: it ends at 20, the snapshot at 19/,
  );
  await s.append([entry(21)]);
  await s.close();
});

test('a crash at any point of rekey recovers the same state, and rekeying again finishes it', async (t) => {
  const root = tempRoot(t);
  const base = join(root, 'base');
  const oldDek = randomBytes(32);
  const newDek = randomBytes(32);
  await oldLog(base, oldDek);

  // The files rekey creates and removes, from a run to completion on a copy.
  const done = join(root, 'done');
  cpSync(base, done, { recursive: true });
  const s = await DiskLogStorage.open(done, { deks: [oldDek], segmentBytes: 300 });
  await s.rekey(newDek, stateAt(20));
  await s.close();
  const created = fileSet(done).filter((f) => !fileSet(base).includes(f));
  const removed = fileSet(base).filter((f) => !fileSet(done).includes(f));
  // In the order rekey makes them: the snapshot, then the segment.
  assert.deepEqual(
    created.map((f) => f.split('/')[0]),
    ['snap-v3-encrypted', 'wal-v3-encrypted'],
  );
  assert.ok(removed.length >= 4, `${removed.length} files removed`);

  const states: { name: string; add: string[]; remove: string[]; tmp?: boolean }[] = [
    { name: 'snapshot half-written', add: [], remove: [], tmp: true },
    { name: 'snapshot written', add: created.slice(0, 1), remove: [] },
  ];
  // Removals are not ordered with respect to each other on disk: any subset may have happened.
  for (let mask = 0; mask < 1 << removed.length; mask++) {
    const remove = removed.filter((_, i) => mask & (1 << i));
    states.push({ name: `new segment, removed ${remove.join(' ') || 'nothing'}`, add: created, remove });
  }

  for (const [n, st] of states.entries()) {
    const dir = join(root, `crash-${n}`);
    cpSync(base, dir, { recursive: true });
    for (const f of st.add) cpSync(join(done, f), join(dir, f));
    for (const f of st.remove) unlinkSync(join(dir, f));
    if (st.tmp) {
      const f = created[0] + '.tmp';
      writeFileSync(join(dir, f), readFileSync(join(done, created[0])).subarray(0, 50));
    }

    // The key file holds both keys until rekey returns: reopen with the new one first.
    let r = await DiskLogStorage.open(dir, { deks: [newDek, oldDek], segmentBytes: 300 });
    assert.deepEqual(await replayed(r), expected(20), st.name);
    await r.append([entry(21)]);
    await r.rekey(newDek, stateAt(21));
    await r.append([entry(22)]);
    await r.close();

    assert.deepEqual([...new Set(headerKeyIds(dir))], [keyIdOf(newDek).toString('hex')], st.name);
    assert.ok(!readdirSync(join(dir, 'snap-v3-encrypted')).some((f) => f.endsWith('.tmp')), st.name);
    r = await DiskLogStorage.open(dir, { deks: [newDek] });
    assert.deepEqual(await replayed(r), expected(22), st.name);
    await r.close();
    rmSync(dir, { recursive: true });
  }
});

test('a crash before any rekey step, with the new key already first: entries go to a segment under it', async (t) => {
  const dir = join(tempRoot(t), 'raft');
  const oldDek = randomBytes(32);
  const newDek = randomBytes(32);
  await oldLog(dir, oldDek);
  let s = await DiskLogStorage.open(dir, { deks: [newDek, oldDek] });
  assert.deepEqual(await replayed(s), expected(20));
  await s.append(range(21, 2));
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [newDek, oldDek] });
  assert.deepEqual(await replayed(s), expected(22));
  await s.rekey(newDek, stateAt(22));
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [newDek] });
  assert.deepEqual(await replayed(s), expected(22));
  await s.close();
});

/** Keeps every entry's data: its snapshot is the whole history, as stateAt's is. */
class History implements StateMachine {
  data: string[] = [];
  apply(e: LogEntry): unknown {
    this.data.push(e.data.toString());
    return e.index;
  }
  snapshot(): Buffer {
    return Buffer.from(JSON.stringify(this.data));
  }
  restore(s: Snapshot): void {
    this.data = JSON.parse(s.data.toString()) as string[];
  }
}

test('rekey through SingleMemberLog.withSnapshot while proposals keep coming', async (t) => {
  const dir = join(tempRoot(t), 'raft');
  const oldDek = randomBytes(32);
  const newDek = randomBytes(32);
  const storage = await DiskLogStorage.open(dir, { deks: [oldDek], segmentBytes: 1000 });
  const sm = new History();
  const log = await SingleMemberLog.open(sm, { storage, snapshotInterval: 30 });
  const propose = (i: number) => log.propose(Buffer.from(text(i)));
  const first = Array.from({ length: 50 }, (_, i) => propose(i + 1));
  let seen: number | undefined;
  const rekeyed = log.withSnapshot(async (snap) => {
    seen = snap.meta.index;
    assert.equal(snap.meta.index, log.appliedIndex());
    await storage.rekey(newDek, snap);
  });
  const second = Array.from({ length: 50 }, (_, i) => propose(i + 51));
  await Promise.all([...first, rekeyed, ...second]);
  assert.ok(seen !== undefined && seen >= 1);
  await log.close();
  await storage.close();

  assert.deepEqual([...new Set(headerKeyIds(dir))], [keyIdOf(newDek).toString('hex')]);
  assert.deepEqual(findIn(allFiles(dir), MARKER), []);
  const again = await DiskLogStorage.open(dir, { deks: [newDek] });
  const sm2 = new History();
  const log2 = await SingleMemberLog.open(sm2, { storage: again });
  assert.equal(log2.appliedIndex(), 100);
  assert.deepEqual(sm2.data, expected(100));
  await log2.close();
  await again.close();
});

test('a Raft member rekeys with a tail it has not applied: the tail and the hard state survive under the new key only', async (t) => {
  const root = tempRoot(t);
  const dir = join(root, 'raft');
  const oldDek = randomBytes(32);
  const newDek = randomBytes(32);
  await oldLog(dir, oldDek);
  let s = await DiskLogStorage.open(dir, { deks: [oldDek, newDek] });
  await s.load();
  // Applied to 15; 16..20 are persisted (acknowledged to a leader) but not applied.
  await s.append([], { term: 3, vote: 'node-b', commit: 17 });
  await s.rekey(newDek, stateAt(15), range(16, 5), { term: 3, vote: 'node-b', commit: 17 });
  await assert.rejects(
    s.rekey(newDek, stateAt(15), range(16, 3)),
    /rekey needs a snapshot and a tail that cover the whole log/,
  );
  await s.close();
  assert.deepEqual([...new Set(headerKeyIds(dir))], [keyIdOf(newDek).toString('hex')]);
  s = await DiskLogStorage.open(dir, { deks: [newDek] });
  const loaded = await s.load();
  assert.equal(loaded.snapshot?.meta.index, 15);
  assert.deepEqual(
    loaded.entries.map((e) => e.index),
    [16, 17, 18, 19, 20],
  );
  assert.deepEqual(loaded.hardState, { term: 3, vote: 'node-b', commit: 17 });
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [newDek] });
  assert.deepEqual(await replayed(s), expected(20));
  await s.close();
});
