import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import fc from 'fast-check';
import { TestDaemon, eventually } from './harness';
import type { Task } from '../../src/types/swarm';

const d = new TestDaemon();
let docker: Docker;
before(async () => {
  await d.start();
  docker = new Docker({ socketPath: d.socket });
});
after(() => d.stop());

test('the unmodified docker CLI drives a shoal swarm', async () => {
  const init = d.docker(['swarm', 'init']);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /Swarm initialized: current node \(\w{25}\) is now a manager\./);
  assert.match(d.docker(['node', 'ls']).stdout, /\*\s+\S+\s+Ready\s+Active\s+Leader/);
  assert.match(d.docker(['info']).stdout, /Swarm: active/);
  assert.match(d.docker(['swarm', 'join-token', 'worker']).stdout, /docker swarm join --token SWMTKN-1-/);
  assert.equal(d.docker(['swarm', 'update', '--task-history-limit', '3']).code, 0);
  const create = d.docker([
    'service',
    'create',
    '--name',
    'dk',
    '--replicas',
    '2',
    '--no-resolve-image',
    '--update-monitor',
    '1s',
    'busybox',
    'sleep',
    '300',
  ]);
  assert.equal(create.code, 0, create.stderr);
  assert.match(create.stdout, /verify: Service \S+ converged/);
  assert.match(d.docker(['service', 'ls']).stdout, /dk\s+replicated\s+2\/2/);
  assert.equal(
    d.docker(['service', 'ps', '-q', '-f', 'desired-state=running', 'dk']).stdout.trim().split('\n').length,
    2,
  );
  assert.match(d.docker(['service', 'inspect', '--pretty', 'dk']).stdout, /Replicas:\s+2/);
  const scale = d.docker(['service', 'scale', 'dk=3']);
  assert.equal(scale.code, 0, scale.stderr);
  assert.match(scale.stdout, /dk scaled to 3/);
  const upd = d.docker(['service', 'update', '--env-add', 'X=1', '--no-resolve-image', 'dk']);
  assert.equal(upd.code, 0, upd.stderr);
  const nodeId = d.docker(['node', 'ls', '-q']).stdout.trim();
  assert.equal(d.docker(['node', 'update', '--label-add', 'zone=a', nodeId]).code, 0);
  assert.match(d.docker(['node', 'inspect', '--format', '{{.Spec.Labels.zone}}', 'self']).stdout, /^a$/m);
  assert.match(d.docker(['node', 'ps']).stdout, /dk\.1/);
  const rm = d.docker(['node', 'rm', nodeId]);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /is a cluster manager and is a member of the raft cluster/);
  const missing = d.docker(['service', 'inspect', 'nosuch']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such service: nosuch/);
  assert.equal(d.docker(['service', 'rm', 'dk']).stdout.trim(), 'dk');
  const leave = d.docker(['swarm', 'leave']);
  assert.equal(leave.code, 1);
  assert.match(leave.stderr, /Removing the last manager erases all current state of the swarm/);
});

test('dockerode drives the same API', async () => {
  const spec = {
    Name: 'dr',
    TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '300'] } },
    Mode: { Replicated: { Replicas: 2 } },
    EndpointSpec: { ExposedPorts: [] }, // an unknown field, as dockerode's own tests send: dropped
  };
  const svc = await docker.createService(spec as never);
  const info = await svc.inspect();
  assert.equal(info.Spec.Name, 'dr');
  assert.equal((info.Spec.EndpointSpec as Record<string, unknown>).ExposedPorts, undefined);
  await eventually(async () => {
    const tasks = (await docker.listTasks({ filters: { service: ['dr'], 'desired-state': ['running'] } })) as Task[];
    return tasks.filter((t) => t.Status.State === 'running').length === 2;
  });
  const list = (await docker.listServices({
    filters: { name: ['dr'] },
    status: true,
  } as never)) as unknown as unknown[];
  assert.equal(list.length, 1);
  await svc.update({ version: info.Version!.Index, ...info.Spec, Mode: { Replicated: { Replicas: 1 } } } as never);
  assert.equal((await svc.inspect()).Spec.Mode!.Replicated!.Replicas, 1);
  await assert.rejects(
    svc.update({ version: 1, ...info.Spec } as never),
    (e: { statusCode: number }) => e.statusCode === 500,
  );
  const swarm = await docker.swarmInspect();
  assert.match(swarm.JoinTokens.Worker, /^SWMTKN-1-/);
  assert.equal(swarm.Spec.Orchestration.TaskHistoryRetentionLimit, 3);
  assert.equal(swarm.RootCA, undefined);
  const nodes = await docker.listNodes();
  assert.equal(nodes.length, 1);
  await svc.remove();
  await assert.rejects(docker.getService('dr').inspect(), (e: { statusCode: number }) => e.statusCode === 404);
});

test('bad request bodies get a 4xx, change nothing and never crash the daemon', async () => {
  const before = await d.json<unknown[]>('GET', '/services');
  const value = fc.oneof(
    fc.integer({ min: -5, max: 5 }),
    fc.double(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 2 }),
  );
  const body = fc.oneof(
    fc.record(
      {
        Name: value,
        TaskTemplate: fc.oneof(value, fc.record({ ContainerSpec: fc.oneof(value, fc.record({ Image: value })) })),
        Mode: fc.oneof(value, fc.record({ Replicated: fc.oneof(value, fc.record({ Replicas: value })) })),
      },
      { requiredKeys: [] },
    ),
    fc.string().map((s) => `{${s}`),
    fc.anything(),
  );
  await fc.assert(
    fc.asyncProperty(body, async (b) => {
      const raw = typeof b === 'string' ? b : JSON.stringify(b ?? null);
      const r = await d.api('POST', '/v1.51/services/create', raw);
      if (r.status === 201) {
        // Only a valid spec may be accepted: remove it again so state is unchanged.
        const { ID } = JSON.parse(r.body);
        await d.api('DELETE', `/services/${ID}`);
        return;
      }
      assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body} for ${raw}`);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.ok(JSON.parse(r.body).message.length > 0);
    }),
    { numRuns: 200 },
  );
  for (const [path, b] of [
    ['/v1.51/swarm/update?version=abc', {}],
    ['/v1.51/nodes/self/update?version=1', {}],
    [
      '/v1.51/services/create',
      { TaskTemplate: { ContainerSpec: { Image: 'x' } }, Mode: { Replicated: { Replicas: -1 } } },
    ],
    [
      '/v1.51/services/create',
      { TaskTemplate: { ContainerSpec: { Image: 'x' } }, Mode: { Replicated: { Replicas: 1.5 } } },
    ],
  ] as const) {
    const r = await d.api('POST', path, b);
    assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status} ${r.body}`);
  }
  const big = await d
    .api('POST', '/v1.51/services/create', JSON.stringify({ Name: 'x'.repeat(5 * 1024 * 1024) }))
    .catch(() => ({ status: 413 }));
  assert.equal(big.status, 413);
  assert.equal((await d.api('GET', '/v1.10/services')).status, 400);
  assert.deepEqual(await d.json('GET', '/services'), before);
  assert.ok(d.alive, 'the daemon is still running');
});
