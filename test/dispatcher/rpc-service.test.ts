// The dispatcher's RPCs on a manager's port, with real certificates on loopback: a node's session marks it ready and
// streams its own tasks, heartbeats keep it ready, status reports are accepted only for the caller's tasks, and a
// node that goes quiet is marked down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher } from '../../src/dispatcher/dispatcher';
import { DispatcherService } from '../../src/dispatcher/rpc-service';
import type { SessionMessage } from '../../src/dispatcher/protocol';
import { clusterAuthorizer } from '../../src/manager/authz';
import { MemoryCAStore } from '../../src/ca/ca-store';
import { RpcClient, RpcError, RpcServer } from '../../src/transport';
import type { Task } from '../../src/types/swarm';
import { addrOf, makeSwarm, type Swarm } from '../transport/fixtures';

let swarm: Swarm;
let server: RpcServer;
let service: DispatcherService;
let addr = '';
const clients: RpcClient[] = [];

const task = (id: string, nodeId: string): Task => ({
  ID: id,
  Version: {},
  CreatedAt: '',
  UpdatedAt: '',
  Labels: {},
  Spec: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '1'] }, ForceUpdate: 0 },
  ServiceID: 'svc',
  Slot: 1,
  NodeID: nodeId,
  Status: { Timestamp: '', State: 'assigned', Message: '', PortStatus: {} },
  DesiredState: 'running',
  Volumes: null,
});

before(async () => {
  swarm = await makeSwarm();
  await swarm.store.update((tx) => {
    const c = tx.list('cluster')[0];
    tx.update('cluster', { ...c, Spec: { ...c.Spec, Dispatcher: { HeartbeatPeriod: 200e6 } } });
    tx.create('tasks', task('mine', swarm.ids.worker));
    tx.create('tasks', task('theirs', swarm.ids.manager));
  });
  const caStore = new MemoryCAStore(swarm.store);
  server = new RpcServer({
    credentials: swarm.creds.manager,
    authorize: clusterAuthorizer({ clusterId: swarm.clusterId, isRemoved: (id) => caStore.isRemoved(id) }),
  });
  service = new DispatcherService(swarm.store, new Dispatcher(swarm.store), swarm.ids.manager);
  service.register(server);
  addr = addrOf(await server.listen(0, '127.0.0.1'));
});
after(async () => {
  for (const c of clients) c.close();
  service.stop();
  await server.close();
});

const worker = () => {
  const c = new RpcClient({ credentials: swarm.creds.worker, timeoutMs: 5000 });
  clients.push(c);
  return c;
};
const state = () => swarm.store.get('nodes', swarm.ids.worker)!.Status.State;
const description = {
  Hostname: 'w1',
  Platform: { Architecture: 'x86_64', OS: 'linux' },
  Resources: { NanoCPUs: 2e9, MemoryBytes: 1 << 30 },
  Engine: { EngineVersion: '1.0' },
};

test('a session marks the node ready, sends its own tasks, and takes status only for them', async () => {
  const c = worker();
  await assert.rejects(
    c.call(addr, 'Dispatcher', 'Heartbeat', { SessionID: 'x' }),
    (e: RpcError) => e.code === 'NotFound' && e.desc === 'node not registered',
  );
  const stream = c.stream<object, SessionMessage>(addr, 'Dispatcher', 'Session', { Description: description });
  const it = stream[Symbol.asyncIterator]();
  const first = (await it.next()).value as SessionMessage;
  assert.deepEqual(
    first.Tasks.map((t) => t.ID),
    ['mine'],
  );
  assert.equal(first.HeartbeatPeriod, 200e6);
  const node = swarm.store.get('nodes', swarm.ids.worker)!;
  assert.equal(node.Status.State, 'ready');
  assert.equal(node.Description.Hostname, 'w1');
  assert.equal(node.Status.Addr, '127.0.0.1');

  const hb = await c.call<object, { Period: number }>(addr, 'Dispatcher', 'Heartbeat', { SessionID: first.SessionID });
  assert.equal(hb.Period, 200e6);

  const status = { Timestamp: '', State: 'running', Message: 'started', PortStatus: {} };
  await assert.rejects(
    c.call(addr, 'Dispatcher', 'UpdateTaskStatus', {
      SessionID: first.SessionID,
      Updates: [{ TaskID: 'theirs', Status: status }],
    }),
    (e: RpcError) => e.code === 'PermissionDenied' && /not assigned this node/.test(e.desc),
  );
  await c.call(addr, 'Dispatcher', 'UpdateTaskStatus', {
    SessionID: first.SessionID,
    Updates: [{ TaskID: 'mine', Status: status }],
  });
  assert.equal(swarm.store.get('tasks', 'mine')!.Status.State, 'running');
  const update = (await it.next()).value as SessionMessage;
  assert.equal(update.Tasks[0].Status.State, 'running');

  // No heartbeats: down after 3 periods, and the session ends.
  await assert.rejects(async () => {
    for (;;) if ((await it.next()).done) break;
  });
  assert.equal(state(), 'down');
});

test('a session that breaks leaves the node one period to come back', async () => {
  const c = worker();
  const stream = c.stream<object, SessionMessage>(addr, 'Dispatcher', 'Session', { Description: description });
  await stream[Symbol.asyncIterator]().next();
  assert.equal(state(), 'ready');
  stream.cancel();
  const t0 = Date.now();
  while (state() !== 'down' && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 20));
  assert.equal(state(), 'down');
  assert.ok(Date.now() - t0 < 500, `down after ${Date.now() - t0} ms`);
});

test('a removed node is refused', async () => {
  const c = new RpcClient({ credentials: swarm.creds.removed });
  clients.push(c);
  const stream = c.stream(addr, 'Dispatcher', 'Session', { Description: description });
  await assert.rejects(
    stream[Symbol.asyncIterator]().next(),
    (e: RpcError) => e.code === 'PermissionDenied' && /was removed from swarm/.test(e.desc),
  );
});
