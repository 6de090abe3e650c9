import { rpcError } from '../../api/errors';
import type { PortConfig, Service, ServiceSpec } from '../../types/swarm';
import { randomServiceName } from './names';

// swarmkit validateAnnotations: a DNS name component, underscores allowed (as generated names have).
const DNS_LABEL = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const RESTART_CONDITIONS = ['none', 'on-failure', 'any'];
const FAILURE_ACTIONS = ['pause', 'continue', 'rollback'];
const ORDERS = ['stop-first', 'start-first'];

export type ModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

export function modeOf(spec: ServiceSpec): ModeKind {
  const m = spec.Mode ?? {};
  if (m.Global) return 'global';
  if (m.ReplicatedJob) return 'replicated-job';
  if (m.GlobalJob) return 'global-job';
  return 'replicated';
}

/**
 * Validates a spec and fills in what moby's convert and swarmkit's controlapi fill in, so that
 * what the store keeps is what `GET /services/{id}` must return (Replicas always present,
 * ContainerSpec non-nil, Runtime "container", ForceUpdate, Labels an object).
 */
export function normalizeServiceSpec(given: ServiceSpec | undefined): ServiceSpec {
  const spec: ServiceSpec = structuredClone(given ?? ({} as ServiceSpec));
  const invalid = (desc: string) => rpcError('InvalidArgument', desc);

  if (!spec.Name) spec.Name = randomServiceName();
  if (!DNS_LABEL.test(spec.Name)) throw invalid('name must be valid as a DNS name component');
  spec.Labels = spec.Labels ?? {};

  const tt = (spec.TaskTemplate = spec.TaskTemplate ?? ({ ForceUpdate: 0 } as ServiceSpec['TaskTemplate']));
  tt.ContainerSpec = tt.ContainerSpec ?? {};
  if (!tt.ContainerSpec.Image) throw invalid('ContainerSpec: image reference must be provided');
  tt.ForceUpdate = tt.ForceUpdate ?? 0;
  tt.Runtime = tt.Runtime || 'container';
  if (tt.Runtime !== 'container') throw rpcError('Unimplemented', `runtime type "${tt.Runtime}" is not supported`);

  const limits = tt.Resources?.Limits;
  const reservations = tt.Resources?.Reservations;
  for (const r of [limits, reservations]) {
    if (r?.NanoCPUs !== undefined && r.NanoCPUs < 0) throw invalid(`invalid cpu value ${r.NanoCPUs / 1e9}`);
    if (r?.MemoryBytes !== undefined && r.MemoryBytes < 0) throw invalid(`invalid memory value ${r.MemoryBytes}`);
  }
  if (limits?.NanoCPUs && reservations?.NanoCPUs && reservations.NanoCPUs > limits.NanoCPUs) {
    throw invalid('TaskSpec: reserved cpu must be less than or equal to the cpu limit');
  }

  const rp = tt.RestartPolicy;
  if (rp?.Condition !== undefined && !RESTART_CONDITIONS.includes(rp.Condition)) {
    throw invalid(`RestartPolicy: invalid condition ${rp.Condition}`);
  }
  for (const [name, v] of [
    ['Delay', rp?.Delay],
    ['Window', rp?.Window],
  ] as const) {
    if (v !== undefined && v < 0) throw invalid(`TaskSpec: restart-${name.toLowerCase()} cannot be negative`);
  }
  if (tt.ContainerSpec.StopGracePeriod !== undefined && tt.ContainerSpec.StopGracePeriod < 0) {
    throw invalid('ContainerSpec: stop grace period cannot be negative');
  }

  for (const uc of [spec.UpdateConfig, spec.RollbackConfig]) {
    if (!uc) continue;
    if (uc.FailureAction && !FAILURE_ACTIONS.includes(uc.FailureAction)) {
      throw invalid(`UpdateConfig: invalid failure action ${uc.FailureAction}`);
    }
    if (uc.Order && !ORDERS.includes(uc.Order)) throw invalid(`UpdateConfig: invalid order ${uc.Order}`);
    if (uc.Delay !== undefined && uc.Delay < 0) throw invalid('TaskSpec: update-delay cannot be negative');
    if (uc.MaxFailureRatio !== undefined && (uc.MaxFailureRatio < 0 || uc.MaxFailureRatio > 1)) {
      throw invalid('UpdateConfig: max failure ratio must be between 0 and 1');
    }
  }

  for (const c of tt.Placement?.Constraints ?? []) {
    if (!/^\s*[\w.-]+\s*(==|!=)\s*\S.*$/.test(c)) throw invalid(`invalid constraint: ${c}`);
  }

  const mode = spec.Mode ?? {};
  const kinds = ['Replicated', 'Global', 'ReplicatedJob', 'GlobalJob'].filter(
    (k) => (mode as Record<string, unknown>)[k],
  );
  if (kinds.length > 1)
    throw invalid('service mode must be exactly one of replicated, global, replicated-job, global-job');
  if (mode.ReplicatedJob) {
    // moby's convert: MaxConcurrent 1 unless given, TotalCompletions as many as run at once unless given.
    const job = mode.ReplicatedJob;
    if ((job.MaxConcurrent ?? 0) < 0) throw invalid('Maximum concurrent jobs must not be negative');
    if ((job.TotalCompletions ?? 0) < 0) throw invalid('Total completed jobs must not be negative');
    const concurrent = job.MaxConcurrent || 1;
    spec.Mode = { ReplicatedJob: { MaxConcurrent: concurrent, TotalCompletions: job.TotalCompletions ?? concurrent } };
  } else if (mode.GlobalJob) spec.Mode = { GlobalJob: {} };
  else if (mode.Global) spec.Mode = { Global: {} };
  else spec.Mode = { Replicated: { Replicas: mode.Replicated?.Replicas ?? 1 } };
  if ((mode.ReplicatedJob || mode.GlobalJob) && spec.UpdateConfig) throw invalid('Jobs may not have an update config');

  spec.EndpointSpec = spec.EndpointSpec ?? {};
  spec.EndpointSpec.Mode = spec.EndpointSpec.Mode || 'vip';
  if (!['vip', 'dnsrr'].includes(spec.EndpointSpec.Mode)) {
    throw invalid(`EndpointSpec: invalid resolution mode ${spec.EndpointSpec.Mode}`);
  }
  for (const p of spec.EndpointSpec.Ports ?? []) {
    p.Protocol = p.Protocol || 'tcp';
    p.PublishMode = p.PublishMode || 'ingress';
    if (!p.TargetPort) throw invalid('EndpointSpec: target port must be set');
    if (p.TargetPort > 65535 || (p.PublishedPort ?? 0) > 65535) throw invalid('EndpointSpec: port out of range');
  }
  return spec;
}

/**
 * The ports a service's endpoint publishes, resolved: an ingress port published as 0 gets one
 * from 30000–32767, as swarm's allocator does. Refuses a published port another service holds.
 */
export function resolvePorts(spec: ServiceSpec, others: Service[], previous?: PortConfig[]): PortConfig[] {
  const taken = new Map<string, Service>();
  for (const s of others) {
    for (const p of s.Endpoint?.Ports ?? []) {
      if (p.PublishMode === 'ingress' && p.PublishedPort) taken.set(`${p.Protocol}/${p.PublishedPort}`, s);
    }
  }
  const out: PortConfig[] = [];
  for (const p of spec.EndpointSpec?.Ports ?? []) {
    const port = { ...p };
    if (port.PublishMode === 'ingress') {
      if (!port.PublishedPort) {
        const kept = previous?.find((q) => q.TargetPort === port.TargetPort && q.Protocol === port.Protocol);
        port.PublishedPort = kept?.PublishedPort ?? pickPort(taken, port.Protocol ?? 'tcp');
      }
      const holder = taken.get(`${port.Protocol}/${port.PublishedPort}`);
      if (holder) {
        throw rpcError(
          'InvalidArgument',
          `port '${port.PublishedPort}' is already in use by service '${holder.Spec.Name}' (${holder.ID}) as an ingress port`,
        );
      }
      taken.set(`${port.Protocol}/${port.PublishedPort}`, { Spec: spec } as Service);
    }
    out.push(port);
  }
  return out;
}

function pickPort(taken: Map<string, Service>, proto: string): number {
  for (let p = 30000; p <= 32767; p++) if (!taken.has(`${proto}/${p}`)) return p;
  throw rpcError('ResourceExhausted', 'no more ports available in the dynamic port range');
}
