// Waiting for a service to converge after create/update/scale, as docker's
// service/progress.ServiceProgress does (reference §5.3): every 200 ms GET the service, its
// up-to-date tasks and the nodes; draw per-slot (or per-node) progress; once converged, wait the
// update monitor period (Spec.UpdateConfig.Monitor, else 5 s) to verify the tasks stay up.
// Output goes through a port of docker's jsonmessage display: bars redrawn in place on a TTY,
// plain status lines otherwise.
import type { Task, TaskState } from '../types/swarm';
import type { ShoalClient } from '../client/shoal-client';
import type { ServiceWithJob, TaskWithJob } from '../client/system-types';
import { CliError } from './errors';
import { truncateId } from './format/display';

const NUMBERED_STATES: Partial<Record<TaskState, number>> = {
  new: 1,
  allocated: 2,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  complete: 10,
  shutdown: 11,
  failed: 12,
  rejected: 13,
};
const state = (s: TaskState | undefined): number => (s ? (NUMBERED_STATES[s] ?? 0) : 0);
const terminal = (s: TaskState | undefined): boolean => state(s) > NUMBERED_STATES.running!;
/** Width of the longest non-terminal state name (plus "complete", for jobs): "preparing". */
const LONGEST_STATE = 9;
const MAX_PROGRESS = 9;
const MAX_PROGRESS_BARS = 20;
const MAX_JOB_PROGRESS = 10;
const POLL_MS = 200;
const DEFAULT_MONITOR_NS = 5e9;

export interface Progress {
  id: string;
  action: string;
  current?: number;
  total?: number;
  /** Shown counts ("2/3 nodes"); without units the counts are hidden (docker's HideCounts). */
  units?: string;
}

/** Where progress goes: docker's JSONMessage stream, rendered straight away. */
export interface ProgressOutput {
  progress(p: Progress): void;
  message(text: string): void;
}

/** docker's jsonmessage.DisplayJSONMessagesStream for progress messages. */
export class ProgressDisplay implements ProgressOutput {
  private ids = new Map<string, number>();

  constructor(
    private readonly out: { write(s: string): unknown; isTTY?: boolean; columns?: number },
    private readonly isTerminal = Boolean(out.isTTY),
  ) {}

  /** JSONProgress.String for the fields progress uses (no byte sizes, no start time). */
  private bar(p: Progress): string {
    const current = p.current ?? 0;
    const total = p.total ?? 0;
    if (current <= 0 && total <= 0) return '';
    if (total <= 0) return p.units ? `${current} ${p.units}` : `${current}`;
    const width = this.out.columns ?? 200;
    const pct = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
    const box = width > 110 ? `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] ` : '';
    if (!p.units) return box;
    return box + (current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`);
  }

  progress(p: Progress): void {
    const hasBar = (p.current ?? 0) > 0 || (p.total ?? 0) > 0;
    if (!this.isTerminal) {
      if (hasBar) return; // bars are not shown without a terminal
      this.out.write(`${p.id ? `${p.id}: ` : ''}${p.action}\n`);
      return;
    }
    let diff = 0;
    if (p.id) {
      let line = this.ids.get(p.id);
      if (line === undefined) {
        line = this.ids.size;
        this.ids.set(p.id, line);
        this.out.write('\n');
      }
      diff = this.ids.size - line;
      this.out.write(`\x1b[${diff}A`);
    }
    this.out.write(`\x1b[2K\r${p.id ? `${p.id}: ` : ''}${p.action} ${this.bar(p)}\r`);
    if (p.id) this.out.write(`\x1b[${diff}B`);
  }

  message(text: string): void {
    this.ids = new Map();
    this.out.write(`${text}\n`);
  }
}

const QUIET_OUTPUT: ProgressOutput = { progress: () => undefined, message: () => undefined };

interface Updater {
  update(service: ServiceWithJob, tasks: TaskWithJob[], activeNodes: Set<string>, rollback: boolean): boolean;
}

function writeOverall(out: ProgressOutput, n: number, d: number, rollback: boolean): void {
  out.progress({
    id: 'overall progress',
    action: rollback ? `rolling back update: ${n} out of ${d} tasks` : `${n} out of ${d} tasks`,
  });
}

/** Errors on one line, at most 75 characters. */
function truncError(msg: string): string {
  const one = msg.replace(/\n/g, ' ');
  return one.length > 75 ? one.slice(0, 74) + '…' : one;
}

/** Picks, per key, the task with the lowest desired state, ties broken by the lowest observed state. */
function lowestPerKey<K>(tasks: Task[], key: (t: Task) => K, skip: (t: Task) => boolean = () => false): Map<K, Task> {
  const out = new Map<K, Task>();
  for (const t of tasks) {
    if (state(t.DesiredState) === 0 || state(t.Status?.State) === 0) continue;
    const existing = out.get(key(t));
    if (existing) {
      if (state(existing.DesiredState) < state(t.DesiredState)) continue;
      if (
        state(existing.DesiredState) === state(t.DesiredState) &&
        state(existing.Status.State) <= state(t.Status.State)
      )
        continue;
    }
    if (skip(t)) continue;
    out.set(key(t), t);
  }
  return out;
}

class ReplicatedUpdater implements Updater {
  private slotMap = new Map<number, number>();
  private initialized = false;
  private done = false;
  constructor(private readonly out: ProgressOutput) {}

  update(service: ServiceWithJob, tasks: TaskWithJob[], active: Set<string>, rollback: boolean): boolean {
    const replicas = service.Spec.Mode?.Replicated?.Replicas;
    if (replicas === undefined) throw new CliError('no replica count');
    if (!this.initialized) {
      writeOverall(this.out, 0, replicas, rollback);
      if (replicas <= MAX_PROGRESS_BARS)
        for (let i = 1; i <= replicas; i++) this.out.progress({ id: `${i}/${replicas}`, action: ' ' });
      this.initialized = true;
    }
    const bySlot = lowestPerKey(
      tasks,
      (t) => t.Slot,
      (t) => t.NodeID !== '' && !active.has(t.NodeID),
    );
    if (this.done && [...bySlot.values()].some((t) => t.Status.State !== 'running')) this.done = false;
    let running = 0;
    for (const t of bySlot.values()) {
      let mapped = this.slotMap.get(t.Slot);
      if (mapped === undefined) {
        mapped = this.slotMap.size + 1;
        this.slotMap.set(t.Slot, mapped);
      }
      if (!terminal(t.DesiredState) && t.Status.State === 'running') running++;
      if (this.done || replicas > MAX_PROGRESS_BARS || mapped > replicas) continue;
      const id = `${mapped}/${replicas}`;
      if (t.Status.Err) this.out.progress({ id, action: truncError(t.Status.Err) });
      else if (!terminal(t.DesiredState) && !terminal(t.Status.State)) {
        this.out.progress({
          id,
          action: t.Status.State.padEnd(LONGEST_STATE),
          current: state(t.Status.State),
          total: MAX_PROGRESS,
        });
      }
    }
    if (!this.done) {
      writeOverall(this.out, running, replicas, rollback);
      if (running === replicas) this.done = true;
    }
    return running === replicas;
  }
}

class GlobalUpdater implements Updater {
  private initialized = false;
  private done = false;
  constructor(private readonly out: ProgressOutput) {}

  update(_service: ServiceWithJob, tasks: TaskWithJob[], active: Set<string>, rollback: boolean): boolean {
    const byNode = lowestPerKey(tasks, (t) => t.NodeID);
    const nodeCount = byNode.size;
    if (!this.initialized) {
      if (nodeCount === 0) {
        this.out.progress({ id: 'overall progress', action: 'waiting for new tasks' });
        return false;
      }
      writeOverall(this.out, 0, nodeCount, rollback);
      this.initialized = true;
    }
    if (this.done && [...byNode.values()].some((t) => t.Status.State !== 'running')) this.done = false;
    let running = 0;
    for (const t of byNode.values()) {
      if (!active.has(t.NodeID)) continue;
      if (!terminal(t.DesiredState) && t.Status.State === 'running') running++;
      if (this.done || nodeCount > MAX_PROGRESS_BARS) continue;
      const id = truncateId(t.NodeID);
      if (t.Status.Err) this.out.progress({ id, action: truncError(t.Status.Err) });
      else if (!terminal(t.DesiredState) && !terminal(t.Status.State)) {
        this.out.progress({
          id,
          action: t.Status.State.padEnd(LONGEST_STATE),
          current: state(t.Status.State),
          total: MAX_PROGRESS,
        });
      }
    }
    if (!this.done) {
      writeOverall(this.out, running, nodeCount, rollback);
      if (running === nodeCount) this.done = true;
    }
    return running === nodeCount;
  }
}

class ReplicatedJobUpdater implements Updater {
  private initialized = false;
  private readonly concurrent: number;
  private readonly total: number;
  private readonly iteration: number;
  constructor(
    private readonly out: ProgressOutput,
    service: ServiceWithJob,
  ) {
    this.concurrent = service.Spec.Mode?.ReplicatedJob?.MaxConcurrent ?? 1;
    this.total = service.Spec.Mode?.ReplicatedJob?.TotalCompletions ?? this.concurrent;
    this.iteration = service.JobStatus?.JobIteration?.Index ?? 0;
  }

  private overall(active: number, completed: number): void {
    const digits = String(this.total).length;
    this.out.progress({
      id: 'job progress',
      action: `${String(completed).padStart(digits)} out of ${this.total} complete`,
      current: completed,
      total: this.total,
    });
    const desired = Math.min(this.total - completed, this.concurrent);
    const aDigits = String(this.concurrent).length;
    this.out.progress({
      id: 'active tasks',
      action: `${String(active).padStart(aDigits)} out of ${String(desired).padStart(aDigits)} tasks`,
    });
  }

  update(_service: ServiceWithJob, tasks: TaskWithJob[]): boolean {
    if (!this.initialized) {
      this.overall(0, 0);
      if (this.total <= MAX_PROGRESS_BARS)
        for (let i = 1; i <= this.total; i++) this.out.progress({ id: `${i}/${this.total}`, action: ' ' });
      this.initialized = true;
    }
    const bySlot = new Map<number, Task>();
    for (const t of tasks) {
      if (t.JobIteration?.Index !== this.iteration) continue;
      if (state(t.DesiredState) === 0 || state(t.Status?.State) === 0) continue;
      const existing = bySlot.get(t.Slot);
      if (!existing || state(existing.Status.State) > state(t.Status.State)) bySlot.set(t.Slot, t);
    }
    let active = 0;
    let complete = 0;
    for (let i = 0; i < bySlot.size; i++) {
      const t = bySlot.get(i);
      if (!t) continue;
      if (this.total <= MAX_PROGRESS_BARS) {
        const id = `${t.Slot + 1}/${this.total}`;
        if (t.Status.Err) this.out.progress({ id, action: truncError(t.Status.Err) });
        else
          this.out.progress({
            id,
            action: t.Status.State.padEnd(LONGEST_STATE),
            current: state(t.Status.State),
            total: MAX_JOB_PROGRESS,
          });
      }
      if (state(t.Status.State) < NUMBERED_STATES.complete!) active++;
      if (t.Status.State === 'complete') complete++;
    }
    this.overall(active, complete);
    return complete === this.total;
  }
}

class GlobalJobUpdater implements Updater {
  private initialized = false;
  private total = 0;
  private taskNodes = new Set<string>();
  constructor(private readonly out: ProgressOutput) {}

  private overall(complete: number): void {
    this.out.progress({
      id: 'job progress',
      action: `${String(complete).padStart(String(this.total).length)} out of ${this.total} complete`,
      current: complete,
      total: this.total,
    });
  }

  update(service: ServiceWithJob, tasks: TaskWithJob[], active: Set<string>): boolean {
    const iteration = service.JobStatus?.JobIteration?.Index ?? 0;
    if (!this.initialized) {
      if (tasks.length === 0 && active.size !== 0) {
        this.out.progress({ id: 'job progress', action: 'waiting for tasks' });
        return false;
      }
      for (const t of tasks) if (t.JobIteration?.Index === iteration) this.taskNodes.add(t.NodeID);
      this.total = this.taskNodes.size;
      this.overall(0);
      this.initialized = true;
    }
    const byNode = new Map<string, Task>();
    for (const t of tasks) {
      if (t.JobIteration?.Index !== iteration || !this.taskNodes.has(t.NodeID)) continue;
      const old = byNode.get(t.NodeID);
      if (!old || state(old.Status.State) > state(t.Status.State)) byNode.set(t.NodeID, t);
    }
    let complete = 0;
    for (const t of byNode.values()) {
      if (this.total <= MAX_PROGRESS_BARS) {
        if (t.Status.Err) this.out.progress({ id: t.NodeID, action: truncError(t.Status.Err) });
        else
          this.out.progress({
            id: t.NodeID,
            action: t.Status.State.padEnd(LONGEST_STATE),
            current: state(t.Status.State),
            total: MAX_JOB_PROGRESS,
          });
      }
      if (t.Status.State === 'complete') complete++;
    }
    this.overall(complete);
    return complete === this.total;
  }
}

function initializeUpdater(service: ServiceWithJob, out: ProgressOutput): Updater {
  const mode = service.Spec.Mode ?? {};
  if (mode.Replicated?.Replicas !== undefined) return new ReplicatedUpdater(out);
  if (mode.Global) return new GlobalUpdater(out);
  if (mode.ReplicatedJob) return new ReplicatedJobUpdater(out, service);
  if (mode.GlobalJob) return new GlobalJobUpdater(out);
  throw new CliError('unrecognized service mode');
}

export interface WaitOptions {
  quiet?: boolean;
  out?: ProgressOutput;
  /** Poll interval; tests shorten it. */
  pollMs?: number;
}

/** Resolves when the service converged (or the user pressed Ctrl-C); rejects on a paused update. */
export async function waitOnService(client: ShoalClient, serviceRef: string, opts: WaitOptions = {}): Promise<void> {
  const out = opts.quiet ? QUIET_OUTPUT : (opts.out ?? new ProgressDisplay(process.stdout));
  const pollMs = opts.pollMs ?? POLL_MS;
  let interrupted = false;
  let wake: (() => void) | undefined;
  const onSigint = (): void => {
    interrupted = true;
    wake?.();
  };
  process.once('SIGINT', onSigint);
  try {
    let updater: Updater | undefined;
    let converged = false;
    let convergedAt: number | undefined;
    let monitorMs = DEFAULT_MONITOR_NS / 1e6;
    let rollback = false;
    let rollbackMessage: string | undefined;

    for (;;) {
      const service = await client.serviceInspect(serviceRef);
      const monitorNs = service.Spec.UpdateConfig?.Monitor;
      if (monitorNs) monitorMs = monitorNs / 1e6;
      updater ??= initializeUpdater(service, out);

      const status = service.UpdateStatus;
      switch (status?.State) {
        case 'updating':
          rollback = false;
          break;
        case 'completed':
          if (!converged) return;
          break;
        case 'paused':
          throw new CliError(`service update paused: ${status.Message ?? ''}`);
        case 'rollback_started':
          if (!rollback && status.Message) out.progress({ id: 'rollback', action: status.Message });
          rollback = true;
          break;
        case 'rollback_paused':
          throw new CliError(`service rollback paused: ${status.Message ?? ''}`);
        case 'rollback_completed':
          if (!converged) rollbackMessage = status.Message;
          rollback = true;
          break;
      }
      if (converged && convergedAt !== undefined && performance.now() - convergedAt >= monitorMs) {
        out.progress({ id: 'verify', action: `Service ${serviceRef} converged` });
        if (rollbackMessage !== undefined) out.progress({ id: 'rollback', action: rollbackMessage });
        return;
      }

      const tasks = await client.taskList({ service: [service.ID], '_up-to-date': ['true'] });
      const nodes = await client.nodeList();
      const active = new Set(nodes.filter((n) => n.Status?.State !== 'down').map((n) => n.ID));

      converged = updater.update(service, tasks, active, rollback);
      if (converged) {
        if (service.JobStatus) {
          out.message('job complete');
          return;
        }
        convergedAt ??= performance.now();
        const waitMs = monitorMs - (performance.now() - convergedAt);
        if (waitMs >= 0) {
          out.progress({
            id: 'verify',
            action: `Waiting ${Math.trunc(waitMs / 1000) + 1} seconds to verify that tasks are stable...`,
          });
        }
      } else {
        if (convergedAt !== undefined) out.progress({ id: 'verify', action: 'Detected task failure' });
        convergedAt = undefined;
      }

      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (interrupted) {
        if (!converged) {
          out.message('Operation continuing in background.');
          out.message(`Use \`shoal service ps ${serviceRef}\` to check progress.`);
        }
        return;
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
