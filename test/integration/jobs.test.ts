// Job services against a real daemon (process executor): a replicated job runs its completions a few at a time
// and the CLI waits for "job complete", `service ls` shows the completions, an update runs the job again, and a
// global job runs once on the node; the docker CLI drives them too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, swarmOfOne } from './harness';
import type { Service } from '../../src/types/swarm';

const d = swarmOfOne();

const tasks = (name: string) => d.serviceTasks(name);

test('a replicated job runs its completions, MaxConcurrent at a time, and the CLI waits for it', async () => {
  const r = d.shoal([
    'service',
    'create',
    '--name',
    'batch',
    '--mode',
    'replicated-job',
    '--replicas',
    '4',
    '--max-concurrent',
    '2',
    'busybox',
    'sleep',
    '0.3',
  ]);
  assert.equal(r.code, 0, r.stderr);
  // Without a terminal docker's display drops the bars ("job progress") and keeps the counts and the end.
  assert.match(r.stdout, /active tasks: 2 out of 2 tasks\n/);
  assert.match(r.stdout, /active tasks: 0 out of 0 tasks\njob complete\n$/);
  const ts = await tasks('batch');
  assert.equal(ts.length, 4);
  assert.deepEqual(ts.map((t) => t.Slot).sort(), [0, 1, 2, 3]);
  assert.ok(ts.every((t) => t.Status.State === 'complete' && t.DesiredState === 'complete'));
  assert.ok(ts.every((t) => t.JobIteration?.Index === 0));
  // Two at a time: the last two started only after the first two had finished.
  const spans = ts
    .map((t) => ({ start: Date.parse(t.CreatedAt), end: Date.parse(t.Status.Timestamp) }))
    .sort((a, b) => a.start - b.start);
  assert.ok(spans[2].start >= Math.min(spans[0].end, spans[1].end), JSON.stringify(spans));

  const ls = d.shoal(['service', 'ls', '--format', '{{.Name}} {{.Mode}} {{.Replicas}}']);
  assert.equal(ls.stdout.trim(), 'batch replicated job 0/2 (4/4 completed)');
  const s = await d.json<Service>('GET', '/services/batch');
  assert.deepEqual(s.Spec.Mode, { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 4 } });
  assert.equal(s.JobStatus?.JobIteration.Index, 0);
});

test('updating a job runs it again as a new iteration; the docker CLI waits for it too', async () => {
  const u = d.docker(['service', 'update', '--force', 'batch']);
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stdout, /job complete/);
  const s = await d.json<Service>('GET', '/services/batch');
  assert.equal(s.JobStatus?.JobIteration.Index, 1);
  const ts = await eventually(async () => {
    const x = await tasks('batch');
    return x.length === 4 && x.every((t) => t.JobIteration?.Index === 1) ? x : undefined;
  });
  assert.ok(ts!.every((t) => t.Status.State === 'complete'));
});

test('a failing job task is retried as the restart policy allows, then given up', async () => {
  const r = d.shoal([
    'service',
    'create',
    '-d',
    '--name',
    'flaky',
    '--mode',
    'replicated-job',
    '--restart-max-attempts',
    '1',
    '--restart-delay',
    '0s',
    'busybox',
    'false',
  ]);
  assert.equal(r.code, 0, r.stderr);
  await eventually(async () =>
    (await tasks('flaky')).filter((t) => t.Status.State === 'failed').length === 2 ? true : undefined,
  );
  await new Promise((res) => setTimeout(res, 1000));
  const ts = await tasks('flaky');
  assert.equal(ts.length, 2, 'one try and one retry');
  assert.match(ts[0].Status.Err ?? '', /non-zero exit \(1\)/);
  const ls = d.shoal(['service', 'ls', '--filter', 'name=flaky', '--format', '{{.Replicas}}']);
  assert.equal(ls.stdout.trim(), '0/1 (0/1 completed)');
});

test('a global job runs once on each node, and jobs refuse update settings', async () => {
  const r = d.docker(['service', 'create', '--name', 'once', '--mode', 'global-job', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /job complete/);
  const ts = await tasks('once');
  assert.equal(ts.length, 1);
  assert.equal(ts[0].Status.State, 'complete');
  assert.equal(ts[0].Slot, 0);
  const bad = await d.api('POST', '/v1.51/services/create', {
    Name: 'nope',
    TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: ['true'] } },
    Mode: { GlobalJob: {} },
    UpdateConfig: { Parallelism: 1 },
  });
  assert.equal(bad.status, 400);
  assert.equal(
    JSON.parse(bad.body).message,
    'rpc error: code = InvalidArgument desc = Jobs may not have an update config',
  );
});
