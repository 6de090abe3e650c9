// The Docker executor: a node's tasks run as containers on a Docker Engine, reached with dockerode
// at --docker-host. Containers carry Docker Swarm's labels, so they outlive the shoal daemon and the
// next daemon finds and adopts them (list()), as swarmkit's agent does after a restart.

import type Docker from 'dockerode';
import type { Task } from '../../../types/swarm';
import type { Executor, ExecutorDescription, ExecutorTask, TaskController } from '../executor';
import { LABEL } from './container-spec';
import { DockerController } from './controller';
import { cannotConnect, connectEngine, engineMessage, engineUnreachable, httpStatus } from './engine';
import type { DockerHost } from './engine';
import { EngineEvents } from './events';
import { DESTROYED } from './health';
import { ImagePuller } from './image-pull';

export interface DockerExecutorOptions {
  /** `unix:///var/run/docker.sock` or `tcp://host:port`. */
  dockerHost: DockerHost;
}

/** A container found by list(): what discard() and an adopting controller need. */
interface Leftover {
  id: string;
  state: ExecutorTask['state'];
}

export class DockerExecutor implements Executor {
  readonly docker: Docker;
  readonly events: EngineEvents;
  readonly puller: ImagePuller;
  readonly lostTaskError = DESTROYED;
  /** Set by detach(): the daemon is exiting and leaves the containers to the next one. */
  detached = false;
  private readonly abort = new AbortController();
  private readonly controllers = new Map<string, DockerController>();
  private readonly leftovers = new Map<string, Leftover>();

  constructor(readonly opts: DockerExecutorOptions) {
    this.docker = connectEngine(opts.dockerHost);
    this.events = new EngineEvents(this.docker);
    this.puller = new ImagePuller(this.docker);
  }

  /** Aborts the long-running engine calls (waits, log follows) once the executor is detached. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  async init(): Promise<void> {
    try {
      await this.docker.ping();
      await this.events.open();
    } catch (err) {
      throw new Error(engineUnreachable(err) ? cannotConnect(this.opts.dockerHost) : engineMessage(err));
    }
  }

  async describe(): Promise<ExecutorDescription> {
    const info = (await this.docker.info()) as {
      Name: string;
      Architecture: string;
      OSType: string;
      NCPU: number;
      MemTotal: number;
      ServerVersion: string;
    };
    // What Docker Swarm puts in a node's description: the engine's host, platform, resources and version.
    return {
      name: 'docker',
      engineVersion: info.ServerVersion,
      hostname: info.Name,
      platform: { Architecture: info.Architecture, OS: info.OSType },
      resources: { NanoCPUs: info.NCPU * 1e9, MemoryBytes: info.MemTotal },
    };
  }

  controller(task: Task, serviceName: string): TaskController {
    const existing = this.controllers.get(task.ID);
    if (existing) return existing;
    const c = new DockerController(this, task, serviceName, this.leftovers.get(task.ID)?.id);
    this.controllers.set(task.ID, c);
    return c;
  }

  async list(nodeId: string): Promise<ExecutorTask[]> {
    const found = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.nodeId}=${nodeId}`] },
    });
    const out: ExecutorTask[] = [];
    for (const c of found) {
      const taskId = c.Labels?.[LABEL.taskId];
      if (!taskId) continue;
      // 'restarting' and 'paused' still hold a live process; 'removing' and 'dead' are as good as exited.
      const state: ExecutorTask['state'] =
        c.State === 'created'
          ? 'created'
          : ['running', 'restarting', 'paused'].includes(c.State)
            ? 'running'
            : 'exited';
      this.leftovers.set(taskId, { id: c.Id, state });
      out.push({ taskId, state });
    }
    return out;
  }

  async discard(taskId: string): Promise<void> {
    const left = this.leftovers.get(taskId);
    if (!left) return;
    this.leftovers.delete(taskId);
    const c = this.docker.getContainer(left.id);
    try {
      // The engine's stop uses the grace period the container was created with (StopTimeout).
      if (left.state === 'running') await c.stop();
    } catch (err) {
      if (httpStatus(err) !== 304 && httpStatus(err) !== 404) throw new Error(engineMessage(err));
    }
    try {
      await c.remove({ force: true, v: true });
    } catch (err) {
      if (httpStatus(err) !== 404 && httpStatus(err) !== 409) throw new Error(engineMessage(err));
    }
  }

  detach(): void {
    this.detached = true;
    this.abort.abort();
    this.events.close();
  }

  /** @internal Called by a controller once its container is removed. */
  forget(taskId: string, c: DockerController): void {
    if (this.controllers.get(taskId) === c) this.controllers.delete(taskId);
    this.leftovers.delete(taskId);
  }
}
