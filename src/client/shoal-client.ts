// Typed calls for the endpoints the CLI uses, each making the request the docker CLI's Go
// client makes for the same operation (paths, query keys and values as in the reference §4–§7).
import type {
  InitRequest,
  JoinRequest,
  Node,
  NodeSpec,
  ServiceCreateResponse,
  ServiceSpec,
  Swarm,
  SwarmSpec,
  Task,
} from '../types/swarm';
import { ApiClient, type FilterArgs } from './api-client';
import type {
  PingInfo,
  ServerVersion,
  ServiceUpdateResponse,
  ServiceWithJob,
  SystemInfo,
  TaskWithJob,
  UnlockKeyResponse,
} from './system-types';

export interface SwarmUpdateFlags {
  rotateWorkerToken?: boolean;
  rotateManagerToken?: boolean;
  rotateManagerUnlockKey?: boolean;
}

export interface ServiceUpdateOptions {
  /** `spec` or `previous-spec`; the CLI sends `spec` from `service update`, nothing from `scale`. */
  registryAuthFrom?: 'spec' | 'previous-spec';
  /** `previous` asks the daemon for a server-side rollback. */
  rollback?: 'previous';
  /** base64url JSON of registry credentials (X-Registry-Auth). */
  encodedRegistryAuth?: string;
}

const ref = (s: string): string => encodeURIComponent(s);

export class ShoalClient extends ApiClient {
  // ---- system ----------------------------------------------------------------

  /** HEAD /_ping (unversioned), as the docker CLI does before its first call. */
  async ping(timeoutMs?: number): Promise<PingInfo> {
    const res = await this.head('/_ping', { versioned: false, timeoutMs });
    const h = (name: string): string | undefined => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    return {
      apiVersion: h('api-version'),
      osType: h('ostype'),
      experimental: h('docker-experimental') === 'true',
      swarm: h('swarm'),
    };
  }

  info(): Promise<SystemInfo> {
    return this.get<SystemInfo>('/info');
  }

  version(): Promise<ServerVersion> {
    return this.get<ServerVersion>('/version');
  }

  // ---- swarm -----------------------------------------------------------------

  /** POST /swarm/init; resolves to the new node's ID. */
  swarmInit(req: InitRequest): Promise<string> {
    return this.post<string>('/swarm/init', req);
  }

  async swarmJoin(req: JoinRequest): Promise<void> {
    await this.post('/swarm/join', req);
  }

  /** POST /swarm/leave, with no body; `force=1` as the Go client sends it. */
  async swarmLeave(force: boolean): Promise<void> {
    await this.request('POST', '/swarm/leave', { query: force ? { force: '1' } : undefined });
  }

  swarmInspect(): Promise<Swarm> {
    return this.get<Swarm>('/swarm');
  }

  /** POST /swarm/update?rotateManagerToken=…&rotateManagerUnlockKey=…&rotateWorkerToken=…&version=N */
  async swarmUpdate(version: number | undefined, spec: SwarmSpec, flags: SwarmUpdateFlags = {}): Promise<void> {
    await this.post('/swarm/update', spec, {
      version: String(version ?? 0),
      rotateWorkerToken: String(flags.rotateWorkerToken ?? false),
      rotateManagerToken: String(flags.rotateManagerToken ?? false),
      rotateManagerUnlockKey: String(flags.rotateManagerUnlockKey ?? false),
    });
  }

  swarmUnlockKey(): Promise<UnlockKeyResponse> {
    return this.get<UnlockKeyResponse>('/swarm/unlockkey');
  }

  async swarmUnlock(unlockKey: string): Promise<void> {
    await this.post('/swarm/unlock', { UnlockKey: unlockKey });
  }

  // ---- nodes -----------------------------------------------------------------

  async nodeList(filters: FilterArgs = {}): Promise<Node[]> {
    return (await this.get<Node[] | undefined>('/nodes', { filters })) ?? [];
  }

  nodeInspect(idOrName: string): Promise<Node> {
    return this.get<Node>(`/nodes/${ref(idOrName)}`);
  }

  async nodeUpdate(id: string, version: number | undefined, spec: NodeSpec): Promise<void> {
    await this.post(`/nodes/${ref(id)}/update`, spec, { version: String(version ?? 0) });
  }

  async nodeRemove(idOrName: string, force: boolean): Promise<void> {
    await this.delete(`/nodes/${ref(idOrName)}`, force ? { force: '1' } : undefined);
  }

  // ---- services --------------------------------------------------------------

  /** GET /services; `status: true` asks for ServiceStatus (`service ls` without -q). */
  async serviceList(opts: { filters?: FilterArgs; status?: boolean } = {}): Promise<ServiceWithJob[]> {
    const query = { filters: opts.filters ?? {}, status: opts.status ? 'true' : undefined };
    return (await this.get<ServiceWithJob[] | undefined>('/services', query)) ?? [];
  }

  serviceInspect(idOrName: string, insertDefaults = false): Promise<ServiceWithJob> {
    return this.get<ServiceWithJob>(`/services/${ref(idOrName)}`, { insertDefaults: String(insertDefaults) });
  }

  serviceCreate(spec: ServiceSpec, encodedRegistryAuth?: string): Promise<ServiceCreateResponse> {
    const headers = encodedRegistryAuth ? { 'X-Registry-Auth': encodedRegistryAuth } : undefined;
    return this.post<ServiceCreateResponse>('/services/create', spec, undefined, headers);
  }

  async serviceUpdate(
    id: string,
    version: number | undefined,
    spec: ServiceSpec,
    opts: ServiceUpdateOptions = {},
  ): Promise<ServiceUpdateResponse> {
    const headers = opts.encodedRegistryAuth ? { 'X-Registry-Auth': opts.encodedRegistryAuth } : undefined;
    const res = await this.post<ServiceUpdateResponse | undefined>(
      `/services/${ref(id)}/update`,
      spec,
      { version: String(version ?? 0), registryAuthFrom: opts.registryAuthFrom, rollback: opts.rollback },
      headers,
    );
    return res ?? { Warnings: null };
  }

  async serviceRemove(idOrName: string): Promise<void> {
    await this.delete(`/services/${ref(idOrName)}`);
  }

  /** GET /networks/{id}?scope=swarm: the CLI resolves --network names to IDs with it. */
  networkInspect(idOrName: string): Promise<{ ID: string; Name: string }> {
    return this.get<{ ID: string; Name: string }>(`/networks/${ref(idOrName)}`, { scope: 'swarm' });
  }

  // ---- tasks -----------------------------------------------------------------

  async taskList(filters: FilterArgs = {}): Promise<TaskWithJob[]> {
    return (await this.get<TaskWithJob[] | undefined>('/tasks', { filters })) ?? [];
  }

  taskInspect(id: string): Promise<Task> {
    return this.get<Task>(`/tasks/${ref(id)}`);
  }
}
