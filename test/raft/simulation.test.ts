// Deterministic simulation: thousands of seeded schedules of 3- and 5-member clusters under
// message loss, duplication, reordering and delay, partitions, crashes and restarts (keeping
// only what was persisted), compactions with chunked snapshot catch-up, membership changes,
// leader transfers and reads; Raft's safety invariants are checked after every step and
// convergence after healing (see sim/simulate.ts and sim/invariants.ts).
//
// A failure names its seed and cluster size. Replay one schedule with:
//   RAFT_SIM_SEED=123 RAFT_SIM_MEMBERS=5 node --import tsx --test test/raft/simulation.test.ts
// More or fewer schedules / steps: RAFT_SIM_SCHEDULES=10000 RAFT_SIM_STEPS=600.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSchedule } from './sim/simulate';

const env = process.env;
const schedules = Number(env.RAFT_SIM_SCHEDULES ?? 3000);
const steps = Number(env.RAFT_SIM_STEPS ?? 2500);
const firstSeed = Number(env.RAFT_SIM_FIRST_SEED ?? 1);

if (env.RAFT_SIM_SEED !== undefined) {
  const seed = Number(env.RAFT_SIM_SEED);
  const members = Number(env.RAFT_SIM_MEMBERS ?? 3);
  test(`replay seed ${seed} with ${members} members`, () => {
    const stats = runSchedule({ seed, members, steps });
    console.log(stats);
  });
} else {
  test('a seed names one exact run', () => {
    assert.deepEqual(runSchedule({ seed: 42, members: 5, steps }), runSchedule({ seed: 42, members: 5, steps }));
  });

  for (const members of [3, 5]) {
    test(`${schedules} random schedules of ${members} members keep Raft's invariants and converge`, () => {
      const total = { committed: 0, snapshotsSent: 0, confChanges: 0, crashes: 0, reads: 0 };
      for (let i = 0; i < schedules; i++) {
        const s = runSchedule({ seed: firstSeed + i, members, steps });
        total.committed += s.committed;
        total.snapshotsSent += s.snapshotsSent;
        total.confChanges += s.confChanges;
        total.crashes += s.crashes;
        total.reads += s.reads;
      }
      // The schedules must actually exercise the hard paths, or passing means little.
      assert.ok(total.snapshotsSent > schedules / 20, `few snapshots sent: ${JSON.stringify(total)}`);
      assert.ok(total.confChanges > schedules / 10, `few conf changes: ${JSON.stringify(total)}`);
      assert.ok(total.crashes > schedules, `few crashes: ${JSON.stringify(total)}`);
    });
  }
}
