import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApiError, rpcError } from './errors';
import { writeError } from './http';
import { Router } from './router';
import { API_VERSION, checkApiVersion } from './version';
import type { ApiContext } from './context';
import { systemRoutes } from './routes/system';
import { swarmRoutes } from './routes/swarm';
import { nodeRoutes } from './routes/nodes';
import { serviceRoutes } from './routes/services';
import { taskRoutes } from './routes/tasks';
import { ExistsError, MissingError, SequenceConflictError } from '../store/errors';

/** The Docker Engine API over HTTP/1.1: every route both as /vX.Y/path and unversioned, as moby registers them. */
export function createApiServer(ctx: ApiContext): Server {
  const router = new Router();
  systemRoutes(router, ctx);
  // The cluster's state (swarm, nodes, services, tasks) is read from this manager's store, which on a follower may
  // lag the leader: a client that wrote through one manager and then reads through another would not see its own
  // write, and reads on different managers would go back in time. Every GET of it therefore first waits for a Raft
  // read barrier (ReadIndex), so that reads are linearizable from any manager, and fail with the no-leader error
  // without a quorum, as Docker's (proxied to the leader) do. Node-local routes (_ping, info, version) do not wait.
  const cluster = router.guarded('GET', () => ctx.node.readBarrier());
  swarmRoutes(cluster, ctx);
  nodeRoutes(cluster, ctx);
  serviceRoutes(cluster, ctx);
  taskRoutes(cluster, ctx);

  return createServer((req, res) => void handle(router, req, res));
}

async function handle(router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader('Api-Version', API_VERSION);
  res.setHeader('Ostype', 'linux');
  res.setHeader('Server', `shoal (linux)`);
  res.setHeader('Docker-Experimental', 'false');
  try {
    const url = new URL(req.url ?? '/', 'http://shoal');
    let path = url.pathname;
    let apiVersion = API_VERSION;
    const vm = /^\/v([0-9.]+)(\/.*)$/.exec(path);
    if (vm) {
      apiVersion = vm[1];
      path = vm[2];
      const bad = checkApiVersion(apiVersion);
      if (bad) throw new ApiError(400, bad);
    }
    const found = router.match(req.method ?? 'GET', path);
    if (!found) throw new ApiError(404, 'page not found');
    await found.handler({ req, res, params: found.params, query: url.searchParams, apiVersion });
  } catch (err) {
    const e = toApiError(err);
    if (e.status >= 500 && !(err instanceof ApiError))
      console.error(`api: ${req.method} ${req.url?.split('?')[0]}: ${(err as Error).stack}`);
    writeError(res, e.status, e.message);
  }
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof SequenceConflictError) return rpcError('Unknown', err.message);
  if (err instanceof ExistsError) {
    return rpcError('AlreadyExists', `name conflicts with an existing object: ${err.table} ${err.name} already exists`);
  }
  if (err instanceof MissingError) return rpcError('NotFound', err.message);
  return new ApiError(500, (err as Error)?.message ?? String(err));
}
