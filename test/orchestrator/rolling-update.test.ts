import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Manager } from '../../src/manager/manager';
import { managerWith, testNode, until } from './fixtures';
import { createService, updateService } from '../../src/manager/controlapi/services';
import type { StoreEvent } from '../../src/store/memory-store';
import type { Service, ServiceSpec, Task, UpdateConfig } from '../../src/types/swarm';

// Rolling updates on a real store, orchestrator and scheduler, with a scripted agent: it runs what is assigned (a
// task whose image is "broken" fails instead) and stops what is told to stop, and the test records every step.

const MS = 1e6;

function spec(image: string, replicas: number, update?: Partial<UpdateConfig>, rollback?: Partial<UpdateConfig>) {
  const s: ServiceSpec = {
    Name: 'web',
    Labels: {},
    TaskTemplate: {
      ContainerSpec: { Image: image, Args: ['sleep', '1'] },
      RestartPolicy: { Condition: 'none' },
      ForceUpdate: 0,
    },
    Mode: { Replicated: { Replicas: replicas } },
  };
  if (update) s.UpdateConfig = { Parallelism: 1, MaxFailureRatio: 0, Monitor: 200 * MS, ...update };
  if (rollback) s.RollbackConfig = { Parallelism: 1, MaxFailureRatio: 0, Monitor: 200 * MS, ...rollback };
  return s;
}

interface Step {
  at: number;
  image: string;
  state: Task['Status']['State'];
  slot: number;
}

/** A manager with two nodes and an agent that runs assigned tasks after `startMs`, and records what it does. */
async function cluster(startMs = 20, nodes = ['n1', 'n2']) {
  const m = await managerWith(nodes.map((n) => testNode(n)));
  const steps: Step[] = [];
  /** Images whose tasks fail when they start. */
  const failing = new Set(['broken']);
  const t0 = Date.now();
  const pending = new Set<string>();
  const set = (id: string, state: Task['Status']['State']) =>
    m.store
      .retryUpdate((tx) => {
        const t = tx.get('tasks', id);
        if (!t || t.Status.State === state) return;
        tx.update('tasks', { ...t, Status: { ...t.Status, State: state, Timestamp: new Date().toISOString() } });
        steps.push({ at: Date.now() - t0, image: t.Spec.ContainerSpec!.Image!, state, slot: t.Slot });
      })
      .catch(() => undefined);
  m.store.on('commit', () => {
    for (const t of m.store.list('tasks')) {
      if (pending.has(t.ID)) continue;
      if (t.DesiredState === 'running' && t.Status.State === 'assigned') {
        pending.add(t.ID);
        setTimeout(() => {
          pending.delete(t.ID);
          void set(t.ID, failing.has(t.Spec.ContainerSpec?.Image ?? '') ? 'failed' : 'running');
        }, startMs);
      } else if (
        (t.DesiredState === 'shutdown' || t.DesiredState === 'remove') &&
        ['assigned', 'running'].includes(t.Status.State)
      ) {
        pending.add(t.ID);
        setTimeout(() => {
          pending.delete(t.ID);
          void set(t.ID, 'shutdown');
        }, startMs);
      }
    }
  });
  /** Every UpdateStatus the service went through, as `State: Message`. */
  const statuses: string[] = [];
  m.store.on('change', (e: StoreEvent) => {
    const u = e.table === 'services' ? (e.object as Service).UpdateStatus : undefined;
    const line = u ? `${u.State}: ${u.Message}` : undefined;
    if (line && statuses[statuses.length - 1] !== line) statuses.push(line);
  });
  m.start();
  return { m, steps, failing, statuses };
}

const running = (m: Manager, image: string) =>
  m.store.list('tasks').filter((t) => t.Status.State === 'running' && t.Spec.ContainerSpec?.Image === image);
const svc = (m: Manager) => m.store.list('services')[0];

async function update(m: Manager, next: ServiceSpec): Promise<Service> {
  const cur = svc(m);
  await updateService(m.store, cur.ID, cur.Version.Index!, next, false);
  return svc(m);
}

/** How many tasks of `image` ran at once at most, and how many of all images, from the agent's steps. */
function peaks(steps: Step[], image: string) {
  let mine = 0;
  let all = 0;
  let maxMine = 0;
  let maxAll = 0;
  for (const s of steps) {
    const d = s.state === 'running' ? 1 : s.state === 'shutdown' ? -1 : 0;
    all += d;
    if (s.image === image) mine += d;
    maxMine = Math.max(maxMine, mine);
    maxAll = Math.max(maxAll, all);
  }
  return { maxMine, maxAll };
}

test('stop-first, parallelism 1: one slot at a time, never more tasks than replicas, then completed', async () => {
  const { m, steps } = await cluster();
  await createService(m.store, spec('v1', 3, { Monitor: 100 * MS }));
  await until(() => running(m, 'v1').length === 3, '3 v1 running');
  await update(m, spec('v2', 3, { Monitor: 100 * MS }));
  await until(() => svc(m).UpdateStatus?.State === 'updating', 'updating');
  await until(() => running(m, 'v2').length === 3, '3 v2 running');
  await until(() => svc(m).UpdateStatus?.State === 'completed', 'completed');
  assert.equal(svc(m).UpdateStatus?.Message, 'update completed');
  // Stop-first: every v2 task started after a v1 task stopped, so the total never went above 3.
  assert.equal(peaks(steps, 'v2').maxAll, 3);
  const order = steps.filter((s) => s.state === 'running' || s.image === 'v1').map((s) => `${s.image}:${s.state}`);
  assert.deepEqual(order.slice(3), [
    'v1:shutdown',
    'v2:running',
    'v1:shutdown',
    'v2:running',
    'v1:shutdown',
    'v2:running',
  ]);
});

test('start-first, parallelism 2: the new task runs before the old one stops', async () => {
  const { m, steps } = await cluster();
  await createService(m.store, spec('v1', 4));
  await until(() => running(m, 'v1').length === 4, '4 v1 running');
  const mark = steps.length;
  await update(m, spec('v2', 4, { Parallelism: 2, Order: 'start-first' }));
  await until(() => running(m, 'v2').length === 4 && running(m, 'v1').length === 0, 'all on v2');
  const during = steps.slice(mark);
  // Each slot's v2 task ran before its v1 task stopped, two slots at a time: up to 6 running at once, never 7.
  for (const slot of [1, 2, 3, 4]) {
    const up = during.findIndex((s) => s.slot === slot && s.image === 'v2' && s.state === 'running');
    const down = during.findIndex((s) => s.slot === slot && s.image === 'v1' && s.state === 'shutdown');
    assert.ok(up >= 0 && down > up, `slot ${slot}: v2 up at step ${up}, v1 down at ${down}`);
  }
  assert.equal(peaks(steps, 'v2').maxAll, 6);
});

test('Delay: the next slot starts only after the previous one has run for the delay', async () => {
  const { m, steps } = await cluster();
  await createService(m.store, spec('v1', 2));
  await until(() => running(m, 'v1').length === 2, '2 v1 running');
  await update(m, spec('v2', 2, { Delay: 400 * MS }));
  await until(() => running(m, 'v2').length === 2, '2 v2 running');
  const firstUp = steps.find((s) => s.image === 'v2' && s.state === 'running')!;
  const downs = steps.filter((s) => s.image === 'v1' && s.state === 'shutdown');
  assert.equal(downs.length, 2);
  assert.ok(downs[1].at - firstUp.at >= 400, `second slot stopped ${downs[1].at - firstUp.at} ms after the first ran`);
});

test('FailureAction pause: a new task that fails pauses the update and leaves the other slots alone', async () => {
  const { m } = await cluster();
  await createService(m.store, spec('v1', 3));
  await until(() => running(m, 'v1').length === 3, '3 v1 running');
  await update(m, spec('broken', 3, { FailureAction: 'pause' }));
  const s = await until(() => svc(m).UpdateStatus?.State === 'paused' && svc(m), 'paused');
  const failed = m.store.list('tasks').find((t) => t.Status.State === 'failed')!;
  assert.equal(s.UpdateStatus!.Message, `update paused due to failure or early termination of task ${failed.ID}`);
  await new Promise((r) => setTimeout(r, 300));
  // Two slots still run v1; the paused rollout touched nothing else.
  assert.equal(running(m, 'v1').length, 2);
  assert.equal(m.store.list('tasks').filter((t) => t.Spec.ContainerSpec?.Image === 'broken').length, 1);
  // A new update starts a new rollout.
  await update(m, spec('v3', 3));
  await until(() => running(m, 'v3').length === 3, '3 v3 running');
  await until(() => svc(m).UpdateStatus?.State === 'completed', 'completed');
});

test('FailureAction rollback: the service goes back to its previous spec with RollbackConfig', async () => {
  const { m, statuses } = await cluster();
  await createService(m.store, spec('v1', 3, undefined, { Parallelism: 0 }));
  await until(() => running(m, 'v1').length === 3, '3 v1 running');
  await update(m, spec('broken', 3, { FailureAction: 'rollback' }, { Parallelism: 0 }));
  await until(() => svc(m).UpdateStatus?.State === 'rollback_completed', 'rollback completed');
  const s = svc(m);
  assert.equal(s.Spec.TaskTemplate.ContainerSpec?.Image, 'v1');
  assert.equal(s.PreviousSpec, undefined);
  assert.equal(running(m, 'v1').length, 3);
  const failed = m.store.list('tasks').find((t) => t.Status.State === 'failed')!;
  assert.deepEqual(statuses, [
    'updating: update in progress',
    `rollback_started: update rolled back due to failure or early termination of task ${failed.ID}`,
    'rollback_completed: rollback completed',
  ]);
});

test('MaxFailureRatio: failures up to the ratio are tolerated, the next one pauses', async () => {
  const { m } = await cluster();
  await createService(m.store, spec('v1', 2));
  await until(() => running(m, 'v1').length === 2, '2 v1 running');
  // One failure among two slots is 0.5 of them, within the ratio: the update goes on to the second slot.
  await update(m, spec('broken', 2, { MaxFailureRatio: 0.5 }));
  await until(() => running(m, 'v1').length === 0, 'both slots tried');
  const s = await until(() => svc(m).UpdateStatus?.State === 'paused' && svc(m), 'paused at the second failure');
  const failed = m.store.list('tasks').filter((t) => t.Status.State === 'failed');
  assert.equal(failed.length, 2);
  assert.ok(failed.some((t) => s.UpdateStatus!.Message!.endsWith(t.ID)));
});

test('FailureAction continue: every slot is tried and the update completes', async () => {
  const { m } = await cluster();
  await createService(m.store, spec('v1', 3));
  await until(() => running(m, 'v1').length === 3, '3 v1 running');
  await update(m, spec('broken', 3, { FailureAction: 'continue' }));
  await until(() => svc(m).UpdateStatus?.State === 'completed', 'completed');
  assert.equal(m.store.list('tasks').filter((t) => t.Status.State === 'failed').length, 3);
  assert.equal(running(m, 'v1').length, 0);
});

test('a rollback that fails pauses instead of rolling back again', async () => {
  const { m, failing } = await cluster();
  await createService(m.store, spec('v1', 1, undefined, { FailureAction: 'rollback' }));
  await until(() => running(m, 'v1').length === 1, 'v1 running');
  await update(m, spec('v2', 1, undefined, { FailureAction: 'rollback' }));
  await until(() => running(m, 'v2').length === 1, 'v2 running');
  // v1 no longer starts (its image went bad, say): rolling back to it fails.
  failing.add('v1');
  const cur = svc(m);
  await updateService(m.store, cur.ID, cur.Version.Index!, undefined, true);
  const s = await until(() => svc(m).UpdateStatus?.State === 'rollback_paused' && svc(m), 'rollback paused');
  assert.match(s.UpdateStatus!.Message!, /^rollback paused due to failure or early termination of task \w+$/);
  assert.equal(s.Spec.TaskTemplate.ContainerSpec?.Image, 'v1');
});

test('a global service rolls node by node, Parallelism at a time', async () => {
  const { m, steps } = await cluster(20, ['n1', 'n2', 'n3']);
  const global = (image: string): ServiceSpec => ({ ...spec(image, 0, { Monitor: 100 * MS }), Mode: { Global: {} } });
  await createService(m.store, global('v1'));
  await until(() => running(m, 'v1').length === 3, 'v1 on every node');
  const mark = steps.length;
  await update(m, global('v2'));
  await until(() => running(m, 'v2').length === 3, 'v2 on every node');
  // Stop-first, one node at a time: each v1 task stopped only after the previous node's v2 task ran.
  const during = steps.slice(mark).map((x) => `${x.image}:${x.state}`);
  assert.deepEqual(during, ['v1:shutdown', 'v2:running', 'v1:shutdown', 'v2:running', 'v1:shutdown', 'v2:running']);
  assert.deepEqual(
    m.store
      .list('tasks')
      .filter((t) => t.Spec.ContainerSpec?.Image === 'v2')
      .map((t) => t.NodeID)
      .sort(),
    ['n1', 'n2', 'n3'],
  );
  await until(() => svc(m).UpdateStatus?.State === 'completed', 'completed');
});

test('after a pause, an update with the same task spec starts afresh (here: MaxFailureRatio 1)', async () => {
  const { m } = await cluster();
  await createService(m.store, spec('v1', 3));
  await until(() => running(m, 'v1').length === 3, '3 v1 running');
  await update(m, spec('broken', 3));
  await until(() => svc(m).UpdateStatus?.State === 'paused', 'paused');
  // Only the update config changes: the failure counted before must not pause this rollout at once.
  await update(m, spec('broken', 3, { MaxFailureRatio: 1 }));
  await until(() => svc(m).UpdateStatus?.State === 'completed', 'completed');
  assert.equal(running(m, 'v1').length, 0);
  assert.equal(m.store.list('tasks').filter((t) => t.Status.State === 'failed').length, 3);
});
