// Job modes, after swarmkit's orchestrator/jobs/{replicated,global}/reconciler.go. A job's tasks run to completion
// (desired state "complete") instead of being kept running. Each update of a job service starts a new iteration
// (JobStatus.JobIteration); the tasks of earlier iterations are stopped and removed, and the new iteration runs
// from the start.
import type { WriteTx } from '../store/memory-store';
import type { Node, Service, Task } from '../types/swarm';
import { isTerminal, stateRank } from '../manager/task-status';
import { nodeEligible } from '../scheduler/constraints';
import { newTask } from './new-task';

/**
 * For a job task that has not completed: whether its slot is still under way. A task that ended without completing
 * is replaced as the restart policy allows (true), or left as it is when the policy says no more (false).
 */
export type JobRestart = (tx: WriteTx, s: Service, t: Task) => boolean;

export function iterationOf(s: Service): number {
  return s.JobStatus?.JobIteration.Index ?? 0;
}

/** A new task of the service's current iteration, to run to completion. */
export function newJobTask(s: Service, slot: number, nodeId = ''): Task {
  return { ...newTask(s, slot, nodeId, 'running'), DesiredState: 'complete', JobIteration: { Index: iterationOf(s) } };
}

/** Whether the orchestrator still means `t` to run or to have run (not replaced, stopped or removed). */
const wanted = (t: Task) => t.DesiredState === 'complete' || t.DesiredState === 'ready';

/**
 * Tasks of an earlier iteration: one still under way is told to go, one that is over is deleted, so that a job's
 * tasks and its `service ps` are those of its current run.
 */
function retire(tx: WriteTx, t: Task): void {
  if (isTerminal(t.Status.State) || stateRank(t.Status.State) < stateRank('assigned')) tx.delete('tasks', t.ID);
  else if (t.DesiredState !== 'remove') tx.update('tasks', { ...t, DesiredState: 'remove' });
}

/**
 * replicated-job: `TotalCompletions` tasks must complete, at most `MaxConcurrent` at a time. Slots are 0-based, as
 * swarmkit numbers a job's; a slot whose task completed is done, and a failed task is restarted in its slot as the
 * restart policy allows (a task that may not restart keeps its slot: the job does not complete).
 */
export function reconcileReplicatedJob(tx: WriteTx, s: Service, tasks: Task[], restart: JobRestart): void {
  const iteration = iterationOf(s);
  const total = s.Spec.Mode?.ReplicatedJob?.TotalCompletions ?? 1;
  const concurrent = s.Spec.Mode?.ReplicatedJob?.MaxConcurrent ?? 1;
  let running = 0;
  let complete = 0;
  const taken = new Set<number>();
  for (const t of tasks) {
    if (t.JobIteration?.Index !== iteration) {
      retire(tx, t);
      continue;
    }
    if (t.Status.State === 'complete') {
      complete++;
      taken.add(t.Slot);
      continue;
    }
    if (!wanted(t)) continue;
    taken.add(t.Slot);
    if (restart(tx, s, t)) running++;
  }
  let create = Math.min(concurrent - running, total - complete - running);
  for (let slot = 0; create > 0 && slot < total; slot++) {
    if (taken.has(slot)) continue;
    tx.create('tasks', newJobTask(s, slot));
    taken.add(slot);
    create--;
  }
}

/**
 * global-job: one task per eligible node (active, ready, meeting the constraints), once per iteration; a node that
 * joins later runs it too. A task on a node that went down or was drained is shut down.
 */
export function reconcileGlobalJob(tx: WriteTx, s: Service, tasks: Task[], nodes: Node[], restart: JobRestart): void {
  const iteration = iterationOf(s);
  const covered = new Set<string>();
  const byId = new Map(nodes.map((n) => [n.ID, n]));
  for (const t of tasks) {
    if (t.JobIteration?.Index !== iteration) {
      retire(tx, t);
      continue;
    }
    if (t.Status.State !== 'complete' && !wanted(t)) continue;
    covered.add(t.NodeID);
    if (t.Status.State === 'complete') continue;
    const n = byId.get(t.NodeID);
    if (!n || n.Status.State === 'down' || n.Spec.Availability === 'drain') {
      if (!isTerminal(t.Status.State)) tx.update('tasks', { ...t, DesiredState: 'shutdown' });
      continue;
    }
    restart(tx, s, t);
  }
  for (const n of nodes) {
    if (covered.has(n.ID) || !nodeEligible(n, s.Spec.TaskTemplate).ok) continue;
    tx.create('tasks', newJobTask(s, 0, n.ID));
  }
}
