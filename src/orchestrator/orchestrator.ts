import type { MemoryStore, WriteTx } from '../store/memory-store';
import type { Node, Service, Task } from '../types/swarm';
import { goTime, nsToMs } from '../util/time';
import { DEFAULT_RESTART_DELAY_NS } from '../manager/defaults';
import { canonical, isLive, isTerminal, stateRank } from '../manager/task-status';
import { newTask } from './new-task';
import { nodeEligible } from '../scheduler/constraints';
import { ReconcileLoop } from '../manager/reconcile-loop';
import { onRolloutFailure, Rollout, rolloutConfigOf, rolloutKey } from './updater';
import { newJobTask, reconcileGlobalJob, reconcileReplicatedJob } from './jobs';

/** One place a task of the service belongs: a replica's slot, or a node of a global service. */
interface Slot {
  /** Its tasks, current and past. */
  tasks: Task[];
  /** A new task for it, of the current spec. */
  create(): Task;
}

/** Restart attempts are counted per slot (replicated) or per node (global). */
const restartKey = (s: Service, t: Task) => `${s.ID}/${t.Slot}/${t.NodeID}`;

/** Whether some slot still runs a task of an older spec. */
function outdatedRemain(slots: Slot[], current: (t: Task) => boolean): boolean {
  return slots.some((slot) => slot.tasks.some((t) => isLive(t) && !current(t)));
}

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
  /** Rollouts under way, by service ID. */
  private rollouts = new Map<string, Rollout>();
  /** When a pass is due for a service's rollout (the end of a delay or of the monitor period), by service ID. */
  private wakes = new Map<string, number>();

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
    for (const id of this.rollouts.keys()) if (!services.has(id)) this.rollouts.delete(id);
    for (const id of this.wakes.keys()) if (!services.has(id)) this.wakes.delete(id);
    for (const s of services.values()) {
      const tasks = tasksBy.get(s.ID) ?? [];
      const restart = (tx2: WriteTx, s2: Service, t: Task) => this.jobTaskUnderWay(tx2, s2, t);
      if (s.Spec.Mode?.ReplicatedJob) reconcileReplicatedJob(tx, s, tasks, restart);
      else if (s.Spec.Mode?.GlobalJob) reconcileGlobalJob(tx, s, tasks, nodes, restart);
      else {
        this.shutdownOnUnusableNodes(tx, tasks, nodes);
        if (s.Spec.Mode?.Global) this.reconcileGlobal(tx, s, tasks, nodes);
        else this.reconcileReplicated(tx, s, tasks, nodes);
      }
      // A job's completed tasks are its record and stay; the failed tries it restarted are history like any other.
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
    const slots: Slot[] = [];
    for (let slot = 1; slot <= replicas; slot++) {
      slots.push({ tasks: bySlot.get(slot) ?? [], create: () => newTask(s, slot) });
    }
    this.roll(tx, s, tasks, slots, nodes);
  }

  private reconcileGlobal(tx: WriteTx, s: Service, tasks: Task[], nodes: Node[]): void {
    const byNode = new Map<string, Task[]>();
    for (const t of tasks) {
      const list = byNode.get(t.NodeID);
      if (list) list.push(t);
      else byNode.set(t.NodeID, [t]);
    }
    const slots: Slot[] = [];
    for (const n of nodes) {
      const mine = byNode.get(n.ID) ?? [];
      // Active, ready and meeting the constraints.
      const eligible = nodeEligible(n, s.Spec.TaskTemplate).ok;
      if (!eligible) {
        for (const t of mine) if (isLive(t)) this.setDesired(tx, t, 'shutdown');
        continue;
      }
      slots.push({ tasks: mine, create: () => newTask(s, 0, n.ID) });
    }
    this.roll(tx, s, tasks, slots, nodes);
  }

  /**
   * Keeps one task of the current spec running in each slot (a replica's number, or a node for a global service):
   * restarts what ended under the restart policy, starts what is missing, and replaces tasks of an older spec as a
   * rolling update: `Parallelism` slots at a time, each batch after the last one's tasks run plus `Delay`, stopping
   * the old task first or starting the new one first (`Order`). A new task that ends within `Monitor` of running (or
   * never runs) is a failure; beyond `MaxFailureRatio` of the slots, `FailureAction` pauses or rolls back.
   */
  private roll(tx: WriteTx, s: Service, tasks: Task[], slots: Slot[], nodes: Node[]): void {
    // A task on a node that is down or gone cannot be waited for (swarmkit's restart skips waitStop there).
    const reachable = new Set(nodes.filter((n) => n.Status.State !== 'down').map((n) => n.ID));
    const stopping = (t: Task) =>
      !isTerminal(t.Status.State) &&
      stateRank(t.Status.State) >= stateRank('assigned') &&
      (!t.NodeID || reachable.has(t.NodeID));
    const template = canonical(s.Spec.TaskTemplate);
    // Each task's spec is compared once per pass: with 10,000 replicas the JSON is what costs.
    const seen = new Map<string, boolean>();
    const current = (t: Task) => {
      let same = seen.get(t.ID);
      if (same === undefined) seen.set(t.ID, (same = canonical(t.Spec) === template));
      return same;
    };
    const cfg = rolloutConfigOf(s);
    const state = s.UpdateStatus?.State;
    const paused = state === 'paused' || state === 'rollback_paused';
    const now = Date.now();
    let rollout = this.rollouts.get(s.ID);
    if (rollout && rollout.key !== rolloutKey(s, template)) rollout = undefined;
    // A rollout that failed over its ratio wrote a status (paused, rollback); only a new update clears it, and that
    // update starts a rollout of its own even with the same task spec (say, another failure action).
    if (rollout?.failedOver && state === undefined) rollout = undefined;

    // The rollout's tasks first: a failure may stop it before anything else is started. Once the pause or the
    // rollback is written the rollout is over (paused, or a rollback is another rollout), so it is not forgotten here.
    if (rollout && !paused) {
      const failed = rollout.observe(new Map(tasks.map((t) => [t.ID, t])), cfg, now);
      const next = failed ? onRolloutFailure(s, cfg, failed) : undefined;
      if (next) {
        tx.update('services', { ...next, UpdatedAt: goTime() });
        return;
      }
    }

    const rolling = !!rollout && outdatedRemain(slots, current);
    /** Slots being replaced, starting, or waiting out the update delay. */
    let busy = 0;
    const outdated: { slot: Slot; old: Task[] }[] = [];
    for (const slot of slots) {
      const live = slot.tasks.filter(isLive);
      // A task that ended: restarted, or finished for good; either way the slot is settled in a later pass.
      if (live.some((t) => this.handleExit(tx, s, t))) {
        busy++;
        continue;
      }
      if (live.length === 0) {
        // A slot whose task finished for good (restart policy said no) stays as it is.
        if (slot.tasks.some((t) => t.DesiredState === 'complete' && current(t))) continue;
        // Stop-first: the slot's old task must be down before its replacement starts.
        if (slot.tasks.some(stopping)) {
          busy++;
          continue;
        }
        const t = slot.create();
        tx.create('tasks', t);
        // The replacement of a task the rollout stopped is the rollout's.
        if (slot.tasks.some((x) => !current(x))) rollout?.adopt(t.ID);
        busy++;
        continue;
      }
      const fresh = live.find(current);
      const old = live.filter((t) => !current(t));
      if (fresh && old.length > 0) {
        // Start-first: the old task stops once its replacement runs.
        if (fresh.Status.State === 'running') for (const t of old) this.setDesired(tx, t, 'shutdown');
        busy++;
      } else if (old.length > 0) {
        outdated.push({ slot, old });
      } else if (fresh && fresh.Status.State !== 'running') {
        busy++;
      } else if (fresh && rolling) {
        const since = rollout!.runningSince(fresh.ID);
        if (since !== undefined && now - since < cfg.delayMs) {
          busy++;
          this.wakeAt(s.ID, since + cfg.delayMs);
        }
      }
    }

    if (outdated.length > 0 && !paused) {
      if (!rollout) {
        rollout = new Rollout(rolloutKey(s, template), outdated.length);
        this.rollouts.set(s.ID, rollout);
      }
      for (const { slot, old } of outdated) {
        if (cfg.parallelism !== 0 && busy >= cfg.parallelism) break;
        if (cfg.order === 'start-first') {
          const t = slot.create();
          tx.create('tasks', t);
          rollout.adopt(t.ID);
        } else {
          for (const t of old) this.setDesired(tx, t, 'shutdown');
        }
        busy++;
      }
    }

    // Done when every slot runs the current spec, and the rollout's newest task has stayed up for the monitor
    // period (or the delay and a second, when the delay is the longer), as swarmkit's updater watches at its end.
    let settled = outdated.length === 0 && busy === 0;
    if (settled && rollout) {
      const watchMs = cfg.delayMs >= cfg.monitorMs ? cfg.delayMs + 1000 : cfg.monitorMs;
      const left = rollout.lastRunningAt + watchMs - now;
      if (left > 0) {
        settled = false;
        this.wakeAt(s.ID, now + left);
      } else {
        this.rollouts.delete(s.ID);
      }
    }
    this.updateStatus(tx, s, !settled, settled);
  }

  /**
   * A live task whose process ended: apply the restart policy. Returns true if it did something.
   * The replacement waits in desired state "ready" for the restart delay, as swarmkit's does.
   */
  private handleExit(tx: WriteTx, s: Service, t: Task): boolean {
    if (t.DesiredState === 'ready') {
      this.keepDelayed(s, t, 'running');
      return false;
    }
    if (!isTerminal(t.Status.State)) return false;
    const failed = t.Status.State !== 'complete';
    if (!this.mayRestart(s, t, failed)) {
      this.setDesired(tx, t, 'complete');
      return true;
    }
    this.restart(tx, s, t, newTask(s, t.Slot, s.Spec.Mode?.Global ? t.NodeID : ''), 'running');
    return true;
  }

  /**
   * A job task that has not completed (its slot is under way unless this says otherwise). One that ended without
   * completing is replaced in its slot, or on its node, as the restart policy allows: jobs restart only what failed,
   * as swarmkit treats condition "any" for a job as "on-failure". One the policy gives up on is left as it is.
   */
  private jobTaskUnderWay(tx: WriteTx, s: Service, t: Task): boolean {
    if (t.DesiredState === 'ready') {
      this.keepDelayed(s, t, 'complete');
      return true;
    }
    if (!isTerminal(t.Status.State)) return true;
    if (!this.mayRestart(s, t, true)) return false;
    this.restart(tx, s, t, newJobTask(s, t.Slot, s.Spec.Mode?.GlobalJob ? t.NodeID : ''), 'complete');
    return true;
  }

  /** The restart policy's answer for a task that ended: its condition, and its attempts within the window. */
  private mayRestart(s: Service, t: Task, failed: boolean): boolean {
    const policy = s.Spec.TaskTemplate.RestartPolicy ?? {};
    const condition = policy.Condition ?? 'any';
    if (!(condition === 'any' || (condition === 'on-failure' && failed))) return false;
    const windowMs = nsToMs(policy.Window, 0);
    const now = Date.now();
    const attempts = (this.restarts.get(restartKey(s, t)) ?? []).filter((at) => windowMs === 0 || now - at < windowMs);
    return !policy.MaxAttempts || attempts.length < policy.MaxAttempts;
  }

  /**
   * Replaces `t` (which ended) with `next`, counting the attempt. With a restart delay the replacement waits in
   * desired state "ready" and is then let go to `target` ("running", or "complete" for a job's task).
   */
  private restart(tx: WriteTx, s: Service, t: Task, next: Task, target: 'running' | 'complete'): void {
    this.setDesired(tx, t, 'shutdown');
    const key = restartKey(s, t);
    const windowMs = nsToMs(s.Spec.TaskTemplate.RestartPolicy?.Window, 0);
    const now = Date.now();
    const attempts = (this.restarts.get(key) ?? []).filter((at) => windowMs === 0 || now - at < windowMs);
    attempts.push(now);
    this.restarts.set(key, attempts);
    const delayMs = nsToMs(s.Spec.TaskTemplate.RestartPolicy?.Delay ?? DEFAULT_RESTART_DELAY_NS, 0);
    next.DesiredState = delayMs > 0 ? 'ready' : target;
    tx.create('tasks', next);
    if (delayMs > 0) this.releaseAfter(next.ID, delayMs, target);
  }

  /**
   * A replacement waiting out its restart delay. Its timer lives in this process only, so a task found waiting with
   * no timer (the manager restarted) gets one for what remains of the delay, counted from its creation, as
   * swarmkit's taskinit does after a leader change.
   */
  private keepDelayed(s: Service, t: Task, target: 'running' | 'complete'): void {
    if (this.delayed.has(t.ID)) return;
    const delayMs = nsToMs(s.Spec.TaskTemplate.RestartPolicy?.Delay ?? DEFAULT_RESTART_DELAY_NS, 0);
    const waited = Date.now() - Date.parse(t.CreatedAt);
    this.releaseAfter(t.ID, Math.max(0, Math.min(delayMs, delayMs - waited)), target);
  }

  /**
   * A pass at `at` for the service's rollout. Every pass asks again for what it still waits for, so one timer per
   * service is kept: the earliest.
   */
  private wakeAt(serviceId: string, at: number): void {
    const due = this.wakes.get(serviceId);
    if (due !== undefined && due <= at && due > Date.now()) return;
    this.wakes.set(serviceId, at);
    this.loop.after(Math.max(0, at - Date.now()), () => {
      if (this.wakes.get(serviceId) === at) this.wakes.delete(serviceId);
      this.loop.kick();
    });
  }

  /** After `delayMs`, lets a task waiting in desired state "ready" go on to `target`. */
  private releaseAfter(taskId: string, delayMs: number, target: 'running' | 'complete'): void {
    this.delayed.add(taskId);
    this.loop.after(delayMs, () => {
      void this.store
        .retryUpdate((tx2) => {
          const cur = tx2.get('tasks', taskId);
          if (cur && cur.DesiredState === 'ready') tx2.update('tasks', { ...cur, DesiredState: target });
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
    // A service that was only ever created has no rollout to report; one rolled back on failure has lost its
    // previous spec (as swarmkit's does) but still reports the rollback's end.
    if (!s.PreviousSpec && st === undefined) return;
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
