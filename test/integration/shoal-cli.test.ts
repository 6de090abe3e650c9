import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, eventually } from './harness';
import type { Service, Task } from '../../src/types/swarm';

const d = new TestDaemon();
before(() => d.start());
after(() => d.stop());

const running = async (name: string) =>
  (await d.json<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [name] }))}`)).filter(
    (t) => t.Status.State === 'running' && t.DesiredState === 'running',
  );

test("before init, manager endpoints answer 503 with docker's text", () => {
  const r = d.shoal(['node', 'ls']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error response from daemon: This node is not a swarm manager\. Use "docker swarm init"/);
});

test('swarm init makes a manager with a CA, tokens and private files', () => {
  const r = d.shoal(['swarm', 'init']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Swarm initialized: current node \([0-9a-z]{25}\) is now a manager\./);
  assert.match(r.stdout, /shoal swarm join --token SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25} /);
  assert.equal(statSync(d.dataRoot).mode & 0o777, 0o700);
  assert.equal(statSync(d.socket).mode & 0o777, 0o660);
  assert.equal(statSync(join(d.dataRoot, 'certificates', 'swarm-node.key')).mode & 0o777, 0o600);
  const again = d.shoal(['swarm', 'init']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /This node is already part of a swarm/);
});

test('join-token rotation changes the token and keeps the CA digest', () => {
  const before = d.shoal(['swarm', 'join-token', '-q', 'worker']).stdout.trim();
  assert.equal(d.shoal(['swarm', 'join-token', '--rotate', 'worker']).code, 0);
  const after = d.shoal(['swarm', 'join-token', '-q', 'worker']).stdout.trim();
  assert.notEqual(after, before);
  assert.equal(after.split('-')[2], before.split('-')[2]);
});

test('service create waits for convergence; ls, ps and inspect show it', async () => {
  const r = d.shoal([
    'service',
    'create',
    '--name',
    'web',
    '--replicas',
    '2',
    '--update-monitor',
    '1s',
    'busybox',
    'sleep',
    '300',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /verify: Service \S+ converged/);
  assert.equal((await running('web')).length, 2);
  const ls = d.shoal(['service', 'ls']);
  assert.match(ls.stdout, /web\s+replicated\s+2\/2\s+busybox:latest/);
  const ps = d.shoal(['service', 'ps', '-q', 'web']);
  assert.equal(ps.stdout.trim().split('\n').length, 2);
  const ins = JSON.parse(d.shoal(['service', 'inspect', 'web']).stdout) as Service[];
  assert.deepEqual(ins[0].Spec.TaskTemplate.ContainerSpec?.Args, ['sleep', '300']);
  assert.equal(d.shoal(['service', 'ls', '--format', '{{.Name}} {{.Replicas}}']).stdout.trim(), 'web 2/2');
});

test('a killed task is replaced under the default restart policy', async () => {
  const [t] = await running('web');
  process.kill(t.Status.ContainerStatus!.PID!, 'SIGKILL');
  await eventually(
    async () => {
      const r = await running('web');
      return r.length === 2 && !r.some((x) => x.ID === t.ID);
    },
    30_000,
    'the replacement task',
  );
  const failed = await d.json<Task>('GET', `/tasks/${t.ID}`);
  assert.equal(failed.Status.State, 'failed');
  assert.equal(failed.Status.Err, 'task: non-zero exit (137)');
});

test('scale up and down', async () => {
  assert.equal(d.shoal(['service', 'scale', 'web=4', '-d']).code, 0);
  await eventually(async () => (await running('web')).length === 4, 20_000, '4 running');
  assert.equal(d.shoal(['service', 'scale', 'web=1', '-d']).code, 0);
  await eventually(async () => (await running('web')).length === 1, 20_000, '1 running');
});

test('service update of env replaces the task', async () => {
  const [old] = await running('web');
  const r = d.shoal(['service', 'update', '--env-add', 'A=1', 'web']);
  assert.equal(r.code, 0, r.stderr);
  const [now] = await running('web');
  assert.notEqual(now.ID, old.ID);
  assert.deepEqual(now.Spec.ContainerSpec?.Env, ['A=1']);
  // The manager calls the update completed once the new task has stayed up for the monitor period (5 s).
  const svc = await eventually(async () => {
    const s = await d.json<Service>('GET', '/services/web');
    return s.UpdateStatus?.State === 'completed' ? s : undefined;
  });
  assert.equal(svc!.UpdateStatus?.Message, 'update completed');
});

test('a task with no command fails with a clear error', async () => {
  assert.equal(d.shoal(['service', 'create', '-d', '--name', 'nocmd', 'nginx']).code, 0);
  const t = await eventually(async () => {
    const ts = await d.json<Task[]>('GET', `/tasks?filters=${encodeURIComponent('{"service":{"nocmd":true}}')}`);
    return ts.find((x) => x.Status.State === 'rejected');
  });
  assert.match(t!.Status.Err ?? '', /no command specified/);
  assert.equal(d.shoal(['service', 'rm', 'nocmd']).code, 0);
});

test('errors: unknown service, stale version, bad flags', async () => {
  const r = d.shoal(['service', 'inspect', 'nosuch']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no such service: nosuch/);
  const svc = await d.json<Service>('GET', '/services/web');
  const stale = await d.api('POST', `/v1.51/services/${svc.ID}/update?version=1`, svc.Spec);
  assert.equal(stale.status, 500);
  assert.equal(JSON.parse(stale.body).message, 'rpc error: code = Unknown desc = update out of sequence');
  assert.notEqual(d.shoal(['service', 'create', '--replicas', 'x', 'busybox']).code, 0);
});

test('service rm stops its tasks', async () => {
  const [t] = await running('web');
  assert.equal(d.shoal(['service', 'rm', 'web']).stdout.trim(), 'web');
  await eventually(
    () => {
      try {
        process.kill(t.Status.ContainerStatus!.PID!, 0);
        return false;
      } catch {
        return true;
      }
    },
    20_000,
    'the process to exit',
  );
});

test('SIGTERM stops the daemon cleanly', async () => {
  d.shoal(['service', 'create', '-d', '--name', 'last', 'busybox', 'sleep', '300']);
  const [t] = (await eventually(async () => {
    const r = await running('last');
    return r.length === 1 ? r : undefined;
  }))!;
  assert.equal(await d.stop(), 0);
  assert.throws(() => process.kill(t.Status.ContainerStatus!.PID!, 0));
});
