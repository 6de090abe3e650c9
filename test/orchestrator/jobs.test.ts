import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Manager } from '../../src/manager/manager';
import { managerWith, testNode, until } from './fixtures';
import { createService, updateService } from '../../src/manager/controlapi/services';
import type { ServiceMode, ServiceSpec, Task } from '../../src/types/swarm';

// Job modes on a real store, orchestrator and scheduler, with a scripted agent: a task runs for a moment once
// assigned, then completes (or fails, for an image in `failing`). The test watches how many run at once.

const node = (id: string, state: 'ready' | 'down' = 'ready') => testNode(id, { state });

const spec = (
  mode: ServiceMode,
  image = 'job',
  restart: 'none' | 'on-failure' | 'any' = 'on-failure',
): ServiceSpec => ({
  Name: 'job',
  Labels: {},
  TaskTemplate: {
    ContainerSpec: { Image: image, Args: ['true'] },
    RestartPolicy: { Condition: restart, Delay: 0, MaxAttempts: 2 },
    ForceUpdate: 0,
  },
  Mode: mode,
});

async function cluster(nodes = [node('n1'), node('n2')], runMs = 30) {
  const m = await managerWith(nodes);
  const failing = new Set(['broken']);
  let now = 0;
  let peak = 0;
  const busy = new Set<string>();
  const set = (id: string, state: Task['Status']['State']) =>
    m.store
      .retryUpdate((tx) => {
        const t = tx.get('tasks', id);
        if (t) tx.update('tasks', { ...t, Status: { ...t.Status, State: state } });
      })
      .catch(() => undefined);
  m.store.on('commit', () => {
    for (const t of m.store.list('tasks')) {
      if (busy.has(t.ID) || t.Status.State !== 'assigned' || t.DesiredState !== 'complete') continue;
      busy.add(t.ID);
      peak = Math.max(peak, ++now);
      void set(t.ID, 'running').then(() =>
        setTimeout(() => {
          now--;
          void set(t.ID, failing.has(t.Spec.ContainerSpec?.Image ?? '') ? 'failed' : 'complete');
        }, runMs),
      );
    }
  });
  m.start();
  return { m, failing, peak: () => peak };
}

const tasks = (m: Manager) => m.store.list('tasks');
const completed = (m: Manager, iteration = 0) =>
  tasks(m).filter((t) => t.Status.State === 'complete' && t.JobIteration?.Index === iteration);

test('replicated-job: TotalCompletions tasks complete, never more than MaxConcurrent at once, in slots 0..N-1', async () => {
  const { m, peak } = await cluster();
  const s = await createService(m.store, spec({ ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } }));
  assert.deepEqual(s.JobStatus?.JobIteration, { Index: 0 });
  await until(() => completed(m).length === 5, '5 completions');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(tasks(m).length, 5, 'no task beyond the five');
  assert.deepEqual(
    tasks(m)
      .map((t) => t.Slot)
      .sort(),
    [0, 1, 2, 3, 4],
  );
  assert.equal(peak(), 2);
  assert.ok(tasks(m).every((t) => t.DesiredState === 'complete'));
});

test('replicated-job defaults: MaxConcurrent 1, TotalCompletions = MaxConcurrent; jobs take no update config', async () => {
  const { m } = await cluster();
  const s = await createService(m.store, spec({ ReplicatedJob: {} }));
  assert.deepEqual(s.Spec.Mode, { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
  await assert.rejects(
    createService(m.store, {
      ...spec({ GlobalJob: {} }),
      Name: 'other',
      UpdateConfig: { Parallelism: 1, MaxFailureRatio: 0 },
    }),
    /Jobs may not have an update config/,
  );
  await assert.rejects(
    createService(m.store, { ...spec({ ReplicatedJob: { MaxConcurrent: -1 } }), Name: 'neg' }),
    /Maximum concurrent jobs must not be negative/,
  );
});

test('a failed job task is restarted in its slot as the policy allows; then the slot gives up', async () => {
  const { m } = await cluster();
  const s = await createService(m.store, spec({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } }, 'broken'));
  // MaxAttempts 2: the first try and two restarts, all in slot 0, then nothing more.
  await until(() => tasks(m).filter((t) => t.Status.State === 'failed').length === 3, 'three failures');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(tasks(m).length, 3);
  assert.ok(tasks(m).every((t) => t.Slot === 0 && t.ServiceID === s.ID));
  assert.equal(completed(m).length, 0);
});

test('updating a job runs it again: a new iteration, the old tasks removed', async () => {
  const { m } = await cluster();
  const s = await createService(m.store, spec({ ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 2 } }));
  await until(() => completed(m).length === 2, 'first run');
  const cur = m.store.get('services', s.ID)!;
  await updateService(m.store, s.ID, cur.Version.Index!, { ...cur.Spec, Labels: { run: '2' } }, false);
  assert.deepEqual(m.store.get('services', s.ID)!.JobStatus?.JobIteration, { Index: 1 });
  await until(() => completed(m, 1).length === 2, 'second run');
  await until(() => tasks(m).every((t) => t.JobIteration?.Index === 1), 'the first run gone');
});

test('global-job: one task per ready node, once; a node that comes later runs it too', async () => {
  const { m } = await cluster([node('n1'), node('n2'), node('n3', 'down')]);
  const s = await createService(m.store, spec({ GlobalJob: {} }));
  await until(() => completed(m).length === 2, 'two nodes done');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    tasks(m)
      .map((t) => t.NodeID)
      .sort(),
    ['n1', 'n2'],
  );
  const n3 = m.store.get('nodes', 'n3')!;
  await m.store.update((tx) => tx.update('nodes', { ...n3, Status: { ...n3.Status, State: 'ready' } }));
  await until(() => completed(m).length === 3, 'n3 done');
  assert.ok(tasks(m).every((t) => t.Slot === 0 && t.ServiceID === s.ID));
  assert.equal(tasks(m).length, 3);
});

test('a job task that keeps failing is retried without end, and its history stays within the retention limit', async () => {
  const { m } = await cluster([node('n1')], 10);
  const s = spec({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } }, 'broken');
  s.TaskTemplate.RestartPolicy = { Condition: 'on-failure', Delay: 0, MaxAttempts: 0 };
  await createService(m.store, s);
  let failures = 0;
  m.store.on('change', (e) => {
    if (e.table === 'tasks' && e.action === 'update' && (e.object as Task).Status.State === 'failed') failures++;
  });
  await until(() => failures >= 12, 'a dozen failed tries');
  // The default TaskHistoryRetentionLimit is 5: five finished tries and the one under way at the most.
  assert.ok(tasks(m).length <= 6, `${tasks(m).length} tasks kept`);
});
