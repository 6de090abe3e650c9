// Fixtures for the Docker executor tests: one private dockerd per test file, tasks with fresh IDs,
// executors that are detached after the test, and controllers whose containers are removed.

import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import type { ContainerSpec, Task, TaskSpec } from '../../../../src/types/swarm';
import { DockerExecutor } from '../../../../src/agent/exec/docker/docker-executor';
import type { LogLine, LogOptions, TaskController } from '../../../../src/agent/exec/executor';
import { dockerdSkipReason, startDockerd, type PrivateDockerd } from '../../../support/dockerd';

export { TEST_IMAGE, HEALTHY_IMAGE } from '../../../support/dockerd';

/** Why this file's tests cannot run here, or undefined; pass as `{ skip }`. */
export const skip = dockerdSkipReason();

/** The test file's engine, started before its first test and stopped (with all containers) after the last. */
export function useDockerd(): { readonly engine: PrivateDockerd } {
  const holder = {} as { engine: PrivateDockerd };
  if (skip) return holder;
  before(async () => {
    holder.engine = await startDockerd();
  });
  after(async () => {
    await holder.engine?.stop();
  });
  return holder;
}

/** A swarmkit-like 25-character lowercase base36 ID. */
export function newId(): string {
  let s = '';
  for (const b of randomBytes(25)) s += (b % 36).toString(36);
  return s;
}

export interface TaskOpts {
  id?: string;
  serviceId?: string;
  nodeId?: string;
  slot?: number;
  resources?: TaskSpec['Resources'];
  labels?: Record<string, string>;
}

export function makeTask(spec: ContainerSpec, o: TaskOpts = {}): Task {
  const now = new Date().toISOString();
  return {
    ID: o.id ?? newId(),
    Version: { Index: 1 },
    CreatedAt: now,
    UpdatedAt: now,
    Labels: o.labels ?? {},
    Spec: { ContainerSpec: spec, ForceUpdate: 0, ...(o.resources ? { Resources: o.resources } : {}) },
    ServiceID: o.serviceId ?? 'svc' + newId().slice(0, 10),
    Slot: o.slot ?? 1,
    NodeID: o.nodeId ?? 'node' + newId().slice(0, 10),
    Status: { Timestamp: now, State: 'assigned', Message: '', PortStatus: {} },
    DesiredState: 'running',
    Volumes: null,
  };
}

/** An initialised executor on the engine, detached (connections closed, containers left) after the test. */
export async function dockerExecutor(engine: PrivateDockerd): Promise<DockerExecutor> {
  const ex = new DockerExecutor({ dockerHost: engine.host });
  await ex.init();
  after(() => ex.detach());
  return ex;
}

/** A controller whose container is removed after the test, pass or fail. */
export function controllerFor(ex: DockerExecutor, task: Task, serviceName = 'web'): TaskController {
  const c = ex.controller(task, serviceName);
  after(() => c.remove().catch(() => undefined));
  return c;
}

export async function collect(c: TaskController, opts: LogOptions = {}): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of c.logs(opts)) out.push(l);
  return out;
}

export function text(lines: LogLine[], stream?: 'stdout' | 'stderr'): string {
  return lines
    .filter((l) => !stream || l.stream === stream)
    .map((l) => l.line)
    .join('');
}

export const sh = (script: string, extra: ContainerSpec = {}): ContainerSpec => ({
  Image: 'shoal-test/busybox:latest',
  Command: ['sh', '-c', script],
  ...extra,
});

export const MS = 1_000_000;
export const S = 1_000_000_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** docker inspect of one object, parsed. */
export function inspect<T = Record<string, unknown>>(engine: PrivateDockerd, ref: string): T {
  return (JSON.parse(engine.mustDocker(['inspect', ref])) as T[])[0];
}
