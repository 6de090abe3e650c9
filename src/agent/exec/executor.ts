// The seam between the agent and whatever runs a task, after swarmkit's agent/exec: an Executor
// describes the node and hands out one TaskController per task; the agent drives the controller
// through the task's life (prepare → start → wait, and shutdown/remove when told to). Two executors
// implement it: the embedded process executor (tasks are child processes that die with the daemon)
// and the Docker executor (tasks are containers on a Docker Engine, which outlive the daemon and are
// adopted again when it comes back; see agent.ts).

import type { Task } from '../../types/swarm';

export interface ExecutorDescription {
  name: 'process' | 'docker';
  engineVersion: string;
  hostname: string;
  /** As Docker reports it: Architecture 'x86_64' / 'aarch64', OS 'linux'. */
  platform: { Architecture: string; OS: string };
  resources: { NanoCPUs: number; MemoryBytes: number };
}

/**
 * What the executor still has of a task from before the agent (re)started: a container the agent may
 * adopt. `created` was never started, `running` still runs, `exited` ran and stopped while nobody watched.
 */
export interface ExecutorTask {
  taskId: string;
  state: 'created' | 'running' | 'exited';
}

export interface Executor {
  /**
   * Called once before use. The process executor kills the process groups a crashed daemon left
   * behind (it cannot reattach to their output, so it never adopts them); the Docker executor checks
   * that the engine answers and opens its event stream.
   */
  init(): Promise<void>;
  describe(): Promise<ExecutorDescription>;
  /**
   * The controller for a task. Asking again for the same task ID returns the same controller until
   * it is removed, because the process executor's only record of a running task is that controller.
   * May throw TaskRejectedError for a task the executor cannot represent at all (e.g. an unusable ID).
   *
   * For a task that list() reported, the controller adopts what is there: prepare() finds the
   * container instead of creating one, start() returns the running container's pid without starting
   * it again (swarmkit's ErrTaskStarted), and wait() reports how it ends, or how it already ended.
   */
  controller(task: Task, serviceName: string): TaskController;
  /**
   * The tasks of node `nodeId` the executor still has from before (containers carry the node ID in a
   * label), for the agent to adopt or discard when it starts. The process executor returns [].
   */
  list(nodeId: string): Promise<ExecutorTask[]>;
  /**
   * Stops and deletes what list() reported for a task the agent no longer has (e.g. its service was
   * removed while the daemon was down).
   */
  discard(taskId: string): Promise<void>;
  /**
   * The daemon is exiting, not leaving the swarm: tasks that can outlive it (containers) are left as
   * they are, to be adopted by the next daemon. From now on the controllers' shutdown() and remove()
   * do nothing, wait() never settles (so no task is reported as ended), and the engine connection
   * closes. The process executor does nothing: its processes cannot be adopted, so they are stopped.
   */
  detach(): void;
  /**
   * Status.Err for a task that was starting or running before a restart and that the executor no
   * longer has (list() did not report it): the agent fails it, so the orchestrator replaces it.
   */
  readonly lostTaskError: string;
}

/** How a task's main process ended. A signal also sets exitCode to 128 + its number, as Docker does. */
export interface ExitStatus {
  exitCode: number;
  signal?: string;
  /** Why, when the executor knows more than the code (swarmkit's exitError cause, e.g. an unhealthy container). */
  cause?: string;
}

/** What start() returns: the task's main process, and its container when it has one (ContainerStatus.ContainerID). */
export interface StartedTask {
  pid: number;
  containerId?: string;
}

export interface LogOptions {
  /** Keep yielding new lines until the task has exited and its output is drained, or `signal` aborts. */
  follow?: boolean;
  /** Only the last N lines of what is already stored (after the stream and `since` filters); 0 → none. */
  tail?: number;
  /** Only lines captured at or after this time. */
  since?: Date;
  /** With neither stdout nor stderr set, both streams; otherwise exactly those set to true. */
  stdout?: boolean;
  stderr?: boolean;
  /** Ends the iteration (quietly, without an error). */
  signal?: AbortSignal;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** When the daemon read the line from the pipe. */
  time: Date;
  /**
   * The text including its trailing '\n'. A line longer than 16 KiB comes in pieces, and only the last
   * piece ends in '\n' (Docker's partial messages); concatenating the lines reproduces the output.
   */
  line: string;
}

export interface TaskController {
  /** Validates the spec and creates the task's files. Throws TaskRejectedError for a spec it cannot run. Idempotent. */
  prepare(): Promise<void>;
  /**
   * Starts the task. Throws TaskStartError if it cannot be started. A second call returns the same pid.
   * With a healthcheck (the spec's or the image's), resolves only once the task is healthy, as
   * swarmkit does, and throws TaskStartError if it dies or turns unhealthy first.
   */
  start(): Promise<StartedTask>;
  /**
   * Resolves once the task's process has exited and its output is stored. Throws if start() never
   * succeeded. A task that turns unhealthy is stopped, and its status carries the cause.
   */
  wait(): Promise<ExitStatus>;
  /**
   * Sends ContainerSpec.StopSignal (default SIGTERM), then SIGKILL after StopGracePeriod (default 10 s);
   * resolves once the process has exited. Safe to call at any time and more than once.
   */
  shutdown(): Promise<void>;
  /** Shuts the task down if needed and deletes its files, logs included. */
  remove(): Promise<void>;
  /**
   * The task's stored output, then (with follow) new output as it comes. The process executor has
   * nothing to follow for a task it did not prepare (e.g. one from before a restart): it yields what is
   * stored and ends. The Docker executor reads the container's log through the engine, adopted or not.
   */
  logs(opts?: LogOptions): AsyncIterable<LogLine>;
}

/**
 * An error that ends a task, carrying the state the agent should report. swarmkit decides by phase:
 * an error before the task starts rejects it, from starting on it fails it.
 */
export abstract class TaskExecError extends Error {
  abstract readonly taskState: 'rejected' | 'failed';
}

/** The executor cannot run this spec (e.g. no command): the task goes to `rejected`, and Status.Err gets the message. */
export class TaskRejectedError extends TaskExecError {
  readonly taskState = 'rejected';
  constructor(message: string) {
    super(message);
    this.name = 'TaskRejectedError';
  }
}

/** The task could not be started (e.g. executable not found): the task goes to `failed`. */
export class TaskStartError extends TaskExecError {
  readonly taskState = 'failed';
  constructor(message: string) {
    super(message);
    this.name = 'TaskStartError';
  }
}

/** swarmkit's Status.Err for an exit that fails the task, or undefined for a clean exit (code 0 → `complete`). */
export function exitError(status: ExitStatus): string | undefined {
  if (status.exitCode === 0) return undefined;
  const text = `task: non-zero exit (${status.exitCode})`;
  return status.cause ? `${text}: ${status.cause}` : text;
}
