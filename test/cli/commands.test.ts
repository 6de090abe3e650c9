import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDaemon } from './helpers/fake-daemon';
import { runCommand } from './helpers/run-command';
import NodeLs from '../../src/cli/commands/node/ls';
import NodeInspect from '../../src/cli/commands/node/inspect';
import NodeUpdate from '../../src/cli/commands/node/update';
import NodePromote from '../../src/cli/commands/node/promote';
import ServiceCreate from '../../src/cli/commands/service/create';
import ServiceLs from '../../src/cli/commands/service/ls';
import ServicePs from '../../src/cli/commands/service/ps';
import ServiceInspect from '../../src/cli/commands/service/inspect';
import ServiceScale from '../../src/cli/commands/service/scale';
import SwarmInit from '../../src/cli/commands/swarm/init';
import SwarmJoinToken from '../../src/cli/commands/swarm/join-token';
import SwarmUnlockKey from '../../src/cli/commands/swarm/unlock-key';
import Info from '../../src/cli/commands/info';

let d: FakeDaemon;
const NODE_ID = '9uww9isho02186yd0ygt1exuf';
const SERVICE_ID = '1d9axefpjnod6ywxpo4uiuhyv';

const node = {
  ID: NODE_ID,
  Version: { Index: 12 },
  CreatedAt: '2024-01-01T00:00:00Z',
  UpdatedAt: '2024-01-01T00:00:00Z',
  Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
  Description: {
    Hostname: 'manager1',
    Platform: { Architecture: 'x86_64', OS: 'linux' },
    Resources: { NanoCPUs: 4e9, MemoryBytes: 8e9 },
    Engine: { EngineVersion: '28.5.2' },
    TLSInfo: {},
  },
  Status: { State: 'ready', Addr: '10.0.0.2' },
  ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.2:2377' },
};

const swarmInfo = {
  NodeID: NODE_ID,
  NodeAddr: '10.0.0.2',
  LocalNodeState: 'active',
  ControlAvailable: true,
  Error: '',
  RemoteManagers: [{ NodeID: NODE_ID, Addr: '10.0.0.2:2377' }],
  Nodes: 1,
  Managers: 1,
  Cluster: {
    ID: 'clusterid',
    Version: { Index: 3 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: {
      Name: 'default',
      Labels: {},
      Orchestration: { TaskHistoryRetentionLimit: 5 },
      Raft: {
        SnapshotInterval: 10000,
        KeepOldSnapshots: 0,
        LogEntriesForSlowFollowers: 500,
        ElectionTick: 10,
        HeartbeatTick: 1,
      },
      Dispatcher: { HeartbeatPeriod: 5e9 },
      CAConfig: { NodeCertExpiry: 7776000e9 },
      TaskDefaults: {},
      EncryptionConfig: { AutoLockManagers: false },
    },
    TLSInfo: { TrustRoot: 'root' },
    RootRotationInProgress: false,
    DefaultAddrPool: ['10.0.0.0/8'],
    SubnetSize: 24,
    DataPathPort: 4789,
  },
};

const swarm = { ...swarmInfo.Cluster, JoinTokens: { Worker: 'SWMTKN-1-worker', Manager: 'SWMTKN-1-manager' } };

before(async () => {
  d = await new FakeDaemon().start();
  d.on('HEAD', '/_ping', {});
  d.on('GET', '/info', {
    body: { Swarm: swarmInfo, OSType: 'linux', NCPU: 4, MemTotal: 8e9, ServerVersion: '28.5.2', Executor: 'process' },
  });
  d.on('GET', '/nodes', { body: [node] });
  d.on('GET', '/nodes/*', (r) => ({ status: 404, body: { message: `node ${r.path.split('/')[2]} not found` } }));
  d.on('GET', `/nodes/${NODE_ID}`, { body: node });
  d.on('GET', '/swarm', { body: swarm });
});
after(async () => d.stop());

test('node ls: docker table with the current node starred', async () => {
  const r = await runCommand(NodeLs, [], { host: d.host });
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    'ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n' +
      `${NODE_ID} *   manager1   Ready     Active         Leader           28.5.2\n`,
  );
  const q = await runCommand(NodeLs, ['-q'], { host: d.host });
  assert.equal(q.stdout, `${NODE_ID}\n`);
});

test('daemon errors: "Error response from daemon: …" on stderr, exit 1; inspect prints [] first', async () => {
  const r = await runCommand(NodeInspect, ['nosuch'], { host: d.host });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '[]\n');
  assert.equal(r.stderr, 'Error response from daemon: node nosuch not found\n');
});

test('usage errors: pflag text, usage line, exit 125; argument counts exit 1', async () => {
  const r = await runCommand(NodeLs, ['--bogus'], { host: d.host });
  assert.equal(r.code, 125);
  assert.equal(
    r.stderr,
    "unknown flag: --bogus\n\nUsage:  shoal node ls [OPTIONS]\n\nRun 'shoal node ls --help' for more information\n",
  );
  const a = await runCommand(NodeInspect, [], { host: d.host });
  assert.equal(a.code, 1);
  assert.match(
    a.stderr,
    /^shoal: 'shoal node inspect' requires at least 1 argument\n\nUsage: {2}shoal node inspect \[OPTIONS\] self\|NODE \[NODE\.\.\.\]/,
  );
});

test('connection failure: docker-style message, exit 1', async () => {
  const r = await runCommand(NodeLs, ['-H', 'unix:///nonexistent/shoal.sock']);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'Cannot connect to the shoal daemon at unix:///nonexistent/shoal.sock. Is the shoal daemon running?\n',
  );
});

test('node update sends the whole spec with the version; promote of a manager is a no-op', async () => {
  d.on('POST', '/nodes/*/update', {});
  const r = await runCommand(NodeUpdate, ['--availability', 'drain', '--label-add', 'zone=a', NODE_ID], {
    host: d.host,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${NODE_ID}\n`);
  const req = d.requests.at(-1)!;
  assert.equal(req.rawUrl, `/v1.51/nodes/${NODE_ID}/update?version=12`);
  assert.deepEqual(req.json, { Labels: { zone: 'a' }, Role: 'manager', Availability: 'drain' });
  const p = await runCommand(NodePromote, [NODE_ID], { host: d.host });
  assert.equal(p.stdout, `Node ${NODE_ID} is already a manager.\n`);
  const rm = await runCommand(NodeUpdate, ['--label-rm', 'nosuch', NODE_ID], { host: d.host });
  assert.equal(rm.stderr, "key nosuch doesn't exist in node's labels\n");
});

test('swarm init: the docker request body and output', async () => {
  d.on('POST', '/swarm/init', { body: NODE_ID });
  const r = await runCommand(SwarmInit, ['--advertise-addr', '10.0.0.2', '--task-history-limit', '10'], {
    host: d.host,
  });
  assert.equal(r.code, 0, r.stderr);
  const init = d.requests.find((x) => x.path === '/swarm/init')!;
  assert.deepEqual(init.json, {
    ListenAddr: '0.0.0.0:2377',
    AdvertiseAddr: '10.0.0.2',
    DataPathAddr: '',
    DataPathPort: 0,
    ForceNewCluster: false,
    Spec: {
      Labels: null,
      Orchestration: { TaskHistoryRetentionLimit: 10 },
      Raft: { ElectionTick: 0, HeartbeatTick: 0 },
      Dispatcher: {},
      CAConfig: {},
      TaskDefaults: {},
      EncryptionConfig: { AutoLockManagers: false },
    },
    AutoLockManagers: false,
    Availability: '',
    DefaultAddrPool: [],
    SubnetSize: 24,
  });
  assert.equal(
    r.stdout,
    `Swarm initialized: current node (${NODE_ID}) is now a manager.\n\n` +
      'To add a worker to this swarm, run the following command:\n\n' +
      '    shoal swarm join --token SWMTKN-1-worker 10.0.0.2:2377\n\n' +
      "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.\n",
  );
});

test('swarm join-token and unlock-key', async () => {
  const q = await runCommand(SwarmJoinToken, ['-q', 'manager'], { host: d.host });
  assert.equal(q.stdout, 'SWMTKN-1-manager\n');
  const bad = await runCommand(SwarmJoinToken, ['admin'], { host: d.host });
  assert.equal(bad.stderr, 'unknown role admin\n');
  d.on('GET', '/swarm/unlockkey', { body: { UnlockKey: '' } });
  const k = await runCommand(SwarmUnlockKey, [], { host: d.host });
  assert.equal(k.code, 1);
  assert.equal(k.stderr, 'no unlock key is set\n');
});

test('service create: body, ID, then non-TTY convergence output', async () => {
  let polls = 0;
  d.on('POST', '/services/create', { status: 201, body: { ID: SERVICE_ID, Warnings: null } });
  d.on('GET', `/services/${SERVICE_ID}`, () => ({
    body: {
      ID: SERVICE_ID,
      Version: { Index: 5 },
      Spec: {
        Name: 'web',
        Mode: { Replicated: { Replicas: 1 } },
        UpdateConfig: { Parallelism: 1, Monitor: 3e8, MaxFailureRatio: 0 },
        TaskTemplate: { ForceUpdate: 0 },
      },
      Endpoint: { Spec: {} },
    },
  }));
  d.on('GET', '/tasks', () => {
    polls++;
    const running = polls > 1;
    return {
      body: [
        {
          ID: 't1',
          Slot: 1,
          NodeID: NODE_ID,
          ServiceID: SERVICE_ID,
          DesiredState: 'running',
          Status: {
            State: running ? 'running' : 'starting',
            Timestamp: new Date().toISOString(),
            Message: '',
            PortStatus: {},
          },
        },
      ],
    };
  });
  const r = await runCommand(ServiceCreate, ['--name', 'web', 'busybox', 'sleep', '100'], { host: d.host });
  assert.equal(r.code, 0, r.stderr);
  const create = d.requests.find((x) => x.path === '/services/create')!;
  assert.deepEqual((create.json as { TaskTemplate: { ContainerSpec: unknown } }).TaskTemplate.ContainerSpec, {
    Image: 'busybox:latest',
    Args: ['sleep', '100'],
    Init: false,
    DNSConfig: {},
  });
  const tasksReq = d.requests.find((x) => x.path === '/tasks')!;
  assert.equal(tasksReq.query.get('filters'), `{"_up-to-date":{"true":true},"service":{"${SERVICE_ID}":true}}`);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], SERVICE_ID);
  assert.equal(lines[1], 'overall progress: 0 out of 1 tasks');
  assert.equal(lines[2], '1/1:  ');
  assert.ok(lines.includes('overall progress: 1 out of 1 tasks'));
  assert.ok(lines.some((l) => l.startsWith('verify: Waiting 1 seconds to verify that tasks are stable...')));
  assert.equal(lines.at(-2), `verify: Service ${SERVICE_ID} converged`);
});

test('service ls and service ps', async () => {
  const svc = {
    ID: SERVICE_ID,
    Version: { Index: 5 },
    Spec: {
      Name: 'web',
      Mode: { Replicated: { Replicas: 2 } },
      TaskTemplate: { ContainerSpec: { Image: 'nginx:latest@sha256:abc' }, ForceUpdate: 0 },
    },
    Endpoint: { Spec: {}, Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] },
    ServiceStatus: { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 0 },
  };
  d.on('GET', '/services', { body: [svc] });
  const ls = await runCommand(ServiceLs, [], { host: d.host });
  assert.equal(
    ls.stdout,
    'ID             NAME      MODE         REPLICAS   IMAGE          PORTS\n' +
      '1d9axefpjnod   web       replicated   1/2        nginx:latest   *:8080->80/tcp\n',
  );
  const ps = await runCommand(ServicePs, ['web', 'nope'], { host: d.host });
  assert.equal(ps.code, 1);
  assert.equal(ps.stderr, 'no such service: nope\n');
  assert.equal(
    ps.stdout,
    'ID        NAME      IMAGE     NODE       DESIRED STATE   CURRENT STATE                    ERROR     PORTS\n' +
      't1        web.1               manager1   Running         Running less than a second ago             \n',
  );
});

test('service inspect: 404 becomes "Error: no such service", scale of a global service fails', async () => {
  d.on('GET', '/services/*', (r) => ({ status: 404, body: { message: `service ${r.path.split('/')[2]} not found` } }));
  const r = await runCommand(ServiceInspect, ['ghost'], { host: d.host });
  assert.equal(r.stderr, 'Error: no such service: ghost\n');
  d.on('GET', '/services/glob', {
    body: {
      ID: 'g',
      Version: { Index: 1 },
      Spec: { Name: 'glob', Mode: { Global: {} }, TaskTemplate: { ForceUpdate: 0 } },
    },
  });
  const s = await runCommand(ServiceScale, ['glob=2', '-d'], { host: d.host });
  assert.equal(s.code, 1);
  assert.equal(s.stderr, 'glob: scale can only be used with replicated or replicated-job mode\n');
});

test('info prints the Swarm block', async () => {
  const r = await runCommand(Info, [], { host: d.host });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Client:\n Version: {4}\S+\n Debug Mode: false\n\nServer:\n/);
  assert.match(
    r.stdout,
    /\n Swarm: active\n {2}NodeID: 9uww9isho02186yd0ygt1exuf\n {2}Is Manager: true\n {2}ClusterID: clusterid\n {2}Managers: 1\n {2}Nodes: 1\n/,
  );
  assert.match(r.stdout, /\n {3}Heartbeat Period: 5 seconds\n {2}CA Configuration:\n {3}Expiry Duration: 3 months\n/);
  assert.match(
    r.stdout,
    /\n {2}Node Address: 10.0.0.2\n {2}Manager Addresses:\n {3}10.0.0.2:2377\n Executor: process\n/,
  );
});
