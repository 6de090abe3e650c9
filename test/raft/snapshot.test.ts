// Compaction and snapshots: a follower behind the leader's compacted log receives the snapshot
// in chunks, stop-and-wait, re-sent from the last acknowledged offset when chunks are lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, SnapshotChunk } from '../../src/raft';
import { Cluster } from './sim/cluster';

const ids = ['a', 'b', 'c'];

function lagBehindCompaction(chunkBytes: number): Cluster {
  const c = new Cluster(ids, { snapshotChunkBytes: chunkBytes });
  c.campaign('a');
  c.crash('c');
  for (let i = 0; i < 10; i++) c.propose('a', `entry-${i}`);
  c.deliverAll();
  assert.ok(c.compact('a'));
  assert.ok(c.node('a').status().firstIndex > c.sim('c').storage.lastIndex() + 1, 'c needs entries a compacted');
  return c;
}

const chunksTo = (c: Cluster, to: string) => {
  const seen: SnapshotChunk[] = [];
  c.filters.push((m: Message) => {
    if (m.type === 'snapshot' && m.to === to) seen.push(m);
    return true;
  });
  return seen;
};

test('a follower behind the compacted log is sent the snapshot in chunks and restores it', () => {
  const c = lagBehindCompaction(16);
  const chunks = chunksTo(c, 'c');
  c.restart('c');
  c.tickAll(5);
  const total = c.sim('a').storage.snapshot().data.length;
  assert.equal(chunks.length, Math.ceil(total / 16));
  assert.deepEqual(
    chunks.map((m) => m.offset),
    chunks.map((_, i) => i * 16),
  );
  assert.equal(c.sim('c').storage.snapshot().meta.index, c.sim('a').storage.snapshot().meta.index);
  assert.deepEqual(
    c.sim('c').storage.snapshot().meta.voters,
    ['a', 'b', 'c'],
    'the configuration travels in the snapshot',
  );
  assert.deepEqual(c.appliedText('c'), c.appliedText('a'));

  // And c keeps up normally afterwards.
  c.propose('a', 'after');
  c.deliverAll();
  assert.equal(c.appliedText('c').at(-1), 'after');
});

test('lost chunks are re-sent from the last acknowledged offset', () => {
  const c = lagBehindCompaction(16);
  const chunks = chunksTo(c, 'c');
  let dropped = 0;
  c.filters.push((m: Message) => {
    // Lose the second chunk twice, and one acknowledgement.
    if (m.type === 'snapshot' && m.offset === 16 && dropped < 2) return dropped++ === -1;
    if (m.type === 'snapshot-ack' && m.offset === 48 && dropped === 2) return dropped++ === -1;
    return true;
  });
  c.restart('c');
  c.tickAll(20);
  assert.equal(dropped, 3);
  assert.ok(chunks.filter((m) => m.offset === 16).length >= 3);
  assert.deepEqual(c.appliedText('c'), c.appliedText('a'));
});

test('a follower that restarts mid-transfer makes the leader rewind to the first chunk', () => {
  const c = lagBehindCompaction(16);
  const chunks = chunksTo(c, 'c');
  c.restart('c');
  // Deliver until c holds part of the snapshot, then restart it: the partial copy is gone.
  while (!chunks.some((m) => m.offset === 32)) {
    if (c.queue.length > 0) c.deliver(0);
    else for (const id of ids) c.tick(id);
  }
  c.queue = [];
  c.crash('c');
  c.restart('c');
  c.tickAll(10);
  const restarts = chunks.filter((m) => m.offset === 0).length;
  assert.ok(restarts >= 2, 'the transfer started over');
  assert.deepEqual(c.appliedText('c'), c.appliedText('a'));
});

test('a restarted member recovers its state from its own snapshot and the entries after it', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  for (let i = 0; i < 5; i++) c.propose('a', `x${i}`);
  c.deliverAll();
  c.tickAll(1);
  c.compact('b', 2);
  c.propose('a', 'x5');
  c.deliverAll();
  c.tickAll(1);
  const before = c.appliedText('b').join();
  c.crash('b');
  c.restart('b');
  assert.equal(c.appliedText('b').join(), before);
});
