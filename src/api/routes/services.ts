import type { Router } from '../router';
import { parseBool, parseFilters, parseVersion, readJson, writeEmpty, writeJson } from '../http';
import { serviceSpecSchema } from '../schema';
import { ApiError } from '../errors';
import type { ApiContext } from '../context';
import type { Service, ServiceSpec } from '../../types/swarm';
import { createService, findService, removeService, updateService } from '../../manager/controlapi/services';
import { modeOf } from '../../manager/controlapi/service-spec';
import { withDefaults } from './service-defaults';
import { labelMatches } from './filters';
import { isWanted } from '../../manager/task-status';
import type { MemoryStore } from '../../store/memory-store';

export function serviceRoutes(r: Router, ctx: ApiContext): void {
  r.add('GET', '/services', ({ res, query }) => {
    const m = ctx.node.requireManager();
    const f = parseFilters(query.get('filters'), ['id', 'name', 'label', 'mode', 'runtime']);
    const status = parseBool('status', query.get('status'));
    const match = (s: Service) =>
      (!f.get('id') || f.get('id')!.some((v) => s.ID.startsWith(v))) &&
      (!f.get('name') || f.get('name')!.some((v) => (s.Spec.Name ?? '').startsWith(v))) &&
      (!f.get('mode') || f.get('mode')!.includes(modeOf(s.Spec))) &&
      (!f.get('runtime') || f.get('runtime')!.some((v) => v === 'container' || v === '')) &&
      (!f.get('label') || labelMatches(s.Spec.Labels ?? {}, f.get('label')!));
    const list = m.store.list('services').filter(match);
    writeJson(res, 200, status ? list.map((s) => ({ ...s, ServiceStatus: serviceStatus(m.store, s) })) : list);
  });

  r.add('POST', '/services/create', async ({ req, res }) => {
    const m = ctx.node.requireManager();
    const spec = await readJson<ServiceSpec>(req, serviceSpecSchema);
    const s = await createService(m.store, spec);
    writeJson(res, 201, { ID: s.ID, Warnings: null });
  });

  r.add('GET', '/services/{id}', ({ res, params, query }) => {
    const m = ctx.node.requireManager();
    const s = findService(m.store, params.id);
    writeJson(res, 200, parseBool('insertDefaults', query.get('insertDefaults')) ? withDefaults(s) : s);
  });

  r.add('POST', '/services/{id}/update', async ({ req, res, params, query }) => {
    const m = ctx.node.requireManager();
    const version = parseVersion('service', query.get('version'));
    const rollback = query.get('rollback');
    if (rollback !== null && rollback !== '' && rollback !== 'previous') {
      throw new ApiError(400, `invalid value for rollback: ${rollback}`);
    }
    const spec = await readJson<ServiceSpec>(req, serviceSpecSchema);
    await updateService(m.store, params.id, version, spec, rollback === 'previous');
    writeJson(res, 200, { Warnings: null });
  });

  r.add('DELETE', '/services/{id}', async ({ res, params }) => {
    await removeService(ctx.node.requireManager().store, params.id);
    writeEmpty(res);
  });
}

/** ServiceStatus as swarmkit's ListServiceStatuses counts it; for a job, only its current iteration's tasks. */
function serviceStatus(store: MemoryStore, s: Service) {
  const nodes = new Map(store.list('nodes').map((n) => [n.ID, n]));
  const iteration = s.JobStatus?.JobIteration.Index;
  let running = 0;
  let desiredFromTasks = 0;
  let completed = 0;
  for (const t of store.peek('tasks')) {
    if (t.ServiceID !== s.ID) continue;
    if (iteration !== undefined && t.JobIteration?.Index !== iteration) continue;
    if (t.Status.State === 'complete') completed++;
    if (isWanted(t as never)) desiredFromTasks++;
    if (
      t.Status.State === 'running' &&
      (t.DesiredState === 'running' || t.DesiredState === 'complete') &&
      nodes.get(t.NodeID)?.Status.State !== 'down'
    )
      running++;
  }
  const mode = s.Spec.Mode ?? {};
  const desired = mode.Replicated
    ? (mode.Replicated.Replicas ?? 1)
    : mode.ReplicatedJob
      ? (mode.ReplicatedJob.MaxConcurrent ?? 1)
      : desiredFromTasks;
  return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed };
}
