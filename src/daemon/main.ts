import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { createApiServer } from '../api/server';
import { SwarmNode } from './swarm-node';
import { ProcessExecutor } from '../agent/exec/process-executor';

export interface DaemonOptions {
  dataRoot: string;
  socketPath: string;
  executor: 'process';
  version: string;
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
 * 0660. SIGTERM or SIGINT stops the tasks and exits cleanly.
 */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  await mkdir(opts.dataRoot, { recursive: true, mode: 0o700 });
  await chmod(opts.dataRoot, 0o700);
  await mkdir(dirname(opts.socketPath), { recursive: true });
  if (await socketInUse(opts.socketPath)) {
    throw new Error(`another daemon is already listening on ${opts.socketPath}`);
  }
  await rm(opts.socketPath, { force: true });

  const executor = new ProcessExecutor({ stateDir: join(opts.dataRoot, 'exec'), engineVersion: opts.version });
  await executor.init();
  const node = new SwarmNode(opts.dataRoot, executor);
  const server = createApiServer({
    node,
    version: opts.version,
    daemonId: randomUUID(),
    dataRoot: opts.dataRoot,
    executorName: opts.executor,
  });
  const oldUmask = process.umask(0o117);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => resolve());
  });
  process.umask(oldUmask);
  await chmod(opts.socketPath, 0o660);
  console.log(
    `shoal daemon ${opts.version}: API listening on unix://${opts.socketPath} (data root ${opts.dataRoot}, executor ${opts.executor})`,
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
    console.log(`shoal daemon: ${signal}: stopping tasks`);
    server.close();
    server.closeAllConnections();
    await node.shutdown().catch((err) => console.error(`shoal daemon: shutdown: ${err.message}`));
    await rm(opts.socketPath, { force: true });
    console.log('shoal daemon: stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
