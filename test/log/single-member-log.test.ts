import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SingleMemberLog } from '../../src/log/single-member-log';
import { MemoryStorage } from '../../src/log/memory-storage';
import type { LogEntry, LogStorage, Snapshot, StateMachine } from '../../src/log/replicated-log';

class Indexes implements StateMachine {
  applied: number[] = [];
  apply(e: LogEntry): unknown {
    this.applied.push(e.index);
    return e.index;
  }
  snapshot(): Buffer {
    return Buffer.from(JSON.stringify(this.applied));
  }
  restore(s: Snapshot): void {
    this.applied = JSON.parse(s.data.toString()) as number[];
  }
}

/** A memory storage whose appends wait for `gate` and are recorded. */
function slowStorage() {
  const inner = new MemoryStorage();
  const appends: number[][] = [];
  const storage: LogStorage = {
    append: async (e) => {
      appends.push(e.map((x) => x.index));
      await new Promise((r) => setTimeout(r, 5));
      return inner.append(e);
    },
    saveSnapshot: (s) => inner.saveSnapshot(s),
    load: () => inner.load(),
  };
  return { storage, appends, inner };
}

test('withSnapshot runs at a quiet point: after the batch in flight, before the proposals behind it', async () => {
  const { storage, appends } = slowStorage();
  const sm = new Indexes();
  const log = await SingleMemberLog.open(sm, { storage });
  const first = [1, 2, 3].map((i) => log.propose(Buffer.from(String(i))));
  let during: { index: number; state: number[]; written: number } | undefined;
  const quiet = log.withSnapshot(async (snap) => {
    await new Promise((r) => setTimeout(r, 20));
    during = { index: snap.meta.index, state: JSON.parse(snap.data.toString()), written: appends.flat().length };
  });
  const after = [4, 5].map((i) => log.propose(Buffer.from(String(i))));
  await quiet;
  assert.ok(during);
  // The batch in flight (entry 1 alone: the others arrived while it was being written) is applied
  // and in the snapshot; the proposals behind it were held, so nothing was written while fn ran.
  assert.deepEqual(during, { index: 1, state: [1], written: 1 });
  assert.deepEqual(await Promise.all([...first, ...after]), [1, 2, 3, 4, 5]);
  await log.close();
  assert.deepEqual(sm.applied, [1, 2, 3, 4, 5]);
  assert.deepEqual(appends, [[1], [2, 3, 4, 5]]);
});

test('withSnapshot: an error in fn is the caller’s, and the log goes on', async () => {
  const { storage } = slowStorage();
  const log = await SingleMemberLog.open(new Indexes(), { storage });
  await log.propose(Buffer.from('a'));
  await assert.rejects(
    log.withSnapshot(async () => {
      throw new Error('rekey failed');
    }),
    /rekey failed/,
  );
  assert.equal(await log.propose(Buffer.from('b')), 2);
  await log.close();
  await assert.rejects(
    log.withSnapshot(async () => undefined),
    /closed/,
  );
});

test('close waits for a withSnapshot and the proposals it held', async () => {
  const { storage } = slowStorage();
  const log = await SingleMemberLog.open(new Indexes(), { storage });
  let release!: () => void;
  const quiet = log.withSnapshot(() => new Promise<void>((r) => (release = r)));
  await new Promise((r) => setTimeout(r, 1));
  const held = log.propose(Buffer.from('held'));
  const closed = log.close();
  release();
  await quiet;
  await closed;
  assert.equal(await held, 1);
});

test('after a failed append, the proposals queued behind it take over its indexes: no gap', async () => {
  const inner = new MemoryStorage();
  let failNext = true;
  const written: number[] = [];
  const storage: LogStorage = {
    append: async (e) => {
      await new Promise((r) => setTimeout(r, 5));
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      written.push(...e.map((x) => x.index));
      return inner.append(e);
    },
    saveSnapshot: (s) => inner.saveSnapshot(s),
    load: () => inner.load(),
  };
  const log = await SingleMemberLog.open(new Indexes(), { storage });
  const failed = log.propose(Buffer.from('a'));
  const next = [log.propose(Buffer.from('b')), log.propose(Buffer.from('c'))];
  await assert.rejects(failed, /disk full/);
  assert.deepEqual(await Promise.all(next), [1, 2]);
  assert.deepEqual(written, [1, 2]);
  await log.close();
});

test('a failed snapshot is retried later and does not stop the proposals behind it', async () => {
  const inner = new MemoryStorage();
  let snapshots = 0;
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  const storage: LogStorage = {
    append: (e) => inner.append(e),
    saveSnapshot: async (s) => {
      if (snapshots++ === 0) throw new Error('no space for the snapshot');
      return inner.saveSnapshot(s);
    },
    load: () => inner.load(),
  };
  const log = await SingleMemberLog.open(new Indexes(), { storage, snapshotInterval: 2 });
  for (let i = 1; i <= 4; i++) assert.equal(await log.propose(Buffer.from(String(i))), i);
  await log.close();
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.ok(snapshots >= 2);
  assert.ok((await inner.load()).snapshot, 'a later snapshot succeeded');
  assert.ok(warnings.some((w) => /no space for the snapshot/.test(w)));
});
