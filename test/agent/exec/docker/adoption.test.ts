// An agent that starts over an engine that still runs its tasks' containers (a restarted daemon)
// adopts them instead of starting others, and reconciles: running tasks keep running, unwanted
// ones are stopped, and containers whose task is gone are removed. Also: an engine restart fails
// the tasks, which is what lets the orchestrator replace them; and with the process executor, which
// cannot adopt, a task that was running is failed so that it is replaced.

import { after, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Agent } from '../../../../src/agent/agent';
import { Dispatcher } from '../../../../src/dispatcher/dispatcher';
import { MemoryStore } from '../../../../src/store/memory-store';
import { SingleMemberLog } from '../../../../src/log/single-member-log';
import { MemoryStorage } from '../../../../src/log/memory-storage';
import type { Task, TaskState } from '../../../../src/types/swarm';
import { DockerExecutor } from '../../../../src/agent/exec/docker/docker-executor';
import { ProcessExecutor } from '../../../../src/agent/exec/process-executor';
import { inspect, makeTask, newId, sh, skip, sleep, useDockerd } from './helpers';
import type { PrivateDockerd } from '../../../support/dockerd';

const d = useDockerd();

async function freshStore(): Promise<MemoryStore> {
  const store = new MemoryStore();
  store.attach(await SingleMemberLog.open(store, { storage: new MemoryStorage() }));
  return store;
}

/** A node with a store, a dispatcher and an agent over a fresh Docker executor. */
class Node {
  executor!: DockerExecutor;
  agent!: Agent;
  readonly dispatcher: Dispatcher;

  constructor(
    readonly store: MemoryStore,
    readonly nodeId: string,
    private readonly engine: PrivateDockerd,
  ) {
    this.dispatcher = new Dispatcher(store);
  }

  async startAgent(): Promise<void> {
    this.executor = new DockerExecutor({ dockerHost: this.engine.host });
    await this.executor.init();
    this.agent = new Agent(this.nodeId, this.dispatcher, this.executor, () => 'svc');
    this.agent.start();
  }

  /** What the daemon does on SIGTERM: the executor detaches, then the agent stops. */
  async exitDaemon(): Promise<void> {
    this.executor.detach();
    await this.agent.stop();
  }

  task(id: string): Task {
    return this.store.get('tasks', id)!;
  }

  async until(id: string, state: TaskState, ms = 20_000): Promise<Task> {
    const end = Date.now() + ms;
    for (;;) {
      const t = this.task(id);
      if (t?.Status.State === state) return t;
      if (Date.now() > end) throw new Error(`task ${id} is ${t?.Status.State} (${t?.Status.Err ?? ''}), not ${state}`);
      await sleep(50);
    }
  }

  async setDesired(id: string, desired: TaskState): Promise<void> {
    await this.store.retryUpdate((tx) => {
      const t = tx.get('tasks', id)!;
      tx.update('tasks', { ...t, DesiredState: desired });
    });
  }
}

function containerOf(t: Task): string {
  return t.Status.ContainerStatus?.ContainerID ?? '';
}

interface State {
  State: { Status: string; StartedAt: string; Pid: number };
}

test('a restarted agent adopts running containers and reconciles the rest', { skip }, async () => {
  const store = await freshStore();
  const nodeId = newId();
  const node = new Node(store, nodeId, d.engine);
  const spec = sh('sleep 600', { Init: true });
  const [keep, stop, gone, diedAway, lost, history] = Array.from({ length: 6 }, (_, i) =>
    makeTask(spec, { nodeId, serviceId: 'svc1', slot: i + 1 }),
  );
  await store.update((tx) => {
    for (const t of [keep, stop, gone, diedAway, lost, history]) tx.create('tasks', t);
  });
  await node.startAgent();
  const running = new Map<string, Task>();
  for (const t of [keep, stop, gone, diedAway, lost, history]) running.set(t.ID, await node.until(t.ID, 'running'));
  const keepId = containerOf(running.get(keep.ID)!);
  assert.match(keepId, /^[0-9a-f]{64}$/);
  const before = inspect<State>(d.engine, keepId).State;

  // A finished task in history keeps its (stopped) container.
  await node.setDesired(history.ID, 'shutdown');
  await node.until(history.ID, 'shutdown');

  // The daemon exits: the containers keep running.
  await node.exitDaemon();
  for (const t of [keep, stop, gone, diedAway, lost]) {
    assert.equal(inspect<State>(d.engine, containerOf(running.get(t.ID)!)).State.Status, 'running', t.ID);
  }

  // While it is away: one task is no longer wanted, one is deleted with its service, one container
  // dies, one is removed by hand.
  await node.setDesired(stop.ID, 'shutdown');
  await store.update((tx) => tx.delete('tasks', gone.ID));
  d.engine.mustDocker(['kill', containerOf(running.get(diedAway.ID)!)]);
  d.engine.mustDocker(['rm', '-f', containerOf(running.get(lost.ID)!)]);

  await node.startAgent();
  await node.until(stop.ID, 'shutdown');
  const died = await node.until(diedAway.ID, 'failed');
  assert.equal(died.Status.Err, 'task: non-zero exit (137)');
  const lostTask = await node.until(lost.ID, 'failed');
  assert.equal(lostTask.Status.Err, 'dockerexec: container destroyed');

  // Adopted: the same container, never restarted, still reported as it was.
  const after = inspect<State>(d.engine, keepId).State;
  assert.equal(after.Status, 'running');
  assert.equal(after.StartedAt, before.StartedAt);
  assert.equal(after.Pid, before.Pid);
  assert.deepEqual(node.task(keep.ID).Status, running.get(keep.ID)!.Status);
  assert.equal(d.engine.mustDocker(['ps', '-aq', '--filter', `label=com.docker.swarm.task.id=${keep.ID}`]).length, 12);

  // The container of the deleted task is removed; the stopped one and the history one stay until their task goes.
  for (let i = 0; i < 100 && d.engine.docker(['inspect', containerOf(running.get(gone.ID)!)]).code === 0; i++)
    await sleep(100);
  assert.notEqual(d.engine.docker(['inspect', containerOf(running.get(gone.ID)!)]).code, 0);
  assert.equal(inspect<State>(d.engine, containerOf(running.get(stop.ID)!)).State.Status, 'exited');
  assert.equal(inspect<State>(d.engine, containerOf(running.get(history.ID)!)).State.Status, 'exited');

  // The adopted container is watched: its exit is reported.
  d.engine.mustDocker(['kill', keepId]);
  assert.equal((await node.until(keep.ID, 'failed')).Status.Err, 'task: non-zero exit (137)');

  // History leaving the store takes its container with it.
  await store.update((tx) => tx.delete('tasks', history.ID));
  for (let i = 0; i < 100 && d.engine.docker(['inspect', containerOf(running.get(history.ID)!)]).code === 0; i++)
    await sleep(100);
  assert.notEqual(d.engine.docker(['inspect', containerOf(running.get(history.ID)!)]).code, 0);

  node.executor.detach();
  await node.agent.stop();
});

test('a container of another node on the same engine is left alone', { skip }, async () => {
  const store = await freshStore();
  const mine = new Node(store, newId(), d.engine);
  const other = makeTask(sh('sleep 600'), { nodeId: newId() });
  const otherEx = new DockerExecutor({ dockerHost: d.engine.host });
  await otherEx.init();
  const c = otherEx.controller(other, 'other');
  await c.prepare();
  const { containerId } = await c.start();
  otherEx.detach();

  await mine.startAgent();
  await sleep(500);
  assert.equal(inspect<State>(d.engine, containerId!).State.Status, 'running');
  mine.executor.detach();
  await mine.agent.stop();
  d.engine.mustDocker(['rm', '-f', containerId!]);
});

test('leaving (no detach) stops the containers', { skip }, async () => {
  const store = await freshStore();
  const nodeId = newId();
  const node = new Node(store, nodeId, d.engine);
  const t = makeTask(sh('sleep 600', { Init: true }), { nodeId });
  await store.update((tx) => tx.create('tasks', t));
  await node.startAgent();
  const id = containerOf(await node.until(t.ID, 'running'));
  await node.agent.stop();
  assert.equal(inspect<State>(d.engine, id).State.Status, 'exited');
  node.executor.detach();
});

test('an engine restart fails the running tasks, with their exit code', { skip }, async () => {
  const store = await freshStore();
  const nodeId = newId();
  const node = new Node(store, nodeId, d.engine);
  const t = makeTask(sh('sleep 600', { Init: true }), { nodeId });
  await store.update((tx) => tx.create('tasks', t));
  await node.startAgent();
  await node.until(t.ID, 'running');
  await d.engine.halt();
  await d.engine.start();
  const failed = await node.until(t.ID, 'failed', 30_000);
  assert.match(failed.Status.Err ?? '', /^task: non-zero exit \(\d+\)$/);
  // The event stream came back too: a new task with a healthcheck still becomes healthy.
  const h = makeTask(sh('sleep 600', { Init: true, Healthcheck: { Test: ['CMD', 'true'], Interval: 200_000_000 } }), {
    nodeId,
    slot: 2,
  });
  await store.update((tx) => tx.create('tasks', h));
  await node.until(h.ID, 'running');
  node.executor.detach();
  await node.agent.stop();
});

test('with the process executor, which adopts nothing, a task that was running before the restart fails and one not yet started starts', async () => {
  const store = await freshStore();
  const nodeId = newId();
  const dispatcher = new Dispatcher(store);
  const dir = mkdtempSync(join(tmpdir(), 'shoal-adopt-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ex = new ProcessExecutor({ stateDir: dir });
  await ex.init();
  const at = (state: TaskState) => {
    const t = makeTask({ Command: ['sleep', '60'], StopGracePeriod: 0 }, { nodeId });
    t.Status = { ...t.Status, State: state };
    return t;
  };
  const wasRunning = at('running');
  const wasPreparing = at('preparing');
  const done = at('complete');
  await store.update((tx) => {
    for (const t of [wasRunning, wasPreparing, done]) tx.create('tasks', t);
  });
  const agent = new Agent(nodeId, dispatcher, ex, () => 'svc');
  agent.start();
  const get = (id: string) => store.get('tasks', id)!;
  for (
    let i = 0;
    i < 200 && (get(wasRunning.ID).Status.State !== 'failed' || get(wasPreparing.ID).Status.State !== 'running');
    i++
  )
    await sleep(25);
  assert.equal(get(wasRunning.ID).Status.State, 'failed');
  assert.equal(get(wasRunning.ID).Status.Err, ex.lostTaskError);
  assert.equal(get(wasPreparing.ID).Status.State, 'running');
  assert.equal(get(done.ID).Status.State, 'complete');
  await agent.stop();
});
