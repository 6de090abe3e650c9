import type { MemoryStore, WriteTx } from '../store/memory-store';
import type { Node, Service, Task } from '../types/swarm';
import { goTime, nsToMs } from '../util/time';
import { DEFAULT_RESTART_DELAY_NS } from '../manager/defaults';
import { isLive, isTerminal, sameTaskSpec, stateRank } from '../manager/task-status';
import { newTask } from './new-task';
import { nodeEligible } from '../scheduler/constraints';
import { ReconcileLoop } from '../manager/reconcile-loop';

/**
 * Reconciles desired state (services) with what exists (tasks), as swarmkit's replicated and
 * global orchestrators, restart supervisor, updater and task reaper do together. It runs after
 * every committed change (coalesced), and is written as one pass over the current state, so a
 * restart of the manager resumes where it was.
 */
export class Orchestrator {
  private readonly loop: ReconcileLoop;
  /** Restart attempts per slot, for RestartPolicy.MaxAttempts within Window. */
  private restarts = new Map<string, number[]>();
  /** Tasks whose restart-delay timer is armed in this process. */
  private delayed = new Set<string>();

  constructor(private readonly store: MemoryStore) {
    this.loop = new ReconcileLoop(store, 'orchestrator', (tx) => this.reconcile(tx));
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  private reconcile(tx: WriteTx): void {
    const cluster = tx.list('cluster')[0];
    const history = cluster?.Spec.Orchestration?.TaskHistoryRetentionLimit ?? 5;
    const services = new Map(tx.list('services').map((s) => [s.ID, s]));
    const nodes = tx.list('nodes');
    const tasksBy = new Map<string, Task[]>();
    for (const t of tx.list('tasks')) {
      if (!services.has(t.ServiceID)) {
        this.removeOrphan(tx, t);
        continue;
      }
      const list = tasksBy.get(t.ServiceID) ?? [];
      list.push(t);
      tasksBy.set(t.ServiceID, list);
    }
    for (const s of services.values()) {
      const tasks = tasksBy.get(s.ID) ?? [];
      this.shutdownOnUnusableNodes(tx, tasks, nodes);
      if (s.Spec.Mode?.Global) this.reconcileGlobal(tx, s, tasks, nodes);
      else this.reconcileReplicated(tx, s, tasks, nodes);
      this.reap(tx, tasks, history);
    }
  }

  /** Tasks of a deleted service are stopped, then deleted once stopped. */
  private removeOrphan(tx: WriteTx, t: Task): void {
    if (isTerminal(t.Status.State) || stateRank(t.Status.State) < stateRank('assigned')) {
      tx.delete('tasks', t.ID);
    } else if (t.DesiredState !== 'remove') {
      tx.update('tasks', { ...t, DesiredState: 'remove' });
    }
  }

  /**
   * A node that is drained, down or gone keeps no tasks: they are shut down and the slot is filled elsewhere. A
   * down node comes back to find its tasks told to stop.
   */
  private shutdownOnUnusableNodes(tx: WriteTx, tasks: Task[], nodes: Node[]): void {
    for (const t of tasks) {
      if (!isLive(t) || !t.NodeID) continue;
      const n = nodes.find((x) => x.ID === t.NodeID);
      if (!n || n.Spec.Availability === 'drain' || n.Status.State === 'down') this.setDesired(tx, t, 'shutdown');
    }
  }

  private setDesired(tx: WriteTx, t: Task, desired: Task['DesiredState']): void {
    t.DesiredState = desired;
    tx.update('tasks', { ...t, UpdatedAt: goTime() });
  }

  private reconcileReplicated(tx: WriteTx, s: Service, tasks: Task[], nodes: Node[]): void {
    // A task on a node that is down or gone cannot be waited for (swarmkit's restart skips waitStop there).
    const reachable = new Set(nodes.filter((n) => n.Status.State !== 'down').map((n) => n.ID));
    const stopping = (t: Task) =>
      !isTerminal(t.Status.State) &&
      stateRank(t.Status.State) >= stateRank('assigned') &&
      (!t.NodeID || reachable.has(t.NodeID));
    const replicas = s.Spec.Mode?.Replicated?.Replicas ?? 1;
    const bySlot = new Map<number, Task[]>();
    for (const t of tasks) {
      const l = bySlot.get(t.Slot) ?? [];
      l.push(t);
      bySlot.set(t.Slot, l);
    }
    // Scale down: slots above the count stop.
    for (const [slot, list] of bySlot) {
      if (slot > replicas) for (const t of list) if (isLive(t)) this.setDesired(tx, t, 'shutdown');
    }
    const parallelism = s.Spec.UpdateConfig?.Parallelism ?? 1;
    let updating = 0;
    const dirty: Task[] = [];
    for (let slot = 1; slot <= replicas; slot++) {
      const list = bySlot.get(slot) ?? [];
      const live = list.find(isLive);
      if (live) {
        if (this.handleExit(tx, s, live)) continue;
        if (!sameTaskSpec(live.Spec, s.Spec.TaskTemplate)) dirty.push(live);
        else if (live.Status.State !== 'running') updating++;
        continue;
      }
      // A slot whose task finished for good (restart policy said no) stays as it is.
      if (list.some((t) => t.DesiredState === 'complete' && sameTaskSpec(t.Spec, s.Spec.TaskTemplate))) continue;
      // Stop-first: the slot's old task must be down before its replacement starts.
      if (list.some(stopping)) {
        updating++;
        continue;
      }
      tx.create('tasks', newTask(s, slot));
      updating++;
    }
    // Rolling update, stop-first: replace at most `parallelism` slots at a time (0 = all at once).
    for (const t of dirty) {
      if (parallelism !== 0 && updating >= parallelism) break;
      this.setDesired(tx, t, 'shutdown');
      updating++;
    }
    this.updateStatus(tx, s, dirty.length > 0 || updating > 0, dirty.length === 0 && updating === 0);
  }

  private reconcileGlobal(tx: WriteTx, s: Service, tasks: Task[], nodes: Node[]): void {
    for (const n of nodes) {
      const mine = tasks.filter((t) => t.NodeID === n.ID);
      const live = mine.find(isLive);
      const eligible = nodeEligible(n, s.Spec.TaskTemplate).ok && n.Status.State === 'ready';
      if (live) {
        if (!eligible) this.setDesired(tx, live, 'shutdown');
        else if (!this.handleExit(tx, s, live) && !sameTaskSpec(live.Spec, s.Spec.TaskTemplate)) {
          this.setDesired(tx, live, 'shutdown');
        }
        continue;
      }
      if (!eligible) continue;
      if (mine.some((t) => t.DesiredState === 'complete' && sameTaskSpec(t.Spec, s.Spec.TaskTemplate))) continue;
      if (mine.some((t) => !isTerminal(t.Status.State) && stateRank(t.Status.State) >= stateRank('assigned'))) continue;
      tx.create('tasks', newTask(s, 0, n.ID));
    }
  }

  /**
   * A live task whose process ended: apply the restart policy. Returns true if it did something.
   * The replacement waits in desired state "ready" for the restart delay, as swarmkit's does.
   */
  private handleExit(tx: WriteTx, s: Service, t: Task): boolean {
    if (t.DesiredState === 'ready') {
      // A replacement waiting out its restart delay. Its timer lives in this process only, so a
      // task found waiting with no timer (the manager restarted) gets one for what remains of the
      // delay, counted from its creation, as swarmkit's taskinit does after a leader change.
      if (!this.delayed.has(t.ID)) {
        const policy = s.Spec.TaskTemplate.RestartPolicy ?? {};
        const delayMs = nsToMs(policy.Delay ?? DEFAULT_RESTART_DELAY_NS, 0);
        const waited = Date.now() - Date.parse(t.CreatedAt);
        this.releaseAfter(t.ID, Math.max(0, Math.min(delayMs, delayMs - waited)));
      }
      return false;
    }
    if (!isTerminal(t.Status.State)) return false;
    const policy = s.Spec.TaskTemplate.RestartPolicy ?? {};
    const condition = policy.Condition ?? 'any';
    const failed = t.Status.State !== 'complete';
    const key = `${s.ID}/${t.Slot}/${t.NodeID}`;
    const now = Date.now();
    const windowMs = nsToMs(policy.Window, 0);
    const attempts = (this.restarts.get(key) ?? []).filter((at) => windowMs === 0 || now - at < windowMs);
    const allowed =
      condition === 'any' || (condition === 'on-failure' && failed)
        ? !policy.MaxAttempts || attempts.length < policy.MaxAttempts
        : false;
    if (!allowed) {
      this.setDesired(tx, t, 'complete');
      return true;
    }
    this.setDesired(tx, t, 'shutdown');
    attempts.push(now);
    this.restarts.set(key, attempts);
    const delayMs = nsToMs(policy.Delay ?? DEFAULT_RESTART_DELAY_NS, 0);
    const next = newTask(s, t.Slot, s.Spec.Mode?.Global ? t.NodeID : '', delayMs > 0 ? 'ready' : 'running');
    tx.create('tasks', next);
    if (delayMs > 0) this.releaseAfter(next.ID, delayMs);
    return true;
  }

  /** After `delayMs`, lets a task waiting in desired state "ready" start. */
  private releaseAfter(taskId: string, delayMs: number): void {
    this.delayed.add(taskId);
    this.loop.after(delayMs, () => {
      void this.store
        .retryUpdate((tx2) => {
          const cur = tx2.get('tasks', taskId);
          if (cur && cur.DesiredState === 'ready') tx2.update('tasks', { ...cur, DesiredState: 'running' });
        })
        .then(() => this.delayed.delete(taskId))
        .catch(() => {
          this.delayed.delete(taskId);
          this.loop.kick();
        });
    });
  }

  private updateStatus(tx: WriteTx, s: Service, inProgress: boolean, converged: boolean): void {
    const st = s.UpdateStatus?.State;
    const hasHistory = !!s.PreviousSpec;
    if (!hasHistory) return;
    if (inProgress && st === undefined) {
      tx.update('services', {
        ...s,
        UpdateStatus: { State: 'updating', Message: 'update in progress', StartedAt: goTime() },
      });
    } else if (converged && st === 'updating') {
      tx.update('services', {
        ...s,
        UpdateStatus: { ...s.UpdateStatus, State: 'completed', Message: 'update completed', CompletedAt: goTime() },
      });
    } else if (converged && st === 'rollback_started') {
      tx.update('services', {
        ...s,
        UpdateStatus: {
          ...s.UpdateStatus,
          State: 'rollback_completed',
          Message: 'rollback completed',
          CompletedAt: goTime(),
        },
      });
    }
  }

  /** Keeps at most `limit` finished tasks per slot (or node), deleting the oldest first. */
  private reap(tx: WriteTx, tasks: Task[], limit: number): void {
    const groups = new Map<string, Task[]>();
    for (const t of tasks) {
      const k = t.Slot ? `s${t.Slot}` : `n${t.NodeID}`;
      groups.set(k, [...(groups.get(k) ?? []), t]);
    }
    for (const list of groups.values()) {
      const done = list
        .filter((t) => !isLive(t) && t.DesiredState !== 'complete' && isTerminal(t.Status.State))
        .sort((a, b) => (a.CreatedAt < b.CreatedAt ? -1 : 1));
      const keep = Math.max(0, limit - (list.length - done.length));
      for (const t of done.slice(0, Math.max(0, done.length - keep))) tx.delete('tasks', t.ID);
    }
  }
}
