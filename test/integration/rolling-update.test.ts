// Rolling updates and rollbacks against a real daemon, through shoal's CLI and the docker CLI: an update replaces
// one task at a time with the delay between them, `service rollback` returns to the previous spec, a failing update
// rolls back (or pauses) as its failure action says, and the CLI reports each as docker's does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, swarmOfOne } from './harness';
import type { Service, Task } from '../../src/types/swarm';

const d = swarmOfOne();

const tasks = (name: string) => d.serviceTasks(name);
const running = async (name: string) =>
  (await tasks(name)).filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
const service = (name: string) => d.json<Service>('GET', `/services/${name}`);
const envOf = (t: Task) => t.Spec.ContainerSpec?.Env ?? [];

test('an update replaces one task at a time, Delay apart, and the CLI waits for it', async () => {
  const c = d.shoal([
    'service',
    'create',
    '-d',
    '--name',
    'web',
    '--replicas',
    '3',
    '--update-delay',
    '1s',
    '--update-monitor',
    '1s',
    '--rollback-monitor',
    '1s',
    '--rollback-parallelism',
    '0',
    'busybox',
    'sleep',
    '600',
  ]);
  assert.equal(c.code, 0, c.stderr);
  await eventually(async () => ((await running('web')).length === 3 ? true : undefined));
  const old = new Set((await running('web')).map((t) => t.ID));

  const u = d.shoal(['service', 'update', '--env-add', 'V=2', 'web']);
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stdout, /^web\n/);
  assert.match(u.stdout, /overall progress: 3 out of 3 tasks/);
  assert.match(u.stdout, /verify: Service web converged/);
  const now = await running('web');
  assert.equal(now.length, 3);
  assert.ok(now.every((t) => !old.has(t.ID) && envOf(t).includes('V=2')));
  // One at a time, each replacement at least the delay after the one before it was running.
  const started = now.map((t) => Date.parse(t.CreatedAt)).sort((a, b) => a - b);
  assert.ok(started[1] - started[0] >= 1000 && started[2] - started[1] >= 1000, JSON.stringify(started));
  const done = await eventually(async () => {
    const s = await service('web');
    return s.UpdateStatus?.State === 'completed' ? s : undefined;
  });
  assert.equal(done!.UpdateStatus?.Message, 'update completed');
});

test('service rollback returns to the previous spec, all at once as RollbackConfig says', async () => {
  const r = d.shoal(['service', 'rollback', 'web']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^web\n/);
  assert.match(r.stdout, /rollback: manually requested rollback/);
  assert.match(r.stdout, /overall progress: rolling back update: 3 out of 3 tasks/);
  assert.match(r.stdout, /verify: Service web converged/);
  const now = await running('web');
  assert.equal(now.length, 3);
  assert.ok(now.every((t) => !envOf(t).includes('V=2')));
  const s = await eventually(async () => {
    const x = await service('web');
    return x.UpdateStatus?.State === 'rollback_completed' ? x : undefined;
  });
  assert.equal(s!.UpdateStatus?.Message, 'rollback completed');
  // Rolling back swaps the specs: the update is now the previous spec.
  assert.ok(s!.PreviousSpec?.TaskTemplate.ContainerSpec?.Env?.includes('V=2'));
});

test('an update whose tasks fail rolls back on its own with --update-failure-action rollback', async () => {
  const before = (await running('web')).map((t) => t.ID).sort();
  const u = d.shoal([
    'service',
    'update',
    '--update-failure-action',
    'rollback',
    '--update-delay',
    '0s',
    '--args',
    'false',
    'web',
  ]);
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stdout, /rollback: update rolled back due to failure or early termination of task [0-9a-z]{25}/);
  assert.match(u.stdout, /verify: Service web converged/);
  const s = await eventually(async () => {
    const x = await service('web');
    return x.UpdateStatus?.State === 'rollback_completed' ? x : undefined;
  });
  assert.deepEqual(s!.Spec.TaskTemplate.ContainerSpec?.Args, ['sleep', '600']);
  // The rollout stopped at the failure: the last slot was never reached. (`false` runs for an instant, so the
  // rollout may have moved on to a second slot before the failure was seen, as swarmkit's does.)
  const after = (await running('web')).map((t) => t.ID);
  assert.equal(after.length, 3);
  assert.ok(after.filter((id) => before.includes(id)).length >= 1);
  // As in Docker, a rollback on failure leaves no previous spec to roll back to.
  const again = d.shoal(['service', 'rollback', 'web']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /service [0-9a-z]{25} does not have a previous spec/);
});

test('with the default failure action the update pauses, and the CLI says why', async () => {
  const u = d.shoal(['service', 'update', '--update-failure-action', 'pause', '--args', 'false', 'web']);
  assert.equal(u.code, 1);
  assert.match(
    u.stderr,
    /service update paused: update paused due to failure or early termination of task [0-9a-z]{25}/,
  );
  const s = await service('web');
  assert.equal(s.UpdateStatus?.State, 'paused');
  // Paused: the two slots not yet reached still run the old spec.
  const old = (await running('web')).filter((t) => t.Spec.ContainerSpec?.Args?.[0] === 'sleep');
  assert.equal(old.length, 2);
  // The docker CLI rolls it back.
  const r = d.docker(['service', 'rollback', 'web']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /verify: Service web converged/);
  const back = await running('web');
  assert.equal(back.length, 3);
  assert.ok(back.every((t) => t.Spec.ContainerSpec?.Args?.[0] === 'sleep'));
});

test('--update-order start-first starts each new task before its old one stops', async () => {
  const before = new Map((await running('web')).map((t) => [t.Slot, t]));
  const u = d.shoal(['service', 'update', '--update-order', 'start-first', '--env-add', 'W=1', 'web']);
  assert.equal(u.code, 0, u.stderr);
  const all = await tasks('web');
  for (const [slot, old] of before) {
    const stopped = all.find((t) => t.ID === old.ID)!;
    const next = all.find((t) => t.Slot === slot && envOf(t).includes('W=1') && t.Status.State === 'running')!;
    assert.ok(next, `slot ${slot} runs the new spec`);
    // The old task was told to stop only after its replacement was created and had started.
    assert.ok(Date.parse(stopped.Status.Timestamp) >= Date.parse(next.CreatedAt), `slot ${slot}`);
  }
});
