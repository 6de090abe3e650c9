// The connection to a Docker Engine (dockerode) and the engine's own error texts, which become the
// tasks' Status.Err as they do under Docker Swarm.

import Docker from 'dockerode';

/** `unix:///path` or `tcp://host:port` (plain HTTP), as dockerd's -H and DOCKER_HOST take them. */
export type DockerHost = string;

export const DEFAULT_DOCKER_HOST: DockerHost = 'unix:///var/run/docker.sock';

/** dockerode options for a host, given explicitly so that docker-modem's DOCKER_HOST defaults cannot win. */
export function engineOptions(host: DockerHost): Docker.DockerOptions {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath.startsWith('/'))
      throw new Error(`invalid docker host ${JSON.stringify(host)}: the socket path must be absolute`);
    return { socketPath, host: undefined, port: undefined, protocol: undefined };
  }
  const m = /^(?:tcp|http):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(host);
  if (!m) throw new Error(`invalid docker host ${JSON.stringify(host)}: expected unix:///path or tcp://host:port`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]), protocol: 'http', socketPath: undefined };
}

export function connectEngine(host: DockerHost, timeoutMs?: number): Docker {
  return new Docker({ ...engineOptions(host), ...(timeoutMs ? { timeout: timeoutMs } : {}) });
}

/** docker-modem's error: an HTTP status with the engine's JSON body, or a plain socket error. */
interface ModemError extends Error {
  statusCode?: number;
  json?: unknown;
  code?: string;
}

export function httpStatus(err: unknown): number | undefined {
  return (err as ModemError | undefined)?.statusCode;
}

/** The socket-level failures that mean no engine answers there (as opposed to an engine saying no). */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTSOCK']);

export function engineUnreachable(err: unknown): boolean {
  const code = (err as ModemError | undefined)?.code;
  return !!code && UNREACHABLE.has(code);
}

/** The docker CLI's text for an engine that does not answer. */
export function cannotConnect(host: DockerHost): string {
  return `Cannot connect to the Docker daemon at ${host}. Is the docker daemon running?`;
}

/**
 * The engine's own message for a failed call: the `message` of its JSON error body (what the docker
 * CLI prints after "Error response from daemon: "), without docker-modem's "(HTTP code …)" wrapping.
 */
export function engineMessage(err: unknown): string {
  const e = err as ModemError | undefined;
  const body = e?.json;
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message.trim();
  }
  if (typeof body === 'string' && body.trim()) return body.trim();
  if (Buffer.isBuffer(body) && body.length) return body.toString('utf8').trim();
  // For streaming calls (pull, logs, events) docker-modem keeps the body only inside its message.
  const m = /^\(HTTP code \d+\) [^-]*- ([\s\S]*)$/.exec(e?.message ?? '');
  if (m) return m[1].trim();
  return e?.message ?? String(err);
}
