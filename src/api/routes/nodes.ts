import type { Router } from '../router';
import { boolValue, parseFilters, parseVersion, readJson, writeEmpty, writeJson } from '../http';
import { nodeSpecSchema } from '../schema';
import type { ApiContext } from '../context';
import type { Node, NodeSpec } from '../../types/swarm';
import { findNode, removeNode, updateNode } from '../../manager/controlapi/nodes';
import { labelMatches } from './filters';

export function nodeRoutes(r: Router, ctx: ApiContext): void {
  r.add('GET', '/nodes', ({ res, query }) => {
    const m = ctx.node.requireManager();
    const f = parseFilters(query.get('filters'), ['id', 'name', 'label', 'node.label', 'role', 'membership']);
    const match = (n: Node) =>
      (!f.get('id') || f.get('id')!.some((v) => n.ID.startsWith(v))) &&
      (!f.get('name') || f.get('name')!.some((v) => n.Description.Hostname.startsWith(v))) &&
      (!f.get('role') || f.get('role')!.includes(n.Spec.Role)) &&
      (!f.get('membership') || f.get('membership')!.includes('accepted')) &&
      (!f.get('label') || labelMatches(n.Description.Engine.Labels ?? {}, f.get('label')!)) &&
      (!f.get('node.label') || labelMatches(n.Spec.Labels ?? {}, f.get('node.label')!));
    writeJson(res, 200, m.store.list('nodes').filter(match).map(publicNode));
  });
  r.add('GET', '/nodes/{id}', ({ res, params }) => {
    writeJson(res, 200, publicNode(findNode(ctx.node.requireManager().store, params.id)));
  });
  r.add('POST', '/nodes/{id}/update', async ({ req, res, params, query }) => {
    const m = ctx.node.requireManager();
    const version = parseVersion('node', query.get('version'));
    const spec = await readJson<NodeSpec>(req, nodeSpecSchema);
    await updateNode(m.store, params.id, version, spec);
    writeEmpty(res);
  });
  r.add('DELETE', '/nodes/{id}', async ({ res, params, query }) => {
    await removeNode(ctx.node.requireManager().store, params.id, boolValue(query.get('force')));
    writeEmpty(res);
  });
}

/** The node as the Engine API shows it: without the store's certificate state. */
function publicNode(n: Node): Node {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { Certificate, ...rest } = n;
  return rest;
}
