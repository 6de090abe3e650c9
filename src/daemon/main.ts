import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { createApiServer } from '../api/server';
import { SwarmNode } from './swarm-node';
import { ProcessExecutor } from '../agent/exec/process-executor';
import type { Executor } from '../agent/exec/executor';

/** How tasks run: processes, containers on a Docker Engine, or containers when an engine answers. */
export type ExecutorChoice = 'process' | 'docker' | 'auto';

export interface DaemonOptions {
  dataRoot: string;
  socketPath: string;
  executor: ExecutorChoice;
  /** The Docker Engine for the docker executor: unix:///path or tcp://host:port. */
  dockerHost: string;
  version: string;
}

interface OpenedExecutor {
  executor: Executor;
  name: 'process' | 'docker';
  /** For the start-up line: where the engine is, or why `auto` chose processes. */
  detail: string;
}

/**
 * The executor, initialised. `docker` fails start-up if no engine answers (with the docker CLI's
 * text); `auto` then runs processes instead. dockerode is loaded only when an engine is used.
 */
async function openExecutor(opts: DaemonOptions): Promise<OpenedExecutor> {
  if (opts.executor !== 'process') {
    // DOCKER_HOST is often this very daemon's socket (to drive shoal with the docker CLI): never an engine.
    const ownSocket = opts.dockerHost === `unix://${opts.socketPath}`;
    let engineVersion: string | undefined;
    if (opts.executor === 'auto' && !ownSocket) {
      const { probeEngine } = await import('../agent/exec/docker/probe');
      engineVersion = await probeEngine(opts.dockerHost);
    }
    if (opts.executor === 'docker' || engineVersion !== undefined) {
      if (ownSocket)
        throw new Error(`--docker-host ${opts.dockerHost} is this daemon's own socket, not a Docker Engine`);
      const { DockerExecutor } = await import('../agent/exec/docker/docker-executor');
      const executor = new DockerExecutor({ dockerHost: opts.dockerHost });
      await executor.init();
      const desc = await executor.describe();
      return { executor, name: 'docker', detail: `Docker Engine ${desc.engineVersion} at ${opts.dockerHost}` };
    }
  }
  const executor = new ProcessExecutor({ stateDir: join(opts.dataRoot, 'exec'), engineVersion: opts.version });
  await executor.init();
  const detail = opts.executor === 'auto' ? `auto: no Docker Engine answers at ${opts.dockerHost}` : '';
  return { executor, name: 'process', detail };
}

/** Whether something already answers on the socket (another daemon): then we must not take it over. */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Runs the node in the foreground, as dockerd does: data root 0700, the API on a Unix socket
 * 0660. SIGTERM or SIGINT exits cleanly: process tasks are stopped, containers are left running
 * for the next daemon to adopt.
 */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  await mkdir(opts.dataRoot, { recursive: true, mode: 0o700 });
  await chmod(opts.dataRoot, 0o700);
  await mkdir(dirname(opts.socketPath), { recursive: true });
  if (await socketInUse(opts.socketPath)) {
    throw new Error(`another daemon is already listening on ${opts.socketPath}`);
  }
  await rm(opts.socketPath, { force: true });

  const { executor, name: executorName, detail } = await openExecutor(opts);
  const node = new SwarmNode(opts.dataRoot, executor);
  try {
    // Back into the swarm this data root belongs to (or locked, with autolock); a damaged log stops us here.
    await node.resume();
  } catch (err) {
    // The engine's event stream would otherwise keep the process alive after the error.
    executor.detach();
    throw err;
  }
  const server = createApiServer({
    node,
    version: opts.version,
    daemonId: randomUUID(),
    dataRoot: opts.dataRoot,
    executorName,
  });
  const oldUmask = process.umask(0o117);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => resolve());
  });
  process.umask(oldUmask);
  await chmod(opts.socketPath, 0o660);
  console.log(
    `shoal daemon ${opts.version}: API listening on unix://${opts.socketPath} (data root ${opts.dataRoot}, executor ${executorName}${detail ? `: ${detail}` : ''})`,
  );

  // The daemon must outlive any one bad request or task.
  process.on('uncaughtException', (err) => console.error(`shoal daemon: uncaught: ${err.stack ?? err}`));
  process.on('unhandledRejection', (err) =>
    console.error(`shoal daemon: unhandled rejection: ${(err as Error)?.stack ?? err}`),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(
      `shoal daemon: ${signal}: ${executorName === 'docker' ? 'leaving containers running' : 'stopping tasks'}`,
    );
    server.close();
    server.closeAllConnections();
    // Exiting is not leaving the swarm: containers keep running, for the next daemon to adopt.
    executor.detach();
    await node.shutdown().catch((err) => console.error(`shoal daemon: shutdown: ${err.message}`));
    await rm(opts.socketPath, { force: true });
    console.log('shoal daemon: stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
