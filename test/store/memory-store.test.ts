import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory-store';
import { SingleMemberLog } from '../../src/log/single-member-log';
import { MemoryStorage } from '../../src/log/memory-storage';
import type { LogEntry, LogStorage, Snapshot } from '../../src/log/replicated-log';
import { ExistsError, SequenceConflictError } from '../../src/store/errors';
import type { Service } from '../../src/types/swarm';

const svc = (id: string, name: string): Service => ({
  ID: id,
  Version: {},
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Name: name, Labels: {}, TaskTemplate: { ForceUpdate: 0 } },
  Endpoint: { Spec: {} },
});

async function open(storage: LogStorage = new MemoryStorage(), snapshotInterval = 10000) {
  const store = new MemoryStore();
  const log = await SingleMemberLog.open(store, { storage, snapshotInterval });
  store.attach(log);
  return { store, log };
}

test('a write is visible only after commit, with the log index as its version', async () => {
  const { store } = await open();
  const p = store.update((tx) => tx.create('services', svc('a', 'web')));
  assert.equal(store.get('services', 'a'), undefined);
  await p;
  assert.equal(store.get('services', 'a')!.Version.Index, 1);
  await store.update((tx) => tx.create('services', svc('b', 'db')));
  assert.equal(store.get('services', 'b')!.Version.Index, 2);
});

test('a stale version is refused and changes nothing', async () => {
  const { store } = await open();
  await store.update((tx) => tx.create('services', svc('a', 'web')));
  const read = store.get('services', 'a')!;
  await store.update((tx) => tx.update('services', { ...read, Spec: { ...read.Spec, Labels: { x: '1' } } }));
  await assert.rejects(
    store.update((tx) => tx.update('services', { ...read, Spec: { ...read.Spec, Labels: { y: '2' } } })),
    SequenceConflictError,
  );
  assert.deepEqual(store.get('services', 'a')!.Spec.Labels, { x: '1' });
});

test('two concurrent writers of the same version: exactly one wins', async () => {
  const { store } = await open();
  await store.update((tx) => tx.create('services', svc('a', 'web')));
  const read = store.get('services', 'a')!;
  const results = await Promise.allSettled(
    ['1', '2'].map((v) =>
      store.update((tx) => tx.update('services', { ...read, Spec: { ...read.Spec, Labels: { v } } })),
    ),
  );
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
});

test('service names are unique regardless of case; a proposal applies all or nothing', async () => {
  const { store } = await open();
  await store.update((tx) => tx.create('services', svc('a', 'web')));
  await assert.rejects(
    store.update((tx) => {
      tx.create('services', svc('b', 'other'));
      tx.create('services', svc('c', 'WEB'));
    }),
    ExistsError,
  );
  assert.equal(store.get('services', 'b'), undefined);
  assert.equal(store.count('services'), 1);
});

test('a service name is freed by delete and by rename, and stays taken across a snapshot restore', async () => {
  const storage = new MemoryStorage();
  const { store, log } = await open(storage, 3);
  await store.update((tx) => tx.create('services', svc('a', 'web')));
  await store.update((tx) => tx.delete('services', 'a'));
  await store.update((tx) => tx.create('services', svc('b', 'Web')));
  const b = store.get('services', 'b')!;
  await store.update((tx) => tx.update('services', { ...b, Spec: { ...b.Spec, Name: 'api' } }));
  await store.update((tx) => tx.create('services', svc('c', 'web')));
  await assert.rejects(
    store.update((tx) => tx.create('services', svc('d', 'API'))),
    ExistsError,
  );
  await log.close();
  const again = await open(storage, 3);
  assert.ok((await storage.load()).snapshot, 'state came back through a snapshot');
  for (const [id, name] of [
    ['e', 'api'],
    ['f', 'WEB'],
  ]) {
    await assert.rejects(
      again.store.update((tx) => tx.create('services', svc(id, name))),
      ExistsError,
    );
  }
  await again.store.update((tx) => tx.delete('services', 'c'));
  await again.store.update((tx) => tx.create('services', svc('g', 'web')));
  assert.deepEqual(
    again.store
      .list('services')
      .map((s) => s.Spec.Name)
      .sort(),
    ['api', 'web'],
  );
});

test('concurrent proposals are group-committed: fewer storage writes than proposals', async () => {
  let appends = 0;
  const inner = new MemoryStorage();
  const counting: LogStorage = {
    append: async (e: LogEntry[]) => {
      appends++;
      await new Promise((r) => setTimeout(r, 5));
      return inner.append(e);
    },
    saveSnapshot: (s: Snapshot) => inner.saveSnapshot(s),
    load: () => inner.load(),
  };
  const { store } = await open(counting);
  await Promise.all(
    Array.from({ length: 50 }, (_, i) => store.update((tx) => tx.create('services', svc(`s${i}`, `n${i}`)))),
  );
  assert.equal(store.count('services'), 50);
  assert.ok(appends < 10, `${appends} appends for 50 proposals`);
});

test('recovery from storage: snapshot plus later entries gives the same state, idempotently', async () => {
  const storage = new MemoryStorage();
  const { store, log } = await open(storage, 5);
  for (let i = 0; i < 12; i++) await store.update((tx) => tx.create('services', svc(`s${i}`, `n${i}`)));
  const s3 = store.get('services', 's3')!;
  await store.update((tx) => tx.update('services', { ...s3, Spec: { ...s3.Spec, Labels: { k: 'v' } } }));
  await log.close();
  const loaded = await storage.load();
  assert.ok(loaded.snapshot, 'a snapshot was taken');
  assert.ok(loaded.entries.length < 13, 'entries before the snapshot were compacted');
  const again = await open(storage, 5);
  assert.equal(again.store.count('services'), 12);
  assert.deepEqual(again.store.get('services', 's3'), store.get('services', 's3'));
  assert.equal(again.log.appliedIndex(), 13);
});

test('a storage failure acknowledges nothing', async () => {
  const failing: LogStorage = {
    append: async () => {
      throw new Error('disk full');
    },
    saveSnapshot: async () => undefined,
    load: async () => ({ entries: [] }),
  };
  const { store } = await open(failing);
  await assert.rejects(
    store.update((tx) => tx.create('services', svc('a', 'web'))),
    /disk full/,
  );
  assert.equal(store.get('services', 'a'), undefined);
});
