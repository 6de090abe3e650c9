// One randomized schedule: a seeded PRNG picks every event (message delivery order, drops,
// duplicates, ticks, proposals, crashes and restarts, partitions, compactions, membership
// changes, leader transfers, reads), so a seed names one exact run and replays it.
// Chaos first, checking the invariants after every step; then everything heals and the
// cluster must converge (liveness): one leader, and every voter applies the same entries.
import { Cluster } from './cluster';
import { mulberry32, pick, randInt } from './prng';

export interface ScheduleOptions {
  seed: number;
  members: number;
  /** Chaos steps before healing. */
  steps: number;
  /** Rounds (one tick of every member, then a quiet network) allowed to converge after healing. */
  livenessRounds?: number;
}

export interface ScheduleStats {
  leaders: number;
  committed: number;
  snapshotsSent: number;
  confChanges: number;
  crashes: number;
  reads: number;
}

export function runSchedule(o: ScheduleOptions): ScheduleStats {
  try {
    return run(o);
  } catch (err) {
    const e = err as Error;
    const replay = `RAFT_SIM_SEED=${o.seed} RAFT_SIM_MEMBERS=${o.members}`;
    e.message = `seed ${o.seed}, ${o.members} members (replay: ${replay} node --import tsx --test test/raft/simulation.test.ts): ${e.message}`;
    throw e;
  }
}

function run(o: ScheduleOptions): ScheduleStats {
  const rand = mulberry32(o.seed);
  const ids = Array.from({ length: o.members }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
  const c = new Cluster(ids, {
    seed: Math.floor(rand() * 2 ** 32),
    electionTick: 10,
    heartbeatTick: 2,
    maxEntriesPerMsg: 1 + randInt(rand, 8),
    maxBytesPerMsg: pick(rand, [64, 256, Infinity]),
    maxInflightMsgs: 1 + randInt(rand, 6),
    snapshotChunkBytes: pick(rand, [16, 64, 1024]),
  });
  c.dropRate = pick(rand, [0, 0.02, 0.1]);
  c.dupRate = pick(rand, [0, 0.02, 0.05]);
  const stats: ScheduleStats = { leaders: 0, committed: 0, snapshotsSent: 0, confChanges: 0, crashes: 0, reads: 0 };
  const maxDown = Math.floor((o.members - 1) / 2) + 1;
  let added = 0;
  let proposals = 0;
  let reads = 0;
  for (const id of ids) c.processReady(id);

  const all = () => [...c.nodes.values()];
  const live = () => all().filter((n) => n.alive);
  const leaderId = () => c.leader();

  for (let step = 0; step < o.steps; step++) {
    const r = rand();
    if (r < 0.5) {
      if (c.queue.length === 0) continue;
      // Mostly the oldest messages, sometimes much later ones: reordering and delays.
      const i = Math.floor(rand() ** 3 * c.queue.length);
      const m = c.deliver(i, rand() < 0.9);
      if (m?.type === 'snapshot' && m.offset === 0) stats.snapshotsSent++;
    } else if (r < 0.8) {
      const ls = live();
      if (ls.length === 0) continue;
      const sn = pick(rand, ls);
      sn.node!.tick();
      if (rand() < 0.9) c.processReady(sn.id);
    } else if (r < 0.86) {
      const l = leaderId();
      const target = l !== undefined && rand() < 0.8 ? l : pick(rand, live())?.id;
      if (target !== undefined) c.propose(target, `p${++proposals}`);
    } else if (r < 0.89) {
      const ls = live();
      if (ls.length > 0) c.processReady(pick(rand, ls).id);
    } else if (r < 0.91) {
      const ls = live();
      if (ls.length > 0) {
        c.readIndex(pick(rand, ls).id, `r${++reads}`);
        stats.reads++;
      }
    } else if (r < 0.925) {
      const ls = live();
      if (all().length - ls.length < maxDown && ls.length > 0) {
        c.crash(pick(rand, ls).id);
        stats.crashes++;
      }
    } else if (r < 0.94) {
      const down = all().filter((n) => !n.alive);
      if (down.length > 0) c.restart(pick(rand, down).id);
    } else if (r < 0.95) {
      if (rand() < 0.5) {
        c.heal();
      } else {
        const names = all().map((n) => n.id);
        const side = names.filter(() => rand() < 0.4);
        c.partition(side);
      }
    } else if (r < 0.965) {
      const ls = live();
      if (ls.length > 0) c.compact(pick(rand, ls).id, randInt(rand, 4));
    } else if (r < 0.975) {
      const l = leaderId();
      if (l === undefined) continue;
      const voters = c.node(l).voters();
      const grow = voters.length < o.members || (voters.length === o.members && added < 2 && rand() < 0.5);
      if (grow && voters.length <= o.members) {
        const id = `node-new-${++added}`;
        const res = c.node(l).proposeConfChange({ type: 'add-member', nodeId: id });
        if (res.accepted) {
          c.addNode(id);
          stats.confChanges++;
        } else {
          added--;
        }
      } else if (voters.length > 2) {
        const res = c.node(l).proposeConfChange({ type: 'remove-member', nodeId: pick(rand, voters) });
        if (res.accepted) stats.confChanges++;
      }
      c.processReady(l);
    } else if (r < 0.98) {
      const l = leaderId();
      if (l !== undefined) {
        c.node(l).transferLeader(pick(rand, c.node(l).voters()));
        c.processReady(l);
      }
    } else {
      for (const sn of live()) {
        sn.node!.tick();
        c.processReady(sn.id);
      }
    }
  }

  // Heal everything and require convergence.
  c.heal();
  c.dropRate = 0;
  c.dupRate = 0;
  for (const sn of all()) if (!sn.alive) c.restart(sn.id);
  const rounds = o.livenessRounds ?? 300;
  let finalProposed = false;
  for (let round = 0; round < rounds; round++) {
    for (const sn of live()) c.tick(sn.id);
    c.deliverAll();
    const l = leaderId();
    if (l === undefined) continue;
    const st = c.node(l).status();
    if (st.commit !== st.lastIndex || c.node(l).termAt(st.commit) !== st.term) continue;
    const caughtUp = st.voters.every((v) => {
      const sn = c.nodes.get(v);
      return sn?.node !== undefined && sn.state.index === st.commit && sn.node.status().commit === st.commit;
    });
    if (!caughtUp) continue;
    if (!finalProposed) {
      finalProposed = true;
      const res = c.propose(l, 'final');
      if (!res.accepted) finalProposed = false;
      continue;
    }
    const texts = st.voters.map((v) => c.appliedText(v).join(','));
    if (texts.some((t) => t !== texts[0])) throw new Error('liveness: voters applied different entries');
    if (!c.appliedText(l).includes('final')) continue;
    stats.committed = st.commit;
    stats.leaders = c.inv.leaderTerms;
    return stats;
  }
  if (process.env.RAFT_SIM_DEBUG) {
    const l = leaderId();
    if (l !== undefined) {
      const raft = (c.node(l) as unknown as { raft: { progress: Map<string, unknown> } }).raft;
      console.log(raft.progress);
    }
  }
  const desc = all()
    .map((sn) => {
      const s = sn.node?.status();
      return s
        ? `${sn.id}: ${s.role} term ${s.term} lead ${s.leader} commit ${s.commit} applied ${s.applied} last ${s.lastIndex} voters [${s.voters.join(' ')}]`
        : `${sn.id}: down`;
    })
    .join('; ');
  throw new Error(`liveness: no converged leader after ${rounds} healed rounds: ${desc}`);
}
