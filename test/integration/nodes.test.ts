// Node management across real daemons: one manager and three workers on 127.0.0.1, each its own `shoal daemon`.
// Spread, drain and reactivation, placement constraints (role, hostname, labels), an unsatisfiable constraint, a
// worker killed -9 and restarted, `node ps`, `node rm` with and without --force, and the docker CLI against shoal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { Cluster, ok } from './cluster';
import { eventually, sleep } from './harness';
import type { Task } from '../../src/types/swarm';

const cluster = new Cluster(3);
const { manager, workers, ids, info, nodes } = cluster;
const [w1, w2, w3] = workers;
let managerId = '';

const tasksOf = (service: string) =>
  manager.json<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
const running = async (service: string) =>
  (await tasksOf(service)).filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
/** Running tasks per node ID, every node of the swarm listed (0 when it has none). */
const spread = async (service: string, nodeIds: string[]) => {
  const m = new Map<string, number>(nodeIds.map((id) => [id, 0]));
  for (const t of await running(service)) m.set(t.NodeID, (m.get(t.NodeID) ?? 0) + 1);
  return m;
};
const allIds = () => [managerId, ...workers.map((w) => ids.get(w)!)];

/** Waits until `service` has exactly `want` running tasks per node (node ID -> count, others 0). */
async function waitSpread(service: string, want: Map<string, number>, what: string, ms = 20_000) {
  return eventually(
    async () => {
      const got = await spread(service, allIds());
      for (const [id, n] of got) if ((want.get(id) ?? 0) !== n) return undefined;
      return got;
    },
    ms,
    what,
  );
}

/** Processes whose command line is exactly `args` (task processes of the process executor). */
function countProcesses(args: string): number {
  const r = spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() === args).length;
}

before(async () => {
  await cluster.start();
  managerId = ids.get(manager)!;
});
after(() => cluster.stop());

test('8 replicas: 2 per node; drain moves a worker’s tasks away, active and a forced update spread them again', async (t) => {
  ok(manager.shoal(['service', 'create', '--name', 'web', '--replicas', '8', 'busybox', 'sleep', '3601']));
  const two = new Map(allIds().map((id) => [id, 2]));
  await waitSpread('web', two, '2 tasks per node');

  const w1id = ids.get(w1)!;
  ok(manager.shoal(['node', 'update', '--availability', 'drain', w1id]));
  const got = await eventually(
    async () => {
      const s = await spread('web', allIds());
      return s.get(w1id) === 0 && [...s.values()].reduce((a, b) => a + b, 0) === 8 ? s : undefined;
    },
    15_000,
    'no task on the drained worker, 8 running elsewhere',
  );
  assert.deepEqual(
    [...got!.entries()]
      .filter(([id]) => id !== w1id)
      .map(([, n]) => n)
      .sort(),
    [2, 3, 3],
  );
  assert.match(
    manager.shoal(['node', 'ls', '--format', '{{.ID}} {{.Availability}}']).stdout,
    new RegExp(`${w1id} Drain`),
  );

  ok(manager.shoal(['node', 'update', '--availability', 'active', w1id]));
  // Like swarmkit, reactivating a node does not move running tasks; an update of the service places them anew.
  await sleep(1500);
  const after = await spread('web', allIds());
  t.diagnostic(`after active, before any update: ${JSON.stringify([...after.values()])}`);
  if (after.get(w1id) !== 2) ok(manager.shoal(['service', 'update', '--force', 'web']));
  await waitSpread('web', two, '2 tasks per node again after active', 30_000);
  ok(manager.shoal(['service', 'rm', 'web']));
});

test('constraints: node.role==worker, node.hostname, node.labels.zone==a; an unsatisfiable one says why', async () => {
  ok(
    manager.shoal([
      'service',
      'create',
      '--name',
      'wk',
      '--replicas',
      '6',
      '--constraint',
      'node.role==worker',
      'busybox',
      'sleep',
      '3602',
    ]),
  );
  await waitSpread('wk', new Map(workers.map((w) => [ids.get(w)!, 2])), 'workers only, 2 each');

  // Every daemon here runs on this host, so they share its hostname: the constraint admits all four nodes.
  ok(
    manager.shoal([
      'service',
      'create',
      '--name',
      'host',
      '--replicas',
      '4',
      '--constraint',
      `node.hostname==${hostname()}`,
      'busybox',
      'sleep',
      '3603',
    ]),
  );
  await waitSpread('host', new Map(allIds().map((id) => [id, 1])), 'hostname: one per node');

  const w2id = ids.get(w2)!;
  ok(manager.shoal(['node', 'update', '--label-add', 'zone=a', w2id]));
  const n = (await nodes()).find((x) => x.ID === w2id)!;
  assert.deepEqual(n.Spec.Labels, { zone: 'a' });
  ok(
    manager.shoal([
      'service',
      'create',
      '--name',
      'zoned',
      '--replicas',
      '3',
      '--constraint',
      'node.labels.zone==a',
      'busybox',
      'sleep',
      '3604',
    ]),
  );
  await waitSpread('zoned', new Map([[w2id, 3]]), 'zone=a only');

  ok(
    manager.shoal([
      'service',
      'create',
      '--detach',
      '--name',
      'nowhere',
      '--constraint',
      'node.labels.zone==b',
      'busybox',
      'sleep',
      '3605',
    ]),
  );
  const ps = await eventually(
    () => {
      const r = manager.shoal(['service', 'ps', '--no-trunc', 'nowhere']);
      return /no suitable node/.test(r.stdout) ? r.stdout : undefined;
    },
    10_000,
    'the pending task explained',
  );
  assert.match(ps!, /no suitable node \(scheduling constraints not satisfied on 4 nodes\)/);
  assert.match(ps!, /Pending/);
  for (const s of ['wk', 'host', 'zoned', 'nowhere']) ok(manager.shoal(['service', 'rm', s]));
});

test('a worker killed -9 is Down; restarted it is Ready again and its stale tasks are stopped', async (t) => {
  ok(manager.shoal(['service', 'create', '--name', 'crash', '--replicas', '8', 'busybox', 'sleep', '3606']));
  await waitSpread('crash', new Map(allIds().map((id) => [id, 2])), '2 tasks per node');
  assert.equal(countProcesses('sleep 3606'), 8);

  const w3id = ids.get(w3)!;
  await w3.halt('SIGKILL');
  await eventually(
    async () => (await nodes()).find((x) => x.ID === w3id)?.Status.State === 'down',
    10_000,
    'the killed worker down',
  );
  const ls = manager.shoal(['node', 'ls', '--format', '{{.ID}} {{.Status}}']);
  assert.match(ls.stdout, new RegExp(`${w3id} Down`));
  await eventually(
    async () => {
      const s = await spread('crash', allIds());
      return s.get(w3id) === 0 && [...s.values()].reduce((a, b) => a + b, 0) === 8;
    },
    15_000,
    '8 tasks running on the three live nodes',
  );

  // The killed daemon's task processes outlived it (each task is its own process group): 8 + 2 stale.
  const before = countProcesses('sleep 3606');
  t.diagnostic(`task processes while the worker is down: ${before}`);
  assert.equal(before, 10);

  await w3.start();
  await eventually(
    async () => (await nodes()).find((x) => x.ID === w3id)?.Status.State === 'ready',
    10_000,
    'the restarted worker ready',
  );
  assert.match(manager.shoal(['node', 'ls', '--format', '{{.ID}} {{.Status}}']).stdout, new RegExp(`${w3id} Ready`));
  // Its old tasks (their processes outlived the daemon's kill -9) are stopped, not run a second time.
  await eventually(() => countProcesses('sleep 3606') === 8, 10_000, 'exactly 8 task processes');
  await sleep(1500);
  assert.equal(countProcesses('sleep 3606'), 8);
  assert.equal((await running('crash')).length, 8);
  assert.equal((await spread('crash', allIds())).get(w3id), 0);

  // node ps of a worker lists the tasks it has (and had).
  const w1id = ids.get(w1)!;
  const ps = manager.shoal(['node', 'ps', '--format', '{{.Name}} {{.Node}} {{.CurrentState}}', w1id]);
  ok(ps);
  const lines = ps.stdout.trimEnd().split('\n');
  assert.ok(lines.length >= 2, ps.stdout);
  for (const l of lines.filter((x) => x.startsWith('crash.'))) assert.match(l, /^crash\.\d+ \S+ Running/);
  const mine = (await running('crash')).filter((x) => x.NodeID === w1id).length;
  assert.equal(lines.filter((l) => /^crash\.\d+ \S+ Running/.test(l)).length, mine);
  ok(manager.shoal(['service', 'rm', 'crash']));
});

test('node rm of an active worker needs --force', async () => {
  const w1id = ids.get(w1)!;
  const r = manager.shoal(['node', 'rm', w1id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`node ${w1id} is not down and can't be removed`));
  assert.equal((await nodes()).length, 4);
});

test('the docker CLI: node ls, node ps, node update --label-add, node rm --force', async (t) => {
  const probe = manager.docker(['version', '--format', '{{.Client.Version}}']);
  if (probe.code === -1) return t.skip('no docker CLI');
  const ls = manager.docker(['node', 'ls', '--format', '{{.ID}} {{.Status}} {{.Availability}} {{.ManagerStatus}}']);
  ok(ls);
  const rows = ls.stdout.trimEnd().split('\n');
  assert.equal(rows.length, 4, ls.stdout);
  assert.ok(
    rows.some((l) => l.startsWith(`${managerId} Ready Active Leader`)),
    ls.stdout,
  );
  for (const w of workers)
    assert.ok(
      rows.some((l) => l.startsWith(`${ids.get(w)} Ready Active`)),
      ls.stdout,
    );

  ok(manager.shoal(['service', 'create', '--name', 'dk', '--replicas', '4', 'busybox', 'sleep', '3607']));
  await waitSpread('dk', new Map(allIds().map((id) => [id, 1])), 'one per node');
  const w2id = ids.get(w2)!;
  const ps = manager.docker(['node', 'ps', '--format', '{{.Name}} {{.CurrentState}}', w2id]);
  ok(ps);
  assert.match(ps.stdout, /^dk\.\d+ Running/m);

  ok(manager.docker(['node', 'update', '--label-add', 'tier=front', w2id]));
  const inspect = manager.docker(['node', 'inspect', '--format', '{{json .Spec.Labels}}', w2id]);
  ok(inspect);
  assert.deepEqual(JSON.parse(inspect.stdout), { zone: 'a', tier: 'front' });

  const w1id = ids.get(w1)!;
  const refused = manager.docker(['node', 'rm', w1id]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`node ${w1id} is not down and can't be removed`));
  const rm = manager.docker(['node', 'rm', '--force', w1id]);
  ok(rm);
  assert.equal(rm.stdout.trim(), w1id);
  assert.equal((await nodes()).length, 3);
  // The removed worker is refused from then on.
  await eventually(async () => !!(await info(w1)).Error, 10_000, 'the removed worker refused');
  ok(manager.shoal(['service', 'rm', 'dk']));
});
