import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Manager } from '../../src/manager/manager';
import { managerWith, testNode, until } from './fixtures';
import { createService, updateService } from '../../src/manager/controlapi/services';
import type { Node, ServiceSpec, Task } from '../../src/types/swarm';

// The orchestrator and scheduler on a real store, with the agent's part played by the test:
// it sets task states as an agent would report them.

const node = (id: string, labels: Record<string, string> = {}) => testNode(id, { labels });

const spec = (name: string, replicas: number, extra: Partial<ServiceSpec['TaskTemplate']> = {}): ServiceSpec => ({
  Name: name,
  Labels: {},
  TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '1'] }, ForceUpdate: 0, ...extra },
  Mode: { Replicated: { Replicas: replicas } },
});

async function setup(nodes: Node[]) {
  const m = await managerWith(nodes);
  m.start();
  return m;
}

const tasksOf = (m: Manager, serviceId: string) => m.store.list('tasks').filter((t) => t.ServiceID === serviceId);
const live = (ts: Task[]) => ts.filter((t) => t.DesiredState === 'running');

async function setState(m: Manager, id: string, state: Task['Status']['State']) {
  await m.store.retryUpdate((tx) => {
    const t = tx.get('tasks', id)!;
    tx.update('tasks', { ...t, Status: { ...t.Status, State: state } });
  });
}

test('replicas are spread over nodes, one slot each', async () => {
  const m = await setup([node('n1'), node('n2')]);
  const s = await createService(m.store, spec('web', 4));
  const ts = await until(() => {
    const t = tasksOf(m, s.ID);
    return t.length === 4 && t.every((x) => x.Status.State === 'assigned') && t;
  }, '4 assigned tasks');
  assert.deepEqual(ts.map((t) => t.Slot).sort(), [1, 2, 3, 4]);
  assert.equal(ts.filter((t) => t.NodeID === 'n1').length, 2);
  assert.equal(ts.filter((t) => t.NodeID === 'n2').length, 2);
});

test('scaling down shuts down the highest slots', async () => {
  const m = await setup([node('n1')]);
  const s = await createService(m.store, spec('web', 3));
  await until(() => tasksOf(m, s.ID).length === 3, '3 tasks');
  const cur = m.store.get('services', s.ID)!;
  await updateService(m.store, s.ID, cur.Version.Index!, { ...cur.Spec, Mode: { Replicated: { Replicas: 1 } } }, false);
  const ts = await until(() => live(tasksOf(m, s.ID)).length === 1 && tasksOf(m, s.ID), 'one live task');
  assert.deepEqual(
    live(ts).map((t) => t.Slot),
    [1],
  );
});

test('a failed task is replaced in the same slot under the restart policy', async () => {
  const m = await setup([node('n1')]);
  const s = await createService(m.store, spec('web', 1, { RestartPolicy: { Condition: 'on-failure', Delay: 0 } }));
  const [t] = await until(() => tasksOf(m, s.ID).length === 1 && tasksOf(m, s.ID), 'a task');
  await setState(m, t.ID, 'running');
  await setState(m, t.ID, 'failed');
  const next = await until(() => live(tasksOf(m, s.ID)).find((x) => x.ID !== t.ID), 'a replacement');
  assert.equal(next.Slot, 1);
  assert.equal(m.store.get('tasks', t.ID)!.DesiredState, 'shutdown');
  // on-failure: a task that completes is not restarted.
  await setState(m, next.ID, 'running');
  await setState(m, next.ID, 'complete');
  await until(() => m.store.get('tasks', next.ID)!.DesiredState === 'complete', 'the slot to stay complete');
  assert.equal(live(tasksOf(m, s.ID)).length, 0);
});

test("constraints that no node meets leave the task pending with docker's explanation", async () => {
  const m = await setup([node('n1', { zone: 'a' })]);
  const s = await createService(m.store, spec('web', 1, { Placement: { Constraints: ['node.labels.zone==b'] } }));
  const t = await until(() => tasksOf(m, s.ID).find((x) => x.Status.Err), 'a scheduling error');
  assert.equal(t.Status.State, 'pending');
  assert.equal(t.Status.Err, 'no suitable node (scheduling constraints not satisfied on 1 node)');
});

test('draining a node moves its tasks to the others', async () => {
  const m = await setup([node('n1'), node('n2')]);
  const s = await createService(m.store, spec('web', 2));
  await until(() => tasksOf(m, s.ID).filter((t) => t.Status.State === 'assigned').length === 2, 'assigned');
  for (const t of tasksOf(m, s.ID)) await setState(m, t.ID, 'running');
  const n1 = m.store.get('nodes', 'n1')!;
  await m.store.update((tx) => tx.update('nodes', { ...n1, Spec: { ...n1.Spec, Availability: 'drain' } }));
  const onN1 = tasksOf(m, s.ID).filter((t) => t.NodeID === 'n1');
  await until(() => onN1.every((t) => m.store.get('tasks', t.ID)!.DesiredState === 'shutdown'), 'n1 tasks shut down');
  for (const t of onN1) await setState(m, t.ID, 'shutdown');
  await until(() => {
    const l = live(tasksOf(m, s.ID));
    return l.length === 2 && l.every((t) => t.NodeID === 'n2');
  }, 'both on n2');
});
