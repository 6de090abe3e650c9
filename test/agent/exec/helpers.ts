// Shared fixtures for the executor tests: a throwaway state directory and a Task around a ContainerSpec.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { ContainerSpec, Task } from '../../../src/types/swarm';
import { ProcessExecutor } from '../../../src/agent/exec/process-executor';
import type { ProcessExecutorOptions } from '../../../src/agent/exec/process-executor';
import type { LogLine, LogOptions, TaskController } from '../../../src/agent/exec/executor';

let n = 0;

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-exec-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function executor(opts: Partial<ProcessExecutorOptions> = {}): ProcessExecutor {
  return new ProcessExecutor({ stateDir: tempDir(), ...opts });
}

export function makeTask(spec: ContainerSpec, id = `task${process.pid}x${++n}`): Task {
  const now = new Date().toISOString();
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: now,
    UpdatedAt: now,
    Labels: {},
    Spec: { ContainerSpec: spec, ForceUpdate: 0 },
    ServiceID: 'svc1',
    Slot: 1,
    NodeID: 'node1',
    Status: { Timestamp: now, State: 'assigned', Message: '', PortStatus: {} },
    DesiredState: 'running',
    Volumes: null,
  };
}

/** A controller that is shut down after the test, so a failing test leaves no process behind. */
export function controllerFor(exec: ProcessExecutor, spec: ContainerSpec, id?: string): TaskController {
  const c = exec.controller(makeTask(spec, id), 'web');
  after(() => c.shutdown());
  return c;
}

/** prepare + start + wait. */
export async function run(exec: ProcessExecutor, spec: ContainerSpec) {
  const c = controllerFor(exec, spec);
  await c.prepare();
  await c.start();
  const status = await c.wait();
  return { c, status };
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

/** Whether a process exists and is not a zombie (nothing may reap orphans in a container). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The first line a follower sees, e.g. a "ready" marker or a pid the task printed. */
export async function firstLine(c: TaskController): Promise<string> {
  for await (const l of c.logs({ follow: true })) return l.line.trim();
  throw new Error('task ended without output');
}

export const sh = (script: string): ContainerSpec => ({ Command: ['/bin/sh', '-c', script] });
export const MS = 1_000_000;

/**
 * Whether a process is gone within a short time. A process closes its files before the kernel marks
 * it dead, so a caller that saw the pipes close may briefly still find it.
 */
export async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 10));
  return !alive(pid);
}
