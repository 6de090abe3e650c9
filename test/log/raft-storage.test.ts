// What Raft will need of the log storage: a hard state persisted with entries, appends that
// overwrite a suffix, and both surviving restarts, compaction and rekey. The disk storage and
// the memory storage are held to the same model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DiskLogStorage } from '../../src/log/wal/disk-storage';
import { MemoryStorage } from '../../src/log/memory-storage';
import type { HardState, LogEntry, LogStorage, Snapshot } from '../../src/log/replicated-log';

const dek = randomBytes(32);
const entry = (index: number, term = 1, text = `entry ${index} term ${term}`): LogEntry => ({
  index,
  term,
  data: Buffer.from(text),
});
const range = (from: number, n: number, term = 1) => Array.from({ length: n }, (_, i) => entry(from + i, term));
const snap = (index: number, term = 1): Snapshot => ({ meta: { index, term }, data: Buffer.from(`state at ${index}`) });
const wal = (dir: string) => join(dir, 'wal-v3-encrypted');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-wal-raft-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'raft');
}

type Opener = () => Promise<LogStorage & { close?(): Promise<void> }>;

/** The disk storage reopened from its directory, or one memory storage throughout. */
function kinds(t: { after: (fn: () => void) => void }, segmentBytes?: number): [string, Opener][] {
  const dir = tempDir(t);
  const mem = new MemoryStorage();
  return [
    ['disk', () => DiskLogStorage.open(dir, { deks: [dek], segmentBytes })],
    ['memory', () => Promise.resolve(mem)],
  ];
}

test('overwrite: append 1..10, then 6..7 in a new term: 1..7 with the new entries, after a restart too', async (t) => {
  for (const [name, open] of kinds(t)) {
    let s = await open();
    await s.append(range(1, 10));
    await s.append(range(6, 2, 2));
    const want = [...range(1, 5), ...range(6, 2, 2)];
    assert.deepEqual((await s.load()).entries, want, name);
    await s.close?.();
    s = await open();
    assert.deepEqual((await s.load()).entries, want, name);
    // The log goes on from the overwrite, not from the entries it discarded.
    await assert.rejects(s.append([entry(9, 2)]), /cannot append entry 9 to a raft log ending at 7/, name);
    await s.append([entry(8, 2)]);
    await s.close?.();
    s = await open();
    assert.deepEqual((await s.load()).entries, [...want, entry(8, 2)], name);
    await s.close?.();
  }
});

test('appends must be contiguous and start at most one past the last index', async (t) => {
  for (const [name, open] of kinds(t)) {
    const s = await open();
    await assert.rejects(s.append([entry(2)]), /cannot append entry 2 to a raft log ending at 0/, name);
    await s.append(range(1, 3));
    await assert.rejects(s.append([entry(2), entry(4)]), /not contiguous/, name);
    await assert.rejects(s.append([entry(5)]), /ending at 3/, name);
    await s.append([entry(1, 5)]);
    assert.deepEqual((await s.load()).entries, [entry(1, 5)], name);
    await s.close?.();
  }
});

test('hard state: written with entries or alone, the latest wins, across restarts', async (t) => {
  for (const [name, open] of kinds(t)) {
    let s = await open();
    assert.equal((await s.load()).hardState, undefined, name);
    await s.append(range(1, 3), { term: 1, vote: 'node-1', commit: 0 });
    await s.append([], { term: 2, vote: '', commit: 2 });
    await s.append(range(4, 1, 2));
    await s.close?.();
    s = await open();
    let loaded = await s.load();
    assert.deepEqual(loaded.hardState, { term: 2, vote: '', commit: 2 }, name);
    assert.deepEqual(loaded.entries, [...range(1, 3), ...range(4, 1, 2)], name);
    await s.append(range(3, 1, 3), { term: 3, vote: 'node-2', commit: 2 });
    await s.close?.();
    s = await open();
    loaded = await s.load();
    assert.deepEqual(loaded.hardState, { term: 3, vote: 'node-2', commit: 2 }, name);
    assert.deepEqual(loaded.entries, [...range(1, 2), ...range(3, 1, 3)], name);
    await s.close?.();
  }
});

test('entry kinds are kept; the default kind is left out', async (t) => {
  for (const [name, open] of kinds(t)) {
    let s = await open();
    await s.append([entry(1), { ...entry(2), kind: 1 }, { ...entry(3), kind: 0 }]);
    await s.close?.();
    s = await open();
    assert.deepEqual((await s.load()).entries, [entry(1), { ...entry(2), kind: 1 }, entry(3)], name);
    await s.close?.();
  }
});

test('the latest hard state survives compaction of the segment holding it, and rekey', async (t) => {
  const dir = tempDir(t);
  const hs: HardState = { term: 7, vote: 'node-x', commit: 5 };
  let s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  await s.append(range(1, 2), hs);
  for (let i = 3; i <= 20; i++) await s.append([entry(i)]);
  const first = readdirSync(wal(dir)).sort()[0];
  await s.saveSnapshot(snap(15));
  assert.ok(!readdirSync(wal(dir)).includes(first), 'the segment with the hard state was compacted away');
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  let loaded = await s.load();
  assert.deepEqual(loaded.hardState, hs);
  assert.deepEqual(loaded.entries, range(16, 5));

  // A snapshot past the end: no segment is left to append to, and a new one takes the hard state.
  await s.saveSnapshot(snap(30));
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  loaded = await s.load();
  assert.deepEqual([loaded.snapshot?.meta.index, loaded.entries, loaded.hardState], [30, [], hs]);

  const newDek = randomBytes(32);
  await s.rekey(newDek, snap(30));
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [newDek] });
  loaded = await s.load();
  assert.deepEqual([loaded.snapshot?.meta.index, loaded.entries, loaded.hardState], [30, [], hs]);
  await s.append(range(31, 2), { ...hs, commit: 31 });
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [newDek] });
  loaded = await s.load();
  assert.deepEqual([loaded.entries, loaded.hardState], [range(31, 2), { ...hs, commit: 31 }]);
  await s.close();
});

test('an overwrite reaching back past the current segment starts a new one, and compacts', async (t) => {
  const dir = tempDir(t);
  let s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  for (let i = 1; i <= 12; i++) await s.append([entry(i)]);
  const before = readdirSync(wal(dir)).length;
  assert.ok(before >= 3);
  await s.append(range(2, 3, 2));
  assert.equal(readdirSync(wal(dir)).length, before + 1);
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  assert.deepEqual((await s.load()).entries, [entry(1), ...range(2, 3, 2)]);
  await s.append([entry(5, 2)]);
  await s.saveSnapshot(snap(4, 2));
  await s.close();
  s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: 300 });
  const { snapshot, entries } = await s.load();
  assert.deepEqual([snapshot?.meta.index, entries], [4, [entry(5, 2)]]);
  await s.close();
});

/** What the storage should hold, kept the simplest way. */
class Model {
  entries = new Map<number, LogEntry>();
  last = 0;
  snapIndex = 0;
  hardState?: HardState;

  append(es: LogEntry[], hs?: HardState): void {
    const kept = es.filter((e) => e.index > this.snapIndex);
    if (kept.length > 0) {
      for (let i = kept[0].index; i <= this.last; i++) this.entries.delete(i);
      for (const e of kept) this.entries.set(e.index, e);
      this.last = kept.at(-1)!.index;
    }
    if (hs) this.hardState = hs;
  }

  snapshot(index: number): void {
    this.snapIndex = index;
    this.last = Math.max(this.last, index);
    for (const i of [...this.entries.keys()]) if (i <= index) this.entries.delete(i);
  }

  expected() {
    const entries = [...this.entries.values()].sort((a, b) => a.index - b.index);
    return { snapIndex: this.snapIndex, entries, hardState: this.hardState };
  }
}

type Op =
  | { op: 'append'; back: number; n: number; term: number; hs?: HardState }
  | { op: 'snapshot'; back: number }
  | { op: 'reopen' }
  | { op: 'rekey' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        op: fc.constant('append' as const),
        back: fc.oneof(fc.constant(0), fc.nat(6)),
        n: fc.integer({ min: 0, max: 5 }),
        term: fc.integer({ min: 1, max: 4 }),
        hs: fc.record({ term: fc.nat(9), vote: fc.constantFrom('', 'a', 'node-b'), commit: fc.nat(50) }),
      },
      { requiredKeys: ['op', 'back', 'n', 'term'] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('snapshot' as const), back: fc.integer({ min: -2, max: 6 }) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'rekey' as const }) },
);

test('property: random appends, overwrites, hard states, snapshots, rekeys and restarts match a model', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'shoal-wal-model-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
      const dir = join(root, `run-${run++}`);
      const deks = [randomBytes(32)];
      const open = () => DiskLogStorage.open(dir, { deks, segmentBytes: 400 });
      let disk = await open();
      const mem = new MemoryStorage();
      const model = new Model();
      try {
        for (const o of ops) {
          if (o.op === 'append') {
            if (o.n === 0 && !o.hs) continue;
            const first = Math.max(1, model.last + 1 - o.back);
            const es = range(first, o.n, o.term);
            const hs = o.hs && { ...o.hs };
            await disk.append(es, hs);
            await mem.append(es, hs);
            model.append(es, hs);
          } else if (o.op === 'snapshot') {
            const index = Math.max(model.snapIndex, model.last - o.back);
            if (index === 0) continue;
            await disk.saveSnapshot(snap(index));
            await mem.saveSnapshot(snap(index));
            model.snapshot(index);
          } else if (o.op === 'reopen') {
            await disk.close();
            disk = await open();
          } else {
            if (model.last === 0) continue;
            deks.unshift(randomBytes(32));
            await disk.rekey(deks[0], snap(model.last));
            await mem.saveSnapshot(snap(model.last));
            model.snapshot(model.last);
          }
          const want = model.expected();
          for (const [name, s] of [
            ['disk', disk],
            ['memory', mem],
          ] as const) {
            const got = await s.load();
            const view = { snapIndex: got.snapshot?.meta.index ?? 0, entries: got.entries, hardState: got.hardState };
            assert.deepEqual(view, want, `${name} after ${JSON.stringify(o)}`);
          }
        }
        await disk.close();
        disk = await open();
        const got = await disk.load();
        const want = model.expected();
        assert.deepEqual(
          { snapIndex: got.snapshot?.meta.index ?? 0, entries: got.entries, hardState: got.hardState },
          want,
          'after a final restart',
        );
      } finally {
        await disk.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 60 },
  );
});
