// Where the shoal daemon listens and keeps its state, shared by the CLI and the daemon.
// Kept free of imports beyond node builtins: every CLI invocation loads it.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The socket a root daemon listens on, like dockerd's /var/run/docker.sock. */
export const ROOT_SOCKET_PATH = '/var/run/shoal.sock';
/** The state directory of a root daemon, like /var/lib/docker. */
export const ROOT_DATA_ROOT = '/var/lib/shoal';
export const SOCKET_FILE_NAME = 'shoal.sock';

type Env = Record<string, string | undefined>;

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The socket used when neither -H nor SHOAL_HOST says otherwise (rootless: under $XDG_RUNTIME_DIR). */
export function defaultSocketPath(env: Env = process.env, root = isRoot()): string {
  if (root) return ROOT_SOCKET_PATH;
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir) return join(runtimeDir, SOCKET_FILE_NAME);
  return join(env.HOME || homedir(), '.shoal', SOCKET_FILE_NAME);
}

/** The data root used when --data-root and SHOAL_DATA_ROOT are absent. */
export function defaultDataRoot(env: Env = process.env, root = isRoot()): string {
  if (env.SHOAL_DATA_ROOT) return env.SHOAL_DATA_ROOT;
  if (root) return ROOT_DATA_ROOT;
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(dataHome, 'shoal');
}

/**
 * The socket path of a `unix:///path.sock` host string. Only Unix sockets are supported;
 * other schemes (tcp://, ssh://, npipe://, fd://) and bare paths are refused.
 */
export function parseHost(host: string): string {
  const trimmed = host.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(trimmed);
  if (!scheme) {
    throw new Error(`invalid host "${host}": expected unix:///path/to/shoal.sock`);
  }
  if (scheme[1].toLowerCase() !== 'unix') {
    throw new Error(`invalid host "${host}": only unix:// sockets are supported`);
  }
  const path = trimmed.slice(scheme[0].length);
  if (path === '') throw new Error(`invalid host "${host}": the socket path is empty`);
  return path;
}

/** The host string for a socket path, as the daemon's --host flag and error messages show it. */
export function hostForSocket(socketPath: string): string {
  return `unix://${socketPath}`;
}

/** The daemon host the CLI talks to: the -H flag, else $SHOAL_HOST, else the default socket. */
export function resolveHost(flag: string | undefined, env: Env = process.env): string {
  if (flag) return flag;
  if (env.SHOAL_HOST) return env.SHOAL_HOST;
  return hostForSocket(defaultSocketPath(env));
}
