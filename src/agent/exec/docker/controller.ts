// One task as one container, after swarmkit's container controller (moby daemon/cluster/executor/
// container/controller.go): prepare creates the container (pulling the image only if the engine does
// not have it), start starts it and waits for it to be healthy, wait follows it to its exit through
// the engine's `wait`, shutdown stops it with the task's stop signal and grace period, and remove
// deletes it. Every call is by container ID once known, so a renamed container is still found.
//
// A controller for a task whose container already exists (from before a restart of the daemon)
// adopts it: prepare finds it, start sees it was started and only reads its pid, wait follows it.

import type Docker from 'dockerode';
import type { Task } from '../../../types/swarm';
import { TaskRejectedError, TaskStartError } from '../executor';
import type { ExitStatus, LogLine, LogOptions, StartedTask, TaskController } from '../executor';
import { containerName, createOptions, stopTimeoutSeconds } from './container-spec';
import { engineMessage, engineUnreachable, httpStatus } from './engine';
import { ContainerEvents } from './events';
import { DESTROYED, UNHEALTHY, hasHealthcheck, untilHealthy, watchHealth } from './health';
import type { HealthTarget } from './health';
import { isMissingImage } from './image-pull';
import { containerLogs } from './logs';
import type { DockerExecutor } from './docker-executor';

/** How long wait() keeps asking an engine that does not answer (restarting) before it fails the task. */
const ENGINE_GONE_MS = 60_000;
const RETRY_MS = 250;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** What wait() returns once the daemon is detaching: the task must not be reported as ended. */
const never = <T>() => new Promise<T>(() => undefined);

export class DockerController implements TaskController {
  readonly name: string;
  private containerId?: string;
  /** The container as found, when it existed before this controller (adoption). */
  private found?: Docker.ContainerInspectInfo;
  private preparing?: Promise<void>;
  private starting?: Promise<StartedTask>;
  /** The engine's start call alone (not the health wait), which shutdown must let finish first. */
  private engineStart?: Promise<unknown>;
  private waiting?: Promise<ExitStatus>;
  private stopping?: Promise<void>;
  private stopRequested = false;
  private tty = false;

  constructor(
    private readonly executor: DockerExecutor,
    readonly task: Task,
    readonly serviceName: string,
    /** The container's ID, when the executor already knows it (list() found it). */
    knownId?: string,
  ) {
    this.name = containerName(task, serviceName);
    this.containerId = knownId;
  }

  private get docker(): Docker {
    return this.executor.docker;
  }

  private container(): Docker.Container {
    return this.docker.getContainer(this.containerId ?? this.name);
  }

  prepare(): Promise<void> {
    return (this.preparing ??= this.doPrepare());
  }

  start(): Promise<StartedTask> {
    return (this.starting ??= this.doStart());
  }

  wait(): Promise<ExitStatus> {
    if (!this.starting) return Promise.reject(new Error(`task ${this.task.ID} was not started`));
    return (this.waiting ??= this.starting.then(() => this.doWait()));
  }

  shutdown(): Promise<void> {
    this.stopRequested = true;
    return (this.stopping ??= this.doShutdown());
  }

  async remove(): Promise<void> {
    await this.shutdown();
    if (this.executor.detached) return;
    await this.preparing?.catch(() => undefined);
    try {
      // As swarmkit: anonymous volumes go with the container.
      await this.container().remove({ force: true, v: true });
    } catch (err) {
      // 404: gone already; 409: the engine is removing it already.
      if (httpStatus(err) !== 404 && httpStatus(err) !== 409) throw new Error(engineMessage(err));
    } finally {
      this.executor.forget(this.task.ID, this);
    }
  }

  logs(opts: LogOptions = {}): AsyncIterable<LogLine> {
    return {
      [Symbol.asyncIterator]: () => this.readLogs(opts),
    };
  }

  private async *readLogs(opts: LogOptions): AsyncGenerator<LogLine> {
    await this.preparing?.catch(() => undefined);
    let tty = this.tty;
    if (!this.preparing) {
      try {
        tty = !!(await this.container().inspect()).Config.Tty;
      } catch (err) {
        if (httpStatus(err) === 404) return;
        throw err;
      }
    }
    yield* containerLogs(this.container(), tty, opts);
  }

  private async doPrepare(): Promise<void> {
    // Throws TaskRejectedError for what swarmkit rejects before calling the engine (no image, bad mounts).
    const opts = createOptions(this.task, this.serviceName);
    this.tty = !!opts.Tty;
    if (this.containerId) {
      this.found = await this.inspectForPrepare();
      return;
    }
    try {
      this.containerId = (await this.create(opts)).id;
    } catch (err) {
      if (err instanceof TaskRejectedError) throw err;
      // Created already: by this task before a restart of the daemon (swarmkit's ErrTaskPrepared).
      if (httpStatus(err) === 409) {
        this.found = await this.inspectForPrepare();
        this.containerId = this.found.Id;
        return;
      }
      throw new TaskRejectedError(engineMessage(err));
    }
  }

  /** Creates the container, pulling its image first if the engine says it does not have it. */
  private async create(opts: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(opts);
    } catch (err) {
      if (httpStatus(err) !== 404 || !isMissingImage(engineMessage(err))) throw err;
    }
    try {
      await this.executor.puller.pull(opts.Image!);
    } catch (err) {
      throw new TaskRejectedError((err as Error).message);
    }
    return this.docker.createContainer(opts);
  }

  private async inspectForPrepare(): Promise<Docker.ContainerInspectInfo> {
    try {
      const info = await this.container().inspect();
      this.tty = !!info.Config.Tty;
      return info;
    } catch (err) {
      throw new TaskRejectedError(engineMessage(err));
    }
  }

  private async doStart(): Promise<StartedTask> {
    await this.prepare();
    if (this.found && this.found.State.Status !== 'created') {
      // Started before (swarmkit's ErrTaskStarted): adopt it as it is, running or exited.
      return { pid: this.found.State.Pid, containerId: this.found.Id };
    }
    if (this.stopRequested) throw new TaskStartError('starting container failed: the task was shut down');

    // Subscribed before the start, so that a quick health verdict or death cannot be missed.
    const events = new ContainerEvents(this.executor.events, this.name);
    try {
      this.engineStart = this.container().start();
      try {
        await this.engineStart;
      } catch (err) {
        // 304: started already (by whoever raced us); that is fine.
        if (httpStatus(err) !== 304) throw new TaskStartError(`starting container failed: ${engineMessage(err)}`);
      }
      let info = await this.container().inspect();
      if (hasHealthcheck(info.Config)) {
        await untilHealthy(events, this.healthTarget());
        info = await this.container().inspect();
      }
      return { pid: info.State.Pid, containerId: info.Id };
    } finally {
      events.close();
    }
  }

  private async doWait(): Promise<ExitStatus> {
    let unhealthy = false;
    let events: ContainerEvents | undefined;
    try {
      const info =
        this.found ??
        (await this.container()
          .inspect()
          .catch(() => undefined));
      if (hasHealthcheck(info?.Config) && info?.State.Status !== 'exited') {
        events = new ContainerEvents(this.executor.events, this.name);
        void watchHealth(events, this.healthTarget(), () => (unhealthy = true)).catch(() => undefined);
      }
      const exit = await this.waitExit();
      if (exit.exitCode === 0) return { exitCode: 0 };
      const why = unhealthy ? UNHEALTHY : exit.cause;
      return why ? { exitCode: exit.exitCode, cause: why } : { exitCode: exit.exitCode };
    } finally {
      events?.close();
    }
  }

  /**
   * The engine's wait (condition not-running), as Docker Swarm's controller does. If the connection
   * breaks (the engine restarting), the container is inspected once the engine answers again: an
   * engine restart stops it, and its task then fails and is replaced per its restart policy.
   */
  private async waitExit(): Promise<ExitStatus> {
    let unreachableSince: number | undefined;
    for (;;) {
      if (this.executor.detached) return never();
      try {
        const r = (await this.container().wait({
          condition: 'not-running',
          abortSignal: this.executor.signal,
        } as never)) as unknown as { StatusCode: number; Error?: { Message?: string } | null };
        return { exitCode: r.StatusCode, cause: r.Error?.Message || undefined };
      } catch (err) {
        if (this.executor.detached) return never();
        if (httpStatus(err) === 404) throw new Error(DESTROYED);
      }
      try {
        const info = await this.container().inspect();
        if (!info.State.Running) return { exitCode: info.State.ExitCode, cause: info.State.Error || undefined };
        unreachableSince = undefined;
      } catch (err) {
        if (this.executor.detached) return never();
        if (httpStatus(err) === 404) throw new Error(DESTROYED);
        if (!engineUnreachable(err)) throw new Error(engineMessage(err));
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > ENGINE_GONE_MS) throw new Error(engineMessage(err));
      }
      await sleep(RETRY_MS);
    }
  }

  private healthTarget(): HealthTarget {
    return { inspect: () => this.container().inspect(), stop: () => this.stopContainer() };
  }

  /** The engine's stop: the container's stop signal, then SIGKILL after the grace period; resolves once it has stopped. */
  private async stopContainer(): Promise<void> {
    const t = stopTimeoutSeconds(this.task.Spec.ContainerSpec);
    try {
      await this.container().stop(t === undefined ? {} : { t });
    } catch (err) {
      // 304: not running; 404: gone. Both mean stopped, as swarmkit reads them.
      const status = httpStatus(err);
      if (status !== 304 && status !== 404) throw new Error(engineMessage(err));
    }
  }

  private async doShutdown(): Promise<void> {
    if (this.executor.detached) return;
    await this.preparing?.catch(() => undefined);
    if (!this.containerId) return;
    await this.engineStart?.catch(() => undefined);
    if (this.executor.detached) return;
    await this.stopContainer();
  }
}
