import { rpcError, MSG } from '../../api/errors';
import type { MemoryStore } from '../../store/memory-store';
import type { Service, ServiceSpec } from '../../types/swarm';
import { newId } from '../../util/ids';
import { goTime } from '../../util/time';
import { resolveRef } from './resolve';
import { modeOf, normalizeServiceSpec, resolvePorts } from './service-spec';

const isJob = (spec: ServiceSpec) => !!(spec.Mode?.ReplicatedJob || spec.Mode?.GlobalJob);

export function findService(store: MemoryStore, ref: string): Service {
  return resolveRef('service', ref, store.list('services'), (s) => s.Spec.Name);
}

export async function createService(store: MemoryStore, given: ServiceSpec | undefined): Promise<Service> {
  const spec = normalizeServiceSpec(given);
  const now = goTime();
  const others = store.list('services');
  if (others.some((s) => (s.Spec.Name ?? '').toLowerCase() === spec.Name!.toLowerCase())) {
    throw rpcError('AlreadyExists', `name conflicts with an existing object: service ${spec.Name} already exists`);
  }
  const service: Service = {
    ID: newId(),
    Version: {},
    CreatedAt: now,
    UpdatedAt: now,
    Spec: spec,
    Endpoint: { Spec: spec.EndpointSpec ?? {}, Ports: resolvePorts(spec, others) },
  };
  if (isJob(spec)) service.JobStatus = { JobIteration: { Index: 0 }, LastExecution: now };
  await store.update((tx) => tx.create('services', service));
  return store.get('services', service.ID)!;
}

export async function updateService(
  store: MemoryStore,
  ref: string,
  version: number,
  given: ServiceSpec | undefined,
  rollback: boolean,
): Promise<void> {
  const current = findService(store, ref);
  if (current.Version.Index !== version) throw rpcError('Unknown', MSG.outOfSequence);
  let spec: ServiceSpec;
  if (rollback) {
    if (!current.PreviousSpec)
      throw rpcError('FailedPrecondition', `service ${current.ID} does not have a previous spec`);
    spec = current.PreviousSpec;
  } else {
    spec = normalizeServiceSpec({ ...(given ?? ({} as ServiceSpec)), Name: given?.Name || current.Spec.Name });
  }
  if (spec.Name !== current.Spec.Name) throw rpcError('Unimplemented', 'renaming services is not supported');
  if (modeOf(spec) !== modeOf(current.Spec)) throw rpcError('Unimplemented', 'service mode change is not allowed');
  const others = store.list('services').filter((s) => s.ID !== current.ID);
  const next: Service = {
    ...current,
    UpdatedAt: goTime(),
    PreviousSpec: current.Spec,
    Spec: spec,
    Endpoint: { Spec: spec.EndpointSpec ?? {}, Ports: resolvePorts(spec, others, current.Endpoint.Ports) },
  };
  // A new spec starts a new rollout: a stale "completed" would make the CLI stop watching at once.
  delete next.UpdateStatus;
  // Any update of a job runs it again, as swarmkit's does: a new iteration, whose tasks replace the last one's.
  if (current.JobStatus) {
    next.JobStatus = { JobIteration: { Index: current.JobStatus.JobIteration.Index + 1 }, LastExecution: goTime() };
  }
  if (rollback) {
    next.UpdateStatus = { State: 'rollback_started', Message: 'manually requested rollback', StartedAt: goTime() };
  }
  await store.update((tx) => tx.update('services', next));
}

export async function removeService(store: MemoryStore, ref: string): Promise<void> {
  const s = findService(store, ref);
  await store.update((tx) => tx.delete('services', s.ID));
}
