import type { Executor, TaskController } from './exec/executor';
import { TaskExecError, exitError } from './exec/executor';
import type { Dispatcher } from '../dispatcher/dispatcher';
import type { Task, TaskState, TaskStatus } from '../types/swarm';
import { goTime } from '../util/time';
import { isTerminal } from '../manager/task-status';

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
 */
export class Agent {
  private workers = new Map<string, Worker>();
  private unwatch?: () => void;

  constructor(
    private readonly nodeId: string,
    private readonly dispatcher: Dispatcher,
    private readonly executor: Executor,
    private readonly serviceName: (serviceId: string) => string,
  ) {}

  start(): void {
    this.unwatch = this.dispatcher.watch(this.nodeId, (tasks) => this.sync(tasks));
  }

  /** Stops every task (SIGTERM then SIGKILL after the grace period) without reporting: the node is going away. */
  async stop(): Promise<void> {
    this.unwatch?.();
    await Promise.all([...this.workers.values()].map((w) => w.controller.shutdown().catch(() => undefined)));
  }

  private report(t: Task, state: TaskState, message: string, extra: Partial<TaskStatus> = {}): Promise<void> {
    return this.dispatcher.updateStatus(t.ID, {
      Timestamp: goTime(),
      State: state,
      Message: message,
      PortStatus: {},
      ...extra,
    });
  }

  private sync(tasks: Task[]): void {
    const seen = new Set<string>();
    for (const t of tasks) {
      seen.add(t.ID);
      const w = this.workers.get(t.ID);
      const wanted = t.DesiredState === 'running';
      if (!w) {
        if (t.Status.State === 'assigned' && !isTerminal(t.Status.State) && (wanted || t.DesiredState === 'ready')) {
          this.begin(t);
        } else if (t.Status.State === 'assigned' && !wanted && t.DesiredState !== 'ready') {
          void this.report(t, 'shutdown', 'shutdown');
        }
        continue;
      }
      const stopWanted = !wanted && t.DesiredState !== 'ready';
      if (w.phase === 'running' && stopWanted) this.halt(t, w);
      else if (w.phase === 'starting' && stopWanted) {
        // Not started yet (e.g. waiting out a restart delay): it never runs.
        w.phase = 'done';
        this.release(w);
        void this.report(t, 'shutdown', 'shutdown');
      } else if (w.phase === 'starting' && t.DesiredState === 'running') this.release(w);
    }
    for (const [id, w] of this.workers) {
      if (!seen.has(id)) {
        this.workers.delete(id);
        void w.controller.remove().catch(() => undefined);
      }
    }
  }

  private begin(t: Task): void {
    const serviceName = this.serviceName(t.ServiceID);
    let controller: TaskController;
    try {
      controller = this.executor.controller(t, serviceName);
    } catch (err) {
      void this.report(t, 'rejected', 'rejected', { Err: (err as Error).message });
      return;
    }
    const w: Worker = { controller, phase: 'starting', serviceName, released: t.DesiredState === 'running' };
    this.workers.set(t.ID, w);
    void this.run(t, w);
  }

  private async run(t: Task, w: Worker): Promise<void> {
    try {
      await this.report(t, 'accepted', 'accepted');
      await this.report(t, 'preparing', 'preparing');
      await w.controller.prepare();
      await this.report(t, 'ready', 'prepared');
      if (!w.released) {
        // A restarted task waits out the restart delay before it starts.
        await new Promise<void>((resolve) => (w.release = resolve));
      }
      if ((w.phase as Worker['phase']) !== 'starting') return;
      await this.report(t, 'starting', 'starting');
      const { pid } = await w.controller.start();
      w.phase = 'running';
      await this.report(t, 'running', 'started', { ContainerStatus: { PID: pid, ExitCode: 0 } });
      const exit = await w.controller.wait();
      if ((w.phase as Worker['phase']) !== 'running') return;
      w.phase = 'done';
      const err = exitError(exit);
      if (err)
        await this.report(t, 'failed', 'started', { Err: err, ContainerStatus: { PID: pid, ExitCode: exit.exitCode } });
      else await this.report(t, 'complete', 'finished', { ContainerStatus: { PID: pid, ExitCode: 0 } });
    } catch (err) {
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
