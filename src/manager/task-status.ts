import type { Task, TaskState } from '../types/swarm';
import { TASK_STATES } from '../types/swarm';

export const stateRank = (s: TaskState): number => TASK_STATES.indexOf(s);
export const isTerminal = (s: TaskState): boolean => stateRank(s) >= stateRank('complete');

/** A task the orchestrator still wants to run (desired ready or running). */
export const isLive = (t: Task): boolean => t.DesiredState === 'running' || t.DesiredState === 'ready';

/** A task meant to run: live, or a job's task, which runs until it completes (desired state "complete"). */
export const isWanted = (t: Task): boolean =>
  isLive(t) || (t.DesiredState === 'complete' && !isTerminal(t.Status.State));

/** Docker's canonical JSON comparison of task specs, for `_up-to-date` and rolling updates. */
export function sameTaskSpec(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with object keys sorted: equal for specs that sameTaskSpec calls the same. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([x], [y]) => (x < y ? -1 : 1)))
      : val,
  );
}
