// `swarm init` starts the bundled daemon when nothing answers on the socket: the same node
// binary runs `bin/run.js daemon` detached, logging to <data root>/shoal-daemon.log, and the CLI
// waits for /_ping before going on with the init.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConnectionError } from '../client/api-client';
import type { ShoalClient } from '../client/shoal-client';
import { defaultDataRoot, hostForSocket } from '../client/paths';
import { CliError } from './errors';

export const DAEMON_LOG_NAME = 'shoal-daemon.log';
const START_TIMEOUT_MS = 15_000;
const POLL_MS = 100;
/** bin/run.js, from dist/cli (built) or src/cli (tests): both sit two levels below the package root. */
const RUN_JS = join(__dirname, '..', '..', 'bin', 'run.js');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True when the daemon answers; false when nothing listens on the socket (ENOENT, ECONNREFUSED). */
export async function daemonAnswers(client: ShoalClient): Promise<boolean> {
  try {
    await client.ping(2000);
    return true;
  } catch (err) {
    if (err instanceof ConnectionError && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) return false;
    throw err;
  }
}

export interface AutostartResult {
  dataRoot: string;
  logPath: string;
}

/**
 * Starts the daemon in the background and waits until it answers /_ping. `entry` is the script
 * run with `daemon --data-root … --host …` (bin/run.js; tests pass a stand-in).
 */
export async function startDaemon(
  client: ShoalClient,
  env: NodeJS.ProcessEnv = process.env,
  entry: string = RUN_JS,
): Promise<AutostartResult> {
  const dataRoot = defaultDataRoot(env);
  mkdirSync(dataRoot, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(client.socketPath), { recursive: true, mode: 0o700 });
  const logPath = join(dataRoot, DAEMON_LOG_NAME);
  const logFd = openSync(logPath, 'a', 0o600);
  let exited: number | null | undefined;
  try {
    const child = spawn(
      process.execPath,
      [entry, 'daemon', '--data-root', dataRoot, '--host', hostForSocket(client.socketPath)],
      { detached: true, stdio: ['ignore', logFd, logFd], env },
    );
    child.once('exit', (code) => (exited = code));
    child.once('error', () => (exited = -1));
    child.unref();
  } finally {
    closeSync(logFd);
  }

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new CliError(`the shoal daemon exited during start-up (status ${exited}); see ${logPath}`);
    }
    if (await daemonAnswers(client)) return { dataRoot, logPath };
    await sleep(POLL_MS);
  }
  throw new CliError(`the shoal daemon did not answer on ${client.host} within 15 seconds; see ${logPath}`);
}
