// The embedded executor: a task is a plain child process running ContainerSpec.Command + Args, with
// no image, isolation or resource limits. It lets a node run services without a container engine
// (tests, demos, hosts without Docker). The image name is recorded but never pulled.
//
// Each task has a directory stateDir/tasks/<taskId>/ (0700) holding task.json (what was run), its
// captured output (see task-log.ts) and, while it runs, a pid file (see orphans.ts).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, hostname, machine, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Task } from '../../types/swarm';
import { TaskRejectedError, TaskStartError } from './executor';
import type {
  Executor,
  ExecutorDescription,
  ExecutorTask,
  ExitStatus,
  LogLine,
  LogOptions,
  TaskController,
} from './executor';
import { reapOrphans, removePidFile, writePidFile } from './orphans';
import { resolveProcessSpec, signalNumber } from './process-spec';
import type { ProcessSpec } from './process-spec';
import { LineSplitter, TaskLogWriter, taskLogs } from './task-log';

export interface ProcessExecutorOptions {
  /** The daemon's state directory; tasks live under stateDir/tasks/. */
  stateDir: string;
  /** Defaults to the version in shoal's package.json. */
  engineVersion?: string;
  /** Defaults to os.hostname(). */
  hostname?: string;
  /** Size at which a task's log file is rotated; a task keeps the current file and one older (default 10 MiB). */
  logMaxBytes?: number;
}

const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
/**
 * How long to wait, after the main process exits and its group is killed, for the pipes to close. Only
 * a process that left the group (setsid) can still hold them; its output past this point is dropped.
 */
const DRAIN_MS = 2000;
/** Task IDs become directory names, so anything that could climb out of tasks/ is refused. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function shoalVersion(): string {
  try {
    // src/agent/exec and dist/agent/exec are both three levels below the package root.
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export class ProcessExecutor implements Executor {
  readonly tasksDir: string;
  private readonly controllers = new Map<string, ProcessController>();

  constructor(private readonly opts: ProcessExecutorOptions) {
    this.tasksDir = join(opts.stateDir, 'tasks');
  }

  async init(): Promise<void> {
    await this.ensureTasksDir();
    await reapOrphans(this.tasksDir);
  }

  async describe(): Promise<ExecutorDescription> {
    return {
      name: 'process',
      engineVersion: this.opts.engineVersion ?? shoalVersion(),
      hostname: this.opts.hostname ?? hostname(),
      // uname -m, which is what Docker reports (x86_64, aarch64), rather than Node's x64/arm64.
      platform: { Architecture: machine(), OS: process.platform },
      resources: { NanoCPUs: cpus().length * 1e9, MemoryBytes: totalmem() },
    };
  }

  /** Throws TaskRejectedError for a task ID that cannot name a directory. */
  controller(task: Task, serviceName: string): TaskController {
    const existing = this.controllers.get(task.ID);
    if (existing) return existing;
    if (!SAFE_ID.test(task.ID)) throw new TaskRejectedError(`invalid task ID ${JSON.stringify(task.ID)}`);
    const c = new ProcessController(this, task, serviceName, join(this.tasksDir, task.ID), this.opts.logMaxBytes);
    this.controllers.set(task.ID, c);
    return c;
  }

  readonly lostTaskError = 'task: its process ended with the previous daemon (the process executor cannot adopt tasks)';

  async list(): Promise<ExecutorTask[]> {
    // A process from before a restart cannot be reattached to (its pipes went with the old daemon).
    return [];
  }

  async discard(): Promise<void> {
    // list() reports nothing, so there is nothing to discard.
  }

  detach(): void {
    // Processes cannot outlive the daemon usefully: the agent stops them.
  }

  /** @internal */
  async ensureTasksDir(): Promise<void> {
    await mkdir(this.tasksDir, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory's mode alone, and the logs in it may hold secrets.
    await chmod(this.tasksDir, 0o700);
  }

  /** @internal */
  forget(id: string, c: ProcessController): void {
    if (this.controllers.get(id) === c) this.controllers.delete(id);
  }
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group is empty already.
  }
}

function closed(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) resolve();
    else stream.once('close', () => resolve());
  });
}

/** The text Docker gives for an executable it cannot run, after swarmkit's "starting container failed". */
function execFailure(file: string, err: NodeJS.ErrnoException): string {
  const q = JSON.stringify(file);
  let why: string;
  if (err.code === 'ENOENT') {
    why = file.includes('/') ? `stat ${file}: no such file or directory` : 'executable file not found in $PATH';
  } else if (err.code === 'EACCES') why = 'permission denied';
  else why = err.message;
  return `starting container failed: exec: ${q}: ${why}`;
}

export class ProcessController implements TaskController {
  private preparing?: Promise<void>;
  private spec?: ProcessSpec;
  private writer?: TaskLogWriter;
  private starting?: Promise<{ pid: number }>;
  private exit?: Promise<ExitStatus>;
  private pid?: number;
  private exited = false;
  private stopRequested = false;
  private stopping?: Promise<void>;

  constructor(
    private readonly executor: ProcessExecutor,
    readonly task: Task,
    readonly serviceName: string,
    readonly dir: string,
    private readonly logMaxBytes = DEFAULT_LOG_MAX_BYTES,
  ) {}

  prepare(): Promise<void> {
    return (this.preparing ??= this.doPrepare());
  }

  start(): Promise<{ pid: number }> {
    return (this.starting ??= this.doStart());
  }

  async wait(): Promise<ExitStatus> {
    if (!this.starting) throw new Error(`task ${this.task.ID} was not started`);
    await this.starting;
    return this.exit!;
  }

  shutdown(): Promise<void> {
    return (this.stopping ??= this.doShutdown());
  }

  async remove(): Promise<void> {
    await this.shutdown();
    await this.writer?.end();
    await rm(this.dir, { recursive: true, force: true });
    this.executor.forget(this.task.ID, this);
  }

  logs(opts: LogOptions = {}): AsyncIterable<LogLine> {
    // The writer is looked up when iteration begins, so logs() may be called before prepare().
    return { [Symbol.asyncIterator]: () => taskLogs(this.dir, this.writer, opts) };
  }

  private async doPrepare(): Promise<void> {
    const spec = resolveProcessSpec(this.task);
    await this.executor.ensureTasksDir();
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const record = {
      ID: this.task.ID,
      ServiceID: this.task.ServiceID,
      ServiceName: this.serviceName,
      Image: spec.image ?? '',
      Argv: spec.argv,
      Dir: spec.cwd ?? '',
      PreparedAt: new Date().toISOString(),
    };
    await writeFile(join(this.dir, 'task.json'), JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
    this.writer = new TaskLogWriter(this.dir, this.logMaxBytes);
    this.spec = spec;
  }

  private async doStart(): Promise<{ pid: number }> {
    const { spec, writer } = this;
    if (!spec || !writer) throw new Error(`task ${this.task.ID}: start() before prepare() succeeded`);
    if (this.stopRequested) throw new TaskStartError('starting container failed: the task was shut down');
    try {
      await this.checkDir(spec);
    } catch (err) {
      void writer.end();
      throw err;
    }

    let child: ChildProcess;
    try {
      child = spawn(spec.argv[0], spec.argv.slice(1), {
        cwd: spec.cwd,
        env: spec.env,
        uid: spec.uid,
        gid: spec.gid,
        // Its own process group (and session), so one kill(-pid) reaches everything the task started,
        // and a Ctrl-C aimed at a foreground daemon does not hit the tasks directly.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      void writer.end();
      throw new TaskStartError(execFailure(spec.argv[0], err as NodeJS.ErrnoException));
    }

    // Listen at once: output and exit can only be delivered after this tick, but must not be missed.
    const out = child.stdout!;
    const err = child.stderr!;
    const streamsClosed = Promise.all([this.capture(out, 'stdout', writer), this.capture(err, 'stderr', writer)]);
    writer.flowControl(
      () => (out.pause(), err.pause()),
      () => (out.resume(), err.resume()),
    );
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );

    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (e) {
      out.destroy();
      err.destroy();
      void writer.end();
      throw new TaskStartError(execFailure(spec.argv[0], e as NodeJS.ErrnoException));
    }
    // Errors after a successful spawn concern signalling, which this class does not do through child.
    child.on('error', () => undefined);
    const pid = child.pid!;
    this.pid = pid;
    const pidFile = writePidFile(this.dir, pid).catch(() => undefined);
    this.exit = this.finish(pid, exited, streamsClosed, out, err, writer, pidFile);
    await pidFile;
    return { pid };
  }

  private async checkDir(spec: ProcessSpec): Promise<void> {
    if (!spec.cwd) return;
    // spawn reports a missing cwd as ENOENT, which would read as a missing executable.
    let isDir: boolean;
    try {
      isDir = (await stat(spec.cwd)).isDirectory();
    } catch {
      throw new TaskStartError(
        `starting container failed: working directory ${JSON.stringify(spec.cwd)} does not exist`,
      );
    }
    if (!isDir) {
      throw new TaskStartError(
        `starting container failed: working directory ${JSON.stringify(spec.cwd)} is not a directory`,
      );
    }
  }

  private capture(stream: Readable, name: 'stdout' | 'stderr', writer: TaskLogWriter): Promise<void> {
    const splitter = new LineSplitter((line) => writer.append({ stream: name, time: new Date(), line }));
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    stream.on('error', () => undefined);
    return closed(stream).then(() => splitter.end());
  }

  private async finish(
    pid: number,
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
    streamsClosed: Promise<unknown>,
    out: Readable,
    err: Readable,
    writer: TaskLogWriter,
    pidFile: Promise<void>,
  ): Promise<ExitStatus> {
    const { code, signal } = await exited;
    this.exited = true;
    // As when a container's PID namespace ends: what the main process leaves behind in its group
    // dies with it. That also closes the pipes that a background child would otherwise keep open.
    killGroup(pid, 'SIGKILL');
    // Output still in the pipes when the timer fires (a stalled event loop runs timers before it reads) is read
    // first: the streams go one turn of the loop later.
    const timer = setTimeout(() => setImmediate(() => (out.destroy(), err.destroy())), DRAIN_MS);
    await streamsClosed;
    clearTimeout(timer);
    await writer.end();
    // A quick task can exit before its pid file is even written; removing it first would leave it behind.
    await pidFile;
    await removePidFile(this.dir);
    return signal ? { exitCode: 128 + signalNumber(signal), signal } : { exitCode: code ?? 0 };
  }

  private async doShutdown(): Promise<void> {
    this.stopRequested = true;
    if (this.starting) await this.starting.catch(() => undefined);
    if (!this.exit || this.pid === undefined) {
      // Never started: nothing will write to the log again, so followers can finish.
      await this.writer?.end();
      return;
    }
    if (!this.exited) {
      const { stopSignal, stopGraceMs } = this.spec!;
      const pid = this.pid;
      killGroup(pid, stopSignal);
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), stopGraceMs);
      try {
        await this.exit;
      } finally {
        clearTimeout(timer);
      }
    }
    await this.exit;
  }
}
