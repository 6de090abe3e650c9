// Rolling updates, after swarmkit's orchestrator/update/updater.go. swarmkit runs one updater goroutine per
// rollout; here the rollout is part of the orchestrator's pass over the store, and this file holds what a pass
// cannot read from the store: which tasks the rollout started, when each was first seen running, and which failed.
// That memory lives on the leader and is lost with leadership, as swarmkit's updater's is: a new leader carries the
// rollout on from the tasks it finds, and counts failures only among the tasks it starts itself.
import type { Service, Task, UpdateConfig } from '../types/swarm';
import { nsToMs } from '../util/time';

/** swarmkit's api/defaults: Monitor 5 s when a config leaves it out. */
const DEFAULT_MONITOR_MS = 5000;

/** An UpdateConfig (or RollbackConfig) with swarmkit's defaults filled in, in milliseconds. */
export interface RolloutConfig {
  /** Slots replaced at once; 0 means all of them. */
  parallelism: number;
  delayMs: number;
  failureAction: 'pause' | 'continue' | 'rollback';
  monitorMs: number;
  maxFailureRatio: number;
  order: 'stop-first' | 'start-first';
}

/**
 * The config that drives the service's current rollout: RollbackConfig while rolling back, UpdateConfig otherwise.
 * A service without one gets swarmkit's default (one at a time, pause on failure, monitor 5 s, stop first); a config
 * that leaves fields out gets Go's zero values, so a missing Parallelism means all at once, as in Docker's API.
 */
export function rolloutConfigOf(s: Service): RolloutConfig {
  const rollingBack = s.UpdateStatus?.State === 'rollback_started';
  const given: UpdateConfig | undefined = rollingBack ? s.Spec.RollbackConfig : s.Spec.UpdateConfig;
  if (!given) {
    return {
      parallelism: 1,
      delayMs: 0,
      failureAction: 'pause',
      monitorMs: DEFAULT_MONITOR_MS,
      maxFailureRatio: 0,
      order: 'stop-first',
    };
  }
  return {
    parallelism: given.Parallelism ?? 0,
    delayMs: nsToMs(given.Delay, 0),
    failureAction: given.FailureAction || 'pause',
    monitorMs: given.Monitor ? nsToMs(given.Monitor, DEFAULT_MONITOR_MS) : DEFAULT_MONITOR_MS,
    maxFailureRatio: given.MaxFailureRatio ?? 0,
    order: given.Order === 'start-first' ? 'start-first' : 'stop-first',
  };
}

/** A task state after running that ends a task early, as swarmkit's failure watch sees it. */
const EARLY_END = new Set<Task['Status']['State']>(['complete', 'failed', 'rejected']);

/** One rollout of one spec, as this leader has seen it. */
export class Rollout {
  /** Tasks this rollout started → when first seen running (0 while not yet). */
  private readonly started = new Map<string, number>();
  private readonly failed = new Set<string>();
  /** The task whose failure took the failures over the ratio. */
  private trigger?: string;
  /** When the newest of its tasks was first seen running. */
  lastRunningAt = 0;

  constructor(
    /** Which spec, and which direction, this rollout is of. */
    readonly key: string,
    /** Slots that needed the new spec when the rollout began: the denominator of the failure ratio. */
    readonly total: number,
  ) {}

  /** A task this rollout created. */
  adopt(taskId: string): void {
    if (!this.started.has(taskId)) this.started.set(taskId, 0);
  }

  /** When `taskId` (one of this rollout's) was first seen running, or undefined. */
  runningSince(taskId: string): number | undefined {
    return this.started.get(taskId) || undefined;
  }

  /**
   * Looks at this rollout's tasks: notes when each is first seen running and which ended early (never ran, or
   * stopped within `monitorMs` of running). Once the failures exceed `maxFailureRatio` of the slots, returns the ID of
   * the task that took them over, on this call and every later one: the orchestrator's pass that acts on it may be
   * retried, and the answer must not be lost with it.
   */
  observe(tasks: ReadonlyMap<string, Task>, cfg: RolloutConfig, now: number): string | undefined {
    for (const [id, runningAt] of this.started) {
      const t = tasks.get(id);
      if (!t) continue;
      if (t.Status.State === 'running' && runningAt === 0) {
        this.started.set(id, now);
        this.lastRunningAt = Math.max(this.lastRunningAt, now);
        continue;
      }
      if (!EARLY_END.has(t.Status.State) || this.failed.has(id)) continue;
      if (runningAt !== 0 && now - runningAt > cfg.monitorMs) continue;
      this.failed.add(id);
      if (!this.trigger && this.failed.size / Math.max(1, this.total) > cfg.maxFailureRatio) this.trigger = id;
    }
    return cfg.failureAction === 'continue' ? undefined : this.trigger;
  }

  /** Whether the failures went over the ratio: the failure action has been (or is being) taken. */
  get failedOver(): boolean {
    return this.trigger !== undefined;
  }
}

/** The key of the rollout a service is in: its task spec, and whether it is rolling back. */
export function rolloutKey(s: Service, canonicalTemplate: string): string {
  return `${s.UpdateStatus?.State === 'rollback_started' ? 'rollback' : 'update'} ${canonicalTemplate}`;
}

/**
 * What a failed rollout does to the service, as swarmkit's updater does it: pause (the rollout stops until the
 * next update), roll back to the previous spec (once: a failed rollback pauses), or carry on ('continue', which
 * never gets here). Returns the service to write, or undefined when nothing changes.
 */
export function onRolloutFailure(s: Service, cfg: RolloutConfig, taskId: string): Service | undefined {
  const rollingBack = s.UpdateStatus?.State === 'rollback_started';
  if (cfg.failureAction === 'rollback' && !rollingBack) {
    if (!s.PreviousSpec) return undefined;
    const next: Service = {
      ...s,
      Spec: s.PreviousSpec,
      UpdateStatus: {
        ...s.UpdateStatus,
        State: 'rollback_started',
        Message: `update rolled back due to failure or early termination of task ${taskId}`,
      },
    };
    delete next.PreviousSpec;
    return next;
  }
  const message =
    cfg.failureAction === 'rollback'
      ? `rollback paused due to failure or early termination of task ${taskId}`
      : `update paused due to failure or early termination of task ${taskId}`;
  return {
    ...s,
    UpdateStatus: { ...s.UpdateStatus, State: rollingBack ? 'rollback_paused' : 'paused', Message: message },
  };
}
