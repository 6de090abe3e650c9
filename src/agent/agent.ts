import type { Executor, ExecutorTask, TaskController } from './exec/executor';
import { TaskExecError, exitError } from './exec/executor';
import type { TaskSource } from './task-source';
import type { Task, TaskState, TaskStatus } from '../types/swarm';
import { goTime } from '../util/time';
import { isTerminal, stateRank } from '../manager/task-status';

/** list() attempts before the agent goes on without knowing what the executor has (about 8 s in all). */
const LIST_ATTEMPTS = 5;

/** A task to run now: desired running, or desired complete (a job's task), which runs until it exits. */
const runsNow = (t: Task): boolean => t.DesiredState === 'running' || t.DesiredState === 'complete';

interface Worker {
  controller: TaskController;
  phase: 'starting' | 'running' | 'stopping' | 'done';
  serviceName: string;
  /** Set once the task may go on past "ready" (its desired state became running, or it was stopped). */
  released: boolean;
  release?: () => void;
}

/**
 * Runs the tasks the dispatcher assigns to this node through the executor, reporting each
 * step in Docker's states: accepted → preparing → ready → starting → running, then complete,
 * failed or shutdown.
 *
 * When it starts (a new daemon, or a restart of one), it first asks the executor what it still
 * has from before, and its first look at the node's tasks reconciles the two, as swarmkit's
 * worker does: a task that was under way continues with what the executor has (a running
 * container is adopted, not started again), a task that should no longer run has its container
 * stopped, a finished task keeps its container until it leaves the task history, and whatever
 * belongs to no task any more (e.g. a service removed meanwhile) is discarded.
 */
export class Agent {
  private workers = new Map<string, Worker>();
  private unwatch?: () => void;
  /** What the executor had when the agent started; consumed by the first sync. */
  private leftovers?: Map<string, ExecutorTask>;
  private started?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly nodeId: string,
    private readonly dispatcher: TaskSource,
    private readonly executor: Executor,
    private readonly serviceName: (serviceId: string) => string,
  ) {}

  start(): void {
    this.started = this.listLeftovers().then(() => {
      if (!this.stopped) this.unwatch = this.dispatcher.watch(this.nodeId, (tasks) => this.sync(tasks));
    });
  }

  /**
   * Asks the executor what it still has, a few times over if it does not answer (an engine starting
   * up alongside the daemon): without the answer, every task that was running would count as lost.
   */
  private async listLeftovers(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const found = await this.executor.list(this.nodeId);
        this.leftovers = new Map(found.map((f) => [f.taskId, f]));
        return;
      } catch (err) {
        if (attempt >= LIST_ATTEMPTS) {
          console.error(`shoal agent: cannot list the executor's tasks: ${(err as Error).message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }

  /**
   * Stops every task (SIGTERM then SIGKILL after the grace period) without reporting: the node is
   * going away. An executor told to detach() first leaves its containers running instead.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.started;
    this.unwatch?.();
    await Promise.all([...this.workers.values()].map((w) => w.controller.shutdown().catch(() => undefined)));
  }

  /**
   * Never rejects: a report that cannot be stored (the manager stopping under a task that is still
   * ending) is logged, not thrown into the many callers that fire and forget.
   */
  private report(t: Task, state: TaskState, message: string, extra: Partial<TaskStatus> = {}): Promise<void> {
    // Once stopped, the store is closing; the next agent reconciles from what the executor has.
    if (this.stopped) return Promise.resolve();
    return this.dispatcher
      .updateStatus(t.ID, {
        Timestamp: goTime(),
        State: state,
        Message: message,
        PortStatus: {},
        ...extra,
      })
      .catch((err) => {
        if (!this.stopped) console.error(`shoal agent: reporting task ${t.ID} ${state}: ${(err as Error).message}`);
      });
  }

  private sync(tasks: Task[]): void {
    const leftovers = this.leftovers;
    this.leftovers = undefined;
    const seen = new Set<string>();
    for (const t of tasks) {
      seen.add(t.ID);
      const w = this.workers.get(t.ID);
      const wanted = runsNow(t);
      if (!w) {
        const left = leftovers?.get(t.ID);
        if (left || t.Status.State !== 'assigned') this.takeOver(t, left);
        else if (!isTerminal(t.Status.State) && (wanted || t.DesiredState === 'ready')) this.begin(t);
        else if (!wanted && t.DesiredState !== 'ready') void this.report(t, 'shutdown', 'shutdown');
        continue;
      }
      const stopWanted = !wanted && t.DesiredState !== 'ready';
      if (w.phase === 'running' && stopWanted) this.halt(t, w);
      else if (w.phase === 'starting' && stopWanted) {
        // Not running yet (e.g. waiting out a restart delay, pulling, or waiting to be healthy): it
        // never runs, and whatever the executor made so far is stopped.
        w.phase = 'done';
        this.release(w);
        void w.controller.shutdown().catch(() => undefined);
        void this.report(t, 'shutdown', 'shutdown');
      } else if (w.phase === 'starting' && wanted) this.release(w);
    }
    for (const [id, w] of this.workers) {
      if (!seen.has(id)) {
        this.workers.delete(id);
        void w.controller.remove().catch(() => undefined);
      }
    }
    for (const id of leftovers?.keys() ?? []) {
      if (!seen.has(id)) {
        void this.executor
          .discard(id)
          .catch((err) => console.error(`shoal agent: discarding task ${id}: ${(err as Error).message}`));
      }
    }
  }

  /**
   * A task this agent has no worker for, although it is past `assigned` or the executor still has
   * something of it: the agent (re)started while the task was under way.
   */
  private takeOver(t: Task, left: ExecutorTask | undefined): void {
    const state = t.Status.State;
    const live = runsNow(t) || t.DesiredState === 'ready';
    if (isTerminal(state)) {
      // History: what the executor kept (a stopped container) stays until the task is deleted.
      if (left) this.keep(t, left.state === 'running');
      return;
    }
    if (stateRank(state) < stateRank('assigned')) {
      if (left) void this.executor.discard(t.ID).catch(() => undefined);
      return;
    }
    if (!live) {
      const w = left ? this.keep(t, false) : undefined;
      if (w && left!.state === 'running') this.halt(t, w);
      else void this.report(t, 'shutdown', 'shutdown');
      return;
    }
    if (left || stateRank(state) < stateRank('starting')) {
      // Adopt what is there, or go on from where the task was if it never got as far as starting.
      this.begin(t, true);
      return;
    }
    // It was starting or running, and the executor no longer has it: it cannot be resumed.
    void this.report(t, 'failed', 'started', { Err: this.executor.lostTaskError });
  }

  /** A worker that only holds the controller, so the task's container is removed with the task. */
  private keep(t: Task, stop: boolean): Worker | undefined {
    let controller: TaskController;
    try {
      controller = this.executor.controller(t, this.serviceName(t.ServiceID));
    } catch {
      void this.executor.discard(t.ID).catch(() => undefined);
      return undefined;
    }
    const w: Worker = { controller, phase: 'done', serviceName: this.serviceName(t.ServiceID), released: true };
    this.workers.set(t.ID, w);
    if (stop) void controller.shutdown().catch(() => undefined);
    return w;
  }

  /** Runs a task; `resume` for one that was under way before a restart, so no state is reported twice. */
  private begin(t: Task, resume = false): void {
    const serviceName = this.serviceName(t.ServiceID);
    let controller: TaskController;
    try {
      controller = this.executor.controller(t, serviceName);
    } catch (err) {
      void this.report(t, 'rejected', 'rejected', { Err: (err as Error).message });
      return;
    }
    const w: Worker = { controller, phase: 'starting', serviceName, released: runsNow(t) };
    this.workers.set(t.ID, w);
    void this.run(t, w, resume ? stateRank(t.Status.State) : -1);
  }

  /** Drives the task through its controller, reporting only the states after `reachedRank`. */
  private async run(t: Task, w: Worker, reachedRank: number): Promise<void> {
    const step = (state: TaskState, message: string, extra?: Partial<TaskStatus>) =>
      stateRank(state) > reachedRank ? this.report(t, state, message, extra) : Promise.resolve();
    try {
      await step('accepted', 'accepted');
      await step('preparing', 'preparing');
      await w.controller.prepare();
      await step('ready', 'prepared');
      if (!w.released) {
        // A restarted task waits out the restart delay before it starts.
        await new Promise<void>((resolve) => (w.release = resolve));
      }
      if ((w.phase as Worker['phase']) !== 'starting') return;
      await step('starting', 'starting');
      const { pid, containerId } = await w.controller.start();
      if ((w.phase as Worker['phase']) !== 'starting') return;
      w.phase = 'running';
      const container = containerId ? { ContainerID: containerId } : {};
      await step('running', 'started', { ContainerStatus: { ...container, PID: pid, ExitCode: 0 } });
      const exit = await w.controller.wait();
      if ((w.phase as Worker['phase']) !== 'running') return;
      w.phase = 'done';
      const err = exitError(exit);
      const status = { ...container, PID: pid, ExitCode: exit.exitCode };
      if (err) await this.report(t, 'failed', 'started', { Err: err, ContainerStatus: status });
      else await this.report(t, 'complete', 'finished', { ContainerStatus: status });
    } catch (err) {
      if ((w.phase as Worker['phase']) === 'done' || w.phase === 'stopping') return;
      w.phase = 'done';
      const state = err instanceof TaskExecError ? err.taskState : 'failed';
      await this.report(t, state, state === 'rejected' ? 'rejected' : 'starting', {
        Err: (err as Error).message,
      }).catch(() => undefined);
    }
  }

  private release(w: Worker): void {
    w.released = true;
    w.release?.();
  }

  private halt(t: Task, w: Worker): void {
    w.phase = 'stopping';
    void w.controller
      .shutdown()
      .then(() => this.report(t, 'shutdown', 'shutdown'))
      .catch((err) => this.report(t, 'failed', 'shutdown', { Err: (err as Error).message }))
      .finally(() => {
        w.phase = 'done';
      });
  }
}
