// The Raft host with real encrypted disk logs and three members in one process, wired by a transport that hands
// messages straight to the recipient (and can cut a member off): proposals from the leader and from followers,
// a leader's loss, a restart from disk, snapshots for a member that lags, and a membership change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskLogStorage } from '../../src/log/wal/disk-storage';
import type { Snapshot, StateMachine, LogEntry } from '../../src/log/replicated-log';
import { RaftLog, type RaftTransport } from '../../src/manager/raft/raft-log';
import type { Message, NodeId, ProposeResult } from '../../src/raft';
import { fromWire, toWire } from '../../src/manager/raft/wire';

const TIMING = { tickMs: 20, electionTick: 10, heartbeatTick: 1 };

/** Appends every applied value to a list; a value "fail" is rejected, as a store rejects a conflict. */
class ListMachine implements StateMachine {
  values: string[] = [];
  apply(e: LogEntry): unknown {
    const v = e.data.toString();
    if (v === 'fail') throw new Error('rejected by the state machine');
    this.values.push(v);
    return this.values.length;
  }
  snapshot(): Buffer {
    return Buffer.from(JSON.stringify(this.values));
  }
  restore(s: Snapshot): void {
    this.values = JSON.parse(s.data.toString()) as string[];
  }
}

class Net {
  readonly members = new Map<NodeId, RaftLog>();
  readonly cut = new Set<NodeId>();
  transport(self: NodeId): RaftTransport {
    return {
      send: (messages: Message[]) => {
        for (const m of messages) {
          if (this.cut.has(self) || this.cut.has(m.to)) continue;
          const to = this.members.get(m.to);
          // Delivered later, as a network would (never inside the sender's loop), through the wire encoding.
          if (to) setImmediate(() => to.receive([fromWire(JSON.parse(JSON.stringify(toWire(m)))) as Message]));
        }
      },
      forward: async (to: NodeId, data: Buffer): Promise<ProposeResult> => {
        const m = this.members.get(to);
        if (!m || this.cut.has(self) || this.cut.has(to)) throw new Error('unreachable');
        return m.proposeForwarded(data);
      },
    };
  }
}

interface Member {
  id: NodeId;
  dir: string;
  dek: Buffer;
  sm: ListMachine;
  log: RaftLog;
}

async function startMember(
  net: Net,
  id: NodeId,
  dir: string,
  dek: Buffer,
  bootstrap: boolean,
  snapshotInterval = 10000,
) {
  const sm = new ListMachine();
  const storage = await DiskLogStorage.open(dir, { deks: [dek] });
  const log = await RaftLog.open(sm, { id, storage, timing: TIMING, bootstrap, snapshotInterval });
  net.members.set(id, log);
  log.start(net.transport(id));
  return { id, dir, dek, sm, log } as Member;
}

async function until<T>(fn: () => T | undefined, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function cluster(t: { after(fn: () => Promise<void> | void): void }, n = 3, snapshotInterval = 10000) {
  const root = mkdtempSync(join(tmpdir(), 'shoal-raft-log-'));
  const net = new Net();
  const ids = Array.from({ length: n }, (_, i) => `node-${i}`);
  const members: Member[] = [];
  const first = await startMember(net, ids[0], join(root, ids[0]), randomBytes(32), true, snapshotInterval);
  members.push(first);
  await until(() => first.log.isLeader(), 5000, 'the first member to lead');
  for (const id of ids.slice(1)) {
    const leader = members.find((m) => m.log.isLeader())!;
    await leader.log.changeMembership({ type: 'add-member', nodeId: id });
    members.push(await startMember(net, id, join(root, id), randomBytes(32), false, snapshotInterval));
  }
  t.after(async () => {
    for (const m of members) await m.log.close().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });
  return { net, members, root };
}

const leaderOf = (ms: Member[]) => ms.find((m) => m.log.isLeader());

test('three members: proposals from the leader and from followers are applied everywhere in one order', async (t) => {
  const { members } = await cluster(t);
  await until(() => members.every((m) => m.log.voters().length === 3) || undefined, 5000, 'three voters');
  const leader = leaderOf(members)!;
  const followers = members.filter((m) => m !== leader);
  const results = await Promise.all([
    leader.log.propose(Buffer.from('a')),
    followers[0].log.propose(Buffer.from('b')),
    followers[1].log.propose(Buffer.from('c')),
  ]);
  assert.deepEqual([...results].sort(), [1, 2, 3]);
  await assert.rejects(followers[0].log.propose(Buffer.from('fail')), /rejected by the state machine/);
  // A follower's write is in its own store by the time the write returns.
  await followers[1].log.propose(Buffer.from('d'));
  assert.equal(followers[1].sm.values.at(-1), 'd');
  await until(() => members.every((m) => m.sm.values.length === 4) || undefined, 5000, 'all applied');
  for (const m of members) assert.deepEqual(m.sm.values, leader.sm.values);
  // A read barrier on a follower sees every write acknowledged before it.
  await leader.log.propose(Buffer.from('e'));
  await followers[0].log.readBarrier();
  assert.equal(followers[0].sm.values.at(-1), 'e');
});

test('a leader cut off steps down; the majority elects another and commits; the old one catches up after healing', async (t) => {
  const { net, members } = await cluster(t);
  await until(() => members.every((m) => m.log.voters().length === 3) || undefined, 5000, 'three voters');
  const old = leaderOf(members)!;
  await old.log.propose(Buffer.from('before'));
  net.cut.add(old.id);
  // The minority cannot commit.
  await assert.rejects(old.log.propose(Buffer.from('lost')), /does not have a leader|lost|context deadline exceeded/);
  const rest = members.filter((m) => m !== old);
  const next = await until(() => leaderOf(rest), 10_000, 'a new leader');
  await until(() => !old.log.isLeader() || undefined, 10_000, 'the old leader to step down');
  await next.log.propose(Buffer.from('after'));
  net.cut.delete(old.id);
  await until(() => (old.sm.values.at(-1) === 'after' ? true : undefined), 10_000, 'the old leader to catch up');
  for (const m of members) assert.deepEqual(m.sm.values, ['before', 'after']);
});

test('a member restarted from its disk log comes back with its state and rejoins', async (t) => {
  const { net, members } = await cluster(t);
  await until(() => members.every((m) => m.log.voters().length === 3) || undefined, 5000, 'three voters');
  const leader = leaderOf(members)!;
  for (let i = 0; i < 20; i++) await leader.log.propose(Buffer.from(`v${i}`));
  const f = members.find((m) => m !== leader)!;
  await until(() => f.sm.values.length === 20 || undefined, 5000, 'the follower to apply');
  await f.log.close();
  net.members.delete(f.id);
  await leader.log.propose(Buffer.from('while-down'));
  const again = await startMember(net, f.id, f.dir, f.dek, false);
  members[members.indexOf(f)] = again;
  await until(() => (again.sm.values.at(-1) === 'while-down' ? true : undefined), 10_000, 'the restarted member');
  assert.equal(again.sm.values.length, 21);
});

test('a member that lags behind a compacted log gets a snapshot', async (t) => {
  const { net, members } = await cluster(t, 3, 50);
  await until(() => members.every((m) => m.log.voters().length === 3) || undefined, 5000, 'three voters');
  const leader = leaderOf(members)!;
  const lagging = members.find((m) => m !== leader)!;
  net.cut.add(lagging.id);
  for (let i = 0; i < 700; i++) await leader.log.propose(Buffer.from(`x${i}`));
  net.cut.delete(lagging.id);
  await until(() => lagging.sm.values.length === 700 || undefined, 20_000, 'the lagging member to catch up');
  assert.deepEqual(lagging.sm.values, leader.sm.values);
});

test('a member removed from the configuration no longer counts towards the majority', async (t) => {
  const { net, members } = await cluster(t);
  await until(() => members.every((m) => m.log.voters().length === 3) || undefined, 5000, 'three voters');
  const leader = leaderOf(members)!;
  const gone = members.find((m) => m !== leader)!;
  await leader.log.changeMembership({ type: 'remove-member', nodeId: gone.id });
  assert.deepEqual(
    leader.log.voters().sort(),
    members
      .filter((m) => m !== gone)
      .map((m) => m.id)
      .sort(),
  );
  net.cut.add(gone.id);
  // Two voters left, both up: writes still commit.
  await leader.log.propose(Buffer.from('two'));
  await assert.rejects(leader.log.changeMembership({ type: 'remove-member', nodeId: gone.id }), /not a member/);
});
