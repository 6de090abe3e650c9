// The seam between the agent and whatever runs a task, after swarmkit's agent/exec: an Executor
// describes the node and hands out one TaskController per task; the agent drives the controller
// through the task's life (prepare → start → wait, and shutdown/remove when told to). The embedded
// process executor implements it now; a Docker executor (dockerode) is meant to implement it later.

import type { Task } from '../../types/swarm';

export interface ExecutorDescription {
  name: 'process' | 'docker';
  engineVersion: string;
  hostname: string;
  /** As Docker reports it: Architecture 'x86_64' / 'aarch64', OS 'linux'. */
  platform: { Architecture: string; OS: string };
  resources: { NanoCPUs: number; MemoryBytes: number };
}

/** A task the executor found still running from before the agent (re)started, which the agent may adopt. */
export interface ExecutorTask {
  taskId: string;
  running: boolean;
}

export interface Executor {
  /**
   * Called once before use. The process executor kills the process groups a crashed daemon left
   * behind (it cannot reattach to their output, so it never adopts them); a Docker executor would
   * check its connection here.
   */
  init(): Promise<void>;
  describe(): Promise<ExecutorDescription>;
  /**
   * The controller for a task. Asking again for the same task ID returns the same controller until
   * it is removed, because the process executor's only record of a running task is that controller.
   * May throw TaskRejectedError for a task the executor cannot represent at all (e.g. an unusable ID).
   */
  controller(task: Task, serviceName: string): TaskController;
  /** Tasks the executor still has from before, for adoption after a restart; the process executor returns []. */
  list(): Promise<ExecutorTask[]>;
}

/** How a task's main process ended. A signal also sets exitCode to 128 + its number, as Docker does. */
export interface ExitStatus {
  exitCode: number;
  signal?: string;
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
  /** Starts the task. Throws TaskStartError if it cannot be started. A second call returns the same pid. */
  start(): Promise<{ pid: number }>;
  /** Resolves once the task's process has exited and its output is stored. Throws if start() never succeeded. */
  wait(): Promise<ExitStatus>;
  /**
   * Sends ContainerSpec.StopSignal (default SIGTERM), then SIGKILL after StopGracePeriod (default 10 s);
   * resolves once the process has exited. Safe to call at any time and more than once.
   */
  shutdown(): Promise<void>;
  /** Shuts the task down if needed and deletes its files, logs included. */
  remove(): Promise<void>;
  /**
   * The task's stored output, then (with follow) new output as it comes. For a task this executor did
   * not prepare (e.g. one from before a restart) there is nothing to follow: it yields what is stored and ends.
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
  return status.exitCode === 0 ? undefined : `task: non-zero exit (${status.exitCode})`;
}
