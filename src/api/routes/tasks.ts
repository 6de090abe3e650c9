import type { Router } from '../router';
import { parseFilters, writeJson } from '../http';
import { ApiError } from '../errors';
import type { ApiContext } from '../context';
import type { Task } from '../../types/swarm';
import { TASK_STATES } from '../../types/swarm';
import { resolveRef } from '../../manager/controlapi/resolve';
import { findService } from '../../manager/controlapi/services';
import { findNode } from '../../manager/controlapi/nodes';
import { sameTaskSpec } from '../../manager/task-status';
import { labelMatches } from './filters';

export function taskRoutes(r: Router, ctx: ApiContext): void {
  r.add('GET', '/tasks', ({ res, query }) => {
    const m = ctx.node.requireManager();
    const f = parseFilters(query.get('filters'), [
      'id',
      'name',
      'label',
      'service',
      'node',
      'desired-state',
      '_up-to-date',
      'runtime',
    ]);
    const services = new Map(m.store.list('services').map((s) => [s.ID, s]));
    const serviceIds = f.get('service')?.map((ref) => findService(m.store, ref).ID);
    const nodeIds = f.get('node')?.map((ref) => findNode(m.store, ref).ID);
    const desired = f.get('desired-state')?.map((d) => {
      const v = d.toLowerCase();
      if (!(TASK_STATES as readonly string[]).includes(v))
        throw new ApiError(500, `Invalid desired-state filter: '${d}'`);
      return v;
    });
    const upToDate = f.has('_up-to-date');
    const name = (t: Task) => `${services.get(t.ServiceID)?.Spec.Name ?? ''}.${t.Slot || t.NodeID}.${t.ID}`;
    const match = (t: Task) =>
      (!f.get('id') || f.get('id')!.some((v) => t.ID.startsWith(v))) &&
      (!f.get('name') || f.get('name')!.some((v) => name(t).startsWith(v))) &&
      (!serviceIds || serviceIds.includes(t.ServiceID)) &&
      (!nodeIds || nodeIds.includes(t.NodeID)) &&
      (!desired || desired.includes(t.DesiredState)) &&
      (!f.get('label') || labelMatches(services.get(t.ServiceID)?.Spec.Labels ?? {}, f.get('label')!)) &&
      (!upToDate || sameTaskSpec(t.Spec, services.get(t.ServiceID)?.Spec.TaskTemplate));
    writeJson(res, 200, m.store.list('tasks').filter(match));
  });
  r.add('GET', '/tasks/{id}', ({ res, params }) => {
    const m = ctx.node.requireManager();
    writeJson(
      res,
      200,
      resolveRef('task', params.id, m.store.list('tasks'), () => undefined),
    );
  });
}
