import { withRemovedNode } from '../../ca/ca-store';
import { ApiError, rpcError, MSG } from '../../api/errors';
import type { MemoryStore } from '../../store/memory-store';
import type { Node, NodeSpec } from '../../types/swarm';
import { goTime } from '../../util/time';
import { resolveRef } from './resolve';

export function findNode(store: MemoryStore, ref: string): Node {
  // swarmkit indexes node names by lower-cased hostname.
  return resolveRef('node', ref, store.list('nodes'), (n) => n.Description.Hostname);
}

export async function updateNode(store: MemoryStore, ref: string, version: number, spec: NodeSpec | undefined) {
  const node = findNode(store, ref);
  if (node.Version.Index !== version) throw rpcError('Unknown', MSG.outOfSequence);
  const role = spec?.Role ?? '';
  const availability = spec?.Availability ?? '';
  if (!['worker', 'manager'].includes(role)) throw new ApiError(400, `invalid Role: "${role}"`);
  if (!['active', 'pause', 'drain'].includes(availability))
    throw new ApiError(400, `invalid Availability: "${availability}"`);
  if (node.Spec.Role === 'manager' && role === 'worker') {
    const managers = store.list('nodes').filter((n) => n.Spec.Role === 'manager');
    if (managers.length <= 1)
      throw rpcError('FailedPrecondition', 'attempting to demote the last manager of the swarm');
    // swarmkit's CanRemoveMember: the managers left must still make a majority of those reachable.
    const rest = managers.filter((n) => n.ID !== node.ID && n.ManagerStatus);
    const reachable = rest.filter((n) => n.ManagerStatus!.Reachability === 'reachable').length;
    if (node.ManagerStatus && reachable < Math.floor(rest.length / 2) + 1)
      throw rpcError('FailedPrecondition', "can't remove member from the raft: this would result in a loss of quorum");
  }
  const next: Node = {
    ...node,
    UpdatedAt: goTime(),
    Spec: {
      ...(spec?.Name ? { Name: spec.Name } : {}),
      Labels: spec?.Labels ?? {},
      Role: role as NodeSpec['Role'],
      Availability: availability as NodeSpec['Availability'],
    },
  };
  await store.update((tx) => tx.update('nodes', next));
}

export async function removeNode(store: MemoryStore, ref: string, force: boolean) {
  const node = findNode(store, ref);
  // A member of Raft (ManagerStatus) must be demoted first; a manager that left the swarm no longer is one.
  if (node.Spec.Role === 'manager' && node.ManagerStatus) {
    throw rpcError(
      'FailedPrecondition',
      `node ${node.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
    );
  }
  if (node.Status.State === 'ready' && !force) {
    throw rpcError('FailedPrecondition', `node ${node.ID} is not down and can't be removed`);
  }
  await store.update((tx) => {
    tx.delete('nodes', node.ID);
    // Remembered so that its still-valid certificate is refused from now on.
    const cluster = tx.list('cluster')[0];
    if (cluster) tx.update('cluster', withRemovedNode(cluster, node.ID));
  });
}
