// Workers join a manager over mutual TLS and run the tasks it assigns: one manager and two workers, each its own
// daemon on 127.0.0.1. The join token pins the manager's root CA; a node that stops heartbeating is marked down
// and its tasks run elsewhere; a removed node is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDaemon, eventually, sleep, freePort } from './harness';
import { createRootCA, generateJoinToken } from '../../src/ca';
import { MSG } from '../../src/api/errors';
import type { Node, SwarmInfo, Task } from '../../src/types/swarm';

const manager = new TestDaemon();
const w1 = new TestDaemon();
const w2 = new TestDaemon();
let addr = '';
let token = '';

const info = async (d: TestDaemon) => (await d.json<{ Swarm: SwarmInfo }>('GET', '/info')).Swarm;
const nodes = () => manager.json<Node[]>('GET', '/nodes');
const running = async (service: string) =>
  (
    await manager.json<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`)
  ).filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
const perNode = (tasks: Task[]) => {
  const m = new Map<string, number>();
  for (const t of tasks) m.set(t.NodeID, (m.get(t.NodeID) ?? 0) + 1);
  return m;
};

before(async () => {
  await Promise.all([manager.start(), w1.start(), w2.start()]);
  addr = `127.0.0.1:${await freePort()}`;
  const init = manager.shoal(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', addr]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, new RegExp(`shoal swarm join --token SWMTKN-1-\\S+ ${addr}`));
  token = manager.shoal(['swarm', 'join-token', '-q', 'worker']).stdout.trim();
});
after(() => Promise.all([manager.stop(), w1.stop(), w2.stop()]));

test('a join is refused with a clear error: no address, a wrong token, another swarm', async () => {
  const noAddr = await w1.api('POST', '/swarm/join', { JoinToken: token, RemoteAddrs: [] });
  assert.equal(noAddr.status, 400);
  assert.match(noAddr.body, /at least 1 RemoteAddr is required to join/);

  // Same CA digest, wrong secret.
  const wrong = token.replace(/-(\w)(\w+)$/, (_m, c: string, rest: string) => `-${c === 'a' ? 'b' : 'a'}${rest}`);
  let r = w1.shoal(['swarm', 'join', '--token', wrong, addr]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /A valid join token is necessary to join this cluster/);

  // A token for another swarm's CA: the manager's root does not match the digest it pins.
  const other = generateJoinToken((await createRootCA()).certPem);
  r = w1.shoal(['swarm', 'join', '--token', other, addr]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /remote CA does not match fingerprint/);

  assert.equal((await info(w1)).LocalNodeState, 'inactive');
});

test('two workers join (shoal CLI and docker CLI); node ls shows three nodes Ready', async () => {
  const r = w1.shoal(['swarm', 'join', '--token', token, addr]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'This node joined a swarm as a worker.\n');
  const d = w2.docker(['swarm', 'join', '--token', token, addr]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /This node joined a swarm as a worker\./);

  const list = await eventually(
    async () => {
      const ns = await nodes();
      return ns.length === 3 && ns.every((n) => n.Status.State === 'ready') ? ns : undefined;
    },
    10_000,
    'three ready nodes',
  );
  const workers = list!.filter((n) => n.Spec.Role === 'worker');
  assert.equal(workers.length, 2);
  const ls = manager.shoal(['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}']);
  assert.deepEqual(
    ls.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.trimEnd())
      .sort(),
    ['Ready', 'Ready', 'Ready Leader'],
  );

  const wi = await info(w1);
  assert.equal(wi.LocalNodeState, 'active');
  assert.equal(wi.ControlAvailable, false);
  assert.ok(workers.some((n) => n.ID === wi.NodeID));
  const managerId = (await info(manager)).NodeID;
  assert.deepEqual(wi.RemoteManagers, [{ NodeID: managerId, Addr: addr }]);

  // Manager-only endpoints on a worker.
  const res = await w1.api('GET', '/nodes');
  assert.equal(res.status, 503);
  assert.equal(JSON.parse(res.body).message, MSG.worker);
  assert.match(w1.shoal(['service', 'ls']).stderr, /Worker nodes can't be used to view or modify cluster state/);
  // Joining again.
  const again = w1.shoal(['swarm', 'join', '--token', token, addr]);
  assert.match(again.stderr, /This node is already part of a swarm/);
});

test('six replicas spread two per node; a worker killed -9 has its tasks running elsewhere', async (t) => {
  const c = manager.shoal(['service', 'create', '--name', 'spread', '--replicas', '6', 'busybox', 'sleep', '600']);
  assert.equal(c.code, 0, c.stderr);
  const tasks = await eventually(async () => {
    const r = await running('spread');
    return r.length === 6 ? r : undefined;
  });
  assert.deepEqual([...perNode(tasks!).values()], [2, 2, 2]);

  assert.equal(manager.shoal(['swarm', 'update', '--dispatcher-heartbeat', '1s']).code, 0);
  await sleep(1500); // the workers hear of the new period with their next session message
  const w2id = (await info(w2)).NodeID;
  await w2.halt('SIGKILL');
  const t0 = Date.now();
  const moved = await eventually(
    async () => {
      const r = await running('spread');
      return r.length === 6 && r.every((x) => x.NodeID !== w2id) ? r : undefined;
    },
    15_000,
    'six tasks running on the other nodes',
  );
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 3 * 1000, `tasks moved after ${elapsed} ms`);
  t.diagnostic(`tasks moved after ${elapsed} ms`);
  assert.deepEqual([...perNode(moved!).values()].sort(), [3, 3]);
  assert.equal((await nodes()).find((n) => n.ID === w2id)?.Status.State, 'down');

  // Restarted, it resumes as a worker (never locked), comes back ready, and stops the tasks it had.
  await w2.start();
  const wi = await info(w2);
  assert.equal(wi.LocalNodeState, 'active');
  assert.equal(wi.NodeID, w2id);
  await eventually(
    async () => (await nodes()).find((n) => n.ID === w2id)?.Status.State === 'ready',
    10_000,
    'the restarted worker ready again',
  );
  assert.equal(manager.shoal(['service', 'rm', 'spread']).code, 0);
});

test('a restarted manager listens again and its workers come back to it', async () => {
  assert.equal(await manager.halt('SIGTERM'), 0);
  await manager.start();
  await eventually(
    async () => {
      const ns = await nodes();
      return ns.length === 3 && ns.every((n) => n.Status.State === 'ready');
    },
    10_000,
    'three ready nodes after the restart',
  );
  const c = manager.shoal(['service', 'create', '--name', 'after', '--replicas', '3', 'busybox', 'sleep', '600']);
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual([...perNode(await running('after')).values()], [1, 1, 1]);
  assert.equal(manager.shoal(['service', 'rm', 'after']).code, 0);
});

test('a worker leaves without --force and the manager sees it down', async () => {
  const id = (await info(w1)).NodeID;
  const r = w1.shoal(['swarm', 'leave']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Node left the swarm.\n');
  assert.equal((await info(w1)).LocalNodeState, 'inactive');
  await eventually(
    async () => (await nodes()).find((n) => n.ID === id)?.Status.State === 'down',
    10_000,
    'the node down',
  );
});

test('node rm --force of a worker: its calls are refused from then on', async () => {
  const id = (await info(w2)).NodeID;
  const rm = manager.shoal(['node', 'rm', '--force', id]);
  assert.equal(rm.code, 0, rm.stderr);
  const wi = await eventually(
    async () => {
      const i = await info(w2);
      return i.Error ? i : undefined;
    },
    10_000,
    'the worker refused',
  );
  assert.equal(wi!.LocalNodeState, 'error');
  assert.match(wi!.Error, new RegExp(`node ${id} was removed from swarm`));
});

test('swarm init on an address another node listens on is refused and leaves the node outside any swarm', async () => {
  const other = new TestDaemon();
  await other.start();
  try {
    const r = other.shoal(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', addr]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `Error response from daemon: listen tcp ${addr}: bind: address already in use`);
    assert.equal((await info(other)).LocalNodeState, 'inactive');
  } finally {
    await other.stop();
  }
});
