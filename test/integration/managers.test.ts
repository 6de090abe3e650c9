// Three managers and a worker, each its own daemon on 127.0.0.1, agreeing through Raft over mutual TLS: managers
// join with the manager token, writes on any manager reach the leader, a killed leader is replaced within three
// election timeouts with nothing lost, and a restarted manager catches up. Raft ticks are 100 ms here (the
// debug-only SHOAL_DEBUG_RAFT_TICK_MS), so an election timeout is 1–2 s instead of Docker's 10–20 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDaemon, eventually, freePort, joinAsManager } from './harness';
import type { Node, Service, SwarmInfo, Task } from '../../src/types/swarm';

const TICK_MS = 100;
const ELECTION_TIMEOUT_MS = 2 * 10 * TICK_MS; // the longest: electionTick randomised in [10, 20) ticks
const env = { SHOAL_DEBUG_RAFT_TICK_MS: String(TICK_MS) };
const managers = [new TestDaemon([], env), new TestDaemon([], env), new TestDaemon([], env)];
const worker = new TestDaemon([], env);
const addrs: string[] = [];

const info = async (d: TestDaemon) => (await d.json<{ Swarm: SwarmInfo }>('GET', '/info')).Swarm;
const services = (d: TestDaemon) => d.json<Service[]>('GET', '/services');
const running = async (d: TestDaemon, service: string) =>
  (await d.json<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`)).filter(
    (t) => t.Status.State === 'running' && t.DesiredState === 'running',
  );

/** The manager each live manager believes leads, once they all agree. */
async function agreedLeader(live: TestDaemon[]): Promise<string> {
  return (await eventually(
    async () => {
      const seen = new Set<string>();
      for (const d of live) {
        const ns = await d.json<Node[]>('GET', '/nodes').catch(() => undefined);
        const leader = ns?.find((n) => n.ManagerStatus?.Leader);
        if (!leader) return undefined;
        seen.add(leader.ID);
      }
      return seen.size === 1 ? [...seen][0] : undefined;
    },
    20_000,
    'the managers to agree on a leader',
  ))!;
}

before(async () => {
  await Promise.all([...managers, worker].map((d) => d.start()));
  for (let i = 0; i < 3; i++) addrs.push(`127.0.0.1:${await freePort()}`);
  const init = managers[0].shoal(['swarm', 'init', '--advertise-addr', addrs[0], '--listen-addr', addrs[0]]);
  assert.equal(init.code, 0, init.stderr);
});
after(() => Promise.all([...managers, worker].map((d) => d.stop())));

test('two managers join with the manager token; node ls shows a leader and two reachable managers', async () => {
  const token = managers[0].shoal(['swarm', 'join-token', '-q', 'manager']).stdout.trim();
  for (const i of [1, 2]) {
    const r = joinAsManager(managers[i], token, addrs[i], addrs[0]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'This node joined a swarm as a manager.\n');
  }
  const wtoken = managers[0].shoal(['swarm', 'join-token', '-q', 'worker']).stdout.trim();
  assert.equal(worker.shoal(['swarm', 'join', '--token', wtoken, addrs[1]]).code, 0);

  let last: string[] = [];
  await eventually(
    async () => {
      const ls = managers[2].shoal(['node', 'ls', '--format', '{{.ManagerStatus}} {{.Status}}']);
      const rows = (last = ls.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.trim())
        .sort());
      return JSON.stringify(rows) === JSON.stringify(['Leader Ready', 'Reachable Ready', 'Reachable Ready', 'Ready'])
        ? rows
        : undefined;
    },
    20_000,
    'node ls with a leader, two reachable managers and a worker',
  ).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(last)}`));
  const i = await info(managers[1]);
  assert.equal(i.ControlAvailable, true);
  assert.equal(i.Managers, 3);
  assert.deepEqual(i.RemoteManagers!.map((m) => m.Addr).sort(), [...addrs].sort());
  const text = managers[1].shoal(['info']).stdout;
  assert.match(text, /Managers: 3/);
});

test('writes on any manager reach the leader and every manager reads them', async () => {
  const leaderId = await agreedLeader(managers);
  const follower = (
    await Promise.all(managers.map(async (d) => ((await info(d)).NodeID === leaderId ? undefined : d)))
  ).find((d) => d)!;
  const c = follower.shoal(['service', 'create', '--name', 'web', '--replicas', '4', 'busybox', 'sleep', '600']);
  assert.equal(c.code, 0, c.stderr);
  for (const d of managers)
    assert.deepEqual(
      (await services(d)).map((s) => s.Spec.Name),
      ['web'],
    );
  await eventually(async () => ((await running(follower, 'web')).length === 4 ? true : undefined));
});

test('kill -9 the leader: another is elected within three election timeouts, and nothing is lost', async () => {
  const leaderId = await agreedLeader(managers);
  const ids = await Promise.all(managers.map(async (d) => (await info(d)).NodeID));
  const leader = managers[ids.indexOf(leaderId)];
  const rest = managers.filter((d) => d !== leader);
  await leader.halt('SIGKILL');
  const t0 = Date.now();
  const next = await eventually(
    async () => {
      for (const d of rest) {
        const ns = await d.json<Node[]>('GET', '/nodes').catch(() => undefined);
        const l = ns?.find((n) => n.ManagerStatus?.Leader && n.ID !== leaderId);
        if (l) return l.ID;
      }
      return undefined;
    },
    3 * ELECTION_TIMEOUT_MS + 5000,
    'a new leader',
  );
  const elected = Date.now() - t0;
  assert.ok(next);
  assert.ok(elected <= 3 * ELECTION_TIMEOUT_MS + 2000, `elected after ${elected} ms`);
  const c = rest[0].shoal(['service', 'create', '--name', 'after', '--replicas', '2', 'busybox', 'sleep', '600']);
  assert.equal(c.code, 0, c.stderr);
  for (const d of rest) assert.deepEqual((await services(d)).map((s) => s.Spec.Name).sort(), ['after', 'web']);
  // The worker follows the new leader: the new service's tasks run, some on it.
  await eventually(async () => ((await running(rest[1], 'after')).length === 2 ? true : undefined), 20_000);

  // The old leader comes back as a follower and catches up.
  await leader.start();
  await eventually(
    async () => {
      const names = (await services(leader).catch(() => [] as Service[])).map((s) => s.Spec.Name).sort();
      return JSON.stringify(names) === JSON.stringify(['after', 'web']) ? true : undefined;
    },
    20_000,
    'the restarted manager to catch up',
  );
  await agreedLeader(managers);
});

test('demote a manager: it leaves Raft and runs as a worker; promote it: it is a manager again', async () => {
  const leaderId = await agreedLeader(managers);
  const ids = await Promise.all(managers.map(async (d) => (await info(d)).NodeID));
  const target = managers.find((_, i) => ids[i] !== leaderId)!;
  const targetId = ids[managers.indexOf(target)];
  const leader = managers[ids.indexOf(leaderId)];

  const rm = leader.shoal(['node', 'rm', '--force', targetId]);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /is a cluster manager and is a member of the raft cluster. It must be demoted to worker/);

  const d = leader.shoal(['node', 'demote', targetId]);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout, `Manager ${targetId} demoted in the swarm.\n`);
  await eventually(
    async () => {
      const i = await info(target);
      return i.ControlAvailable === false && i.LocalNodeState === 'active' ? i : undefined;
    },
    30_000,
    'the demoted node to run as a worker',
  );
  const n = await leader.json<Node>('GET', `/nodes/${targetId}`);
  assert.equal(n.Spec.Role, 'worker');
  assert.equal(n.ManagerStatus, undefined);
  assert.equal((await info(leader)).Managers, 2);
  // Writes still commit with two managers.
  assert.equal(leader.shoal(['service', 'scale', '-d', 'after=3']).code, 0);

  const p = leader.shoal(['node', 'promote', targetId]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, `Node ${targetId} promoted to a manager in the swarm.\n`);
  await eventually(
    async () => {
      const i = await info(target).catch(() => undefined);
      return i?.ControlAvailable && (await services(target)).length === 2 ? i : undefined;
    },
    30_000,
    'the promoted node to serve as a manager',
  );
  await agreedLeader(managers);
  assert.equal((await info(target)).Managers, 3);
});

test('a manager demoted while it was down learns it when it comes back, and runs as a worker', async () => {
  const leaderId = await agreedLeader(managers);
  const ids = await Promise.all(managers.map(async (d) => (await info(d)).NodeID));
  const target = managers.find((_, i) => ids[i] !== leaderId)!;
  const targetId = ids[managers.indexOf(target)];
  const leader = managers[ids.indexOf(leaderId)];

  await target.halt('SIGKILL');
  // The leader marks it unreachable first: a demotion read before that write would be out of sequence.
  await eventually(
    async () =>
      (await leader.json<Node>('GET', `/nodes/${targetId}`)).ManagerStatus?.Reachability === 'unreachable'
        ? true
        : undefined,
    20_000,
    'the leader to see the killed manager unreachable',
  );
  const d = leader.shoal(['node', 'demote', targetId]);
  assert.equal(d.code, 0, d.stderr);
  // The leader takes it out of Raft while it is down: its own log never hears of it.
  await eventually(
    async () => ((await leader.json<Node>('GET', `/nodes/${targetId}`)).ManagerStatus ? undefined : true),
    20_000,
    'the leader to remove the down manager from Raft',
  );
  assert.equal((await info(leader)).Managers, 2);

  await target.start();
  await eventually(
    async () => {
      const i = await info(target).catch(() => undefined);
      return i?.ControlAvailable === false && i.LocalNodeState === 'active' ? i : undefined;
    },
    30_000,
    'the returning node to find it was demoted and run as a worker',
  ).catch((err: Error) => assert.fail(`${err.message}\n${target.log}`));
  // The line is written after the switch that info() shows, and reaches stderr later still.
  await eventually(
    () => (/this node was demoted while it was down: it is now a worker/.test(target.log) ? true : undefined),
    10_000,
    'the node to say it was demoted while it was down',
  );
  // It reports as a worker: its session is up (Ready) and it takes tasks.
  await eventually(
    async () => ((await leader.json<Node>('GET', `/nodes/${targetId}`)).Status.State === 'ready' ? true : undefined),
    20_000,
    'the demoted node to be ready as a worker',
  );
  assert.equal(leader.shoal(['service', 'scale', '-d', 'after=6']).code, 0);
  await eventually(
    async () => {
      const tasks = await leader.json<Task[]>('GET', '/tasks');
      return tasks.some((t) => t.NodeID === targetId && t.Status.State === 'running') ? true : undefined;
    },
    20_000,
    'a task on the demoted node',
  );
  assert.equal(leader.shoal(['service', 'scale', '-d', 'after=3']).code, 0);

  // Promoted again, it is a manager again (the tests below need three).
  assert.equal(leader.shoal(['node', 'promote', targetId]).code, 0);
  await eventually(
    async () => {
      const i = await info(target).catch(() => undefined);
      return i?.ControlAvailable && i.Managers === 3 ? i : undefined;
    },
    30_000,
    'the node to serve as a manager again',
  );
  await agreedLeader(managers);
});

test('swarm leave on a manager: refused without --force as Docker refuses it; with --force it leaves Raft', async () => {
  const leaderId = await agreedLeader(managers);
  const ids = await Promise.all(managers.map(async (d) => (await info(d)).NodeID));
  const leaving = managers.find((_, i) => ids[i] !== leaderId)!;
  const leavingId = ids[managers.indexOf(leaving)];
  const leader = managers[ids.indexOf(leaderId)];
  const r = leaving.shoal(['swarm', 'leave']);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    'Error response from daemon: You are attempting to leave the swarm on a node that is participating as a manager. The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.',
  );
  const f = leaving.shoal(['swarm', 'leave', '--force']);
  assert.equal(f.code, 0, f.stderr);
  assert.equal((await info(leaving)).LocalNodeState, 'inactive');
  const gone = await leader.json<Node>('GET', `/nodes/${leavingId}`);
  assert.equal(gone.ManagerStatus, undefined);
  assert.equal(gone.Status.State, 'down');
  assert.equal(leader.shoal(['node', 'rm', leavingId]).code, 0);
  // Two managers left, both up: writes commit.
  assert.equal(leader.shoal(['service', 'scale', '-d', 'after=1']).code, 0);
  // Now leaving would cost the quorum, and the message says so.
  const other = managers.find((d, i) => d !== leaving && ids[i] !== leaderId)!;
  const q = other.shoal(['swarm', 'leave']);
  assert.match(
    q.stderr,
    /Removing this node leaves 1 managers out of 2\. Without a Raft quorum your swarm will be inaccessible\./,
  );
});

test('quorum lost: writes fail with a clear error; swarm init --force-new-cluster on the survivor keeps the swarm', async () => {
  const live = [];
  for (const d of managers) if ((await info(d)).LocalNodeState === 'active') live.push(d);
  assert.equal(live.length, 2);
  const [survivor, lost] = live;
  const survivorId = (await info(survivor)).NodeID;
  await lost.halt('SIGKILL');
  // Check-quorum: a leader that hears from no majority steps down within two election timeouts.
  await eventually(
    async () => ((await survivor.api('GET', '/nodes')).status === 503 ? true : undefined),
    3 * ELECTION_TIMEOUT_MS,
    'the survivor to have no leader',
  );
  const w = survivor.shoal(['service', 'create', '--name', 'nope', 'busybox', 'sleep', '600']);
  assert.equal(w.code, 1);
  assert.match(w.stderr, /The swarm does not have a leader\. It's possible that too few managers are online\./);

  const f = survivor.shoal([
    'swarm',
    'init',
    '--force-new-cluster',
    '--advertise-addr',
    addrs[managers.indexOf(survivor)],
  ]);
  assert.equal(f.code, 0, f.stderr);
  assert.equal((await info(survivor)).NodeID, survivorId);
  assert.deepEqual((await services(survivor)).map((s) => s.Spec.Name).sort(), ['after', 'web']);
  const c = survivor.shoal(['service', 'create', '-d', '--name', 'again', 'busybox', 'sleep', '600']);
  assert.equal(c.code, 0, c.stderr);
  const ns = await survivor.json<Node[]>('GET', '/nodes');
  assert.equal(ns.find((n) => n.ID === survivorId)?.ManagerStatus?.Leader, true);
  // The worker is still a member and still runs tasks.
  await eventually(async () => ((await running(survivor, 'again')).length === 1 ? true : undefined), 20_000);
});
