// docker's node.updateNodes: GET the node, change its spec, POST it back with its version.
// Shared by `node update`, `promote` and `demote`.
import type { Node } from '../types/swarm';
import type { ShoalClient } from '../client/shoal-client';

/** Returned by a merge function to skip the POST (the node already has that role). */
export const NO_CHANGE = Symbol('no change');

export async function updateNodes(
  client: ShoalClient,
  refs: string[],
  merge: (node: Node) => typeof NO_CHANGE | void,
  onSuccess: (ref: string) => void,
): Promise<void> {
  for (const ref of refs) {
    const node = await client.nodeInspect(ref);
    if (merge(node) === NO_CHANGE) continue;
    await client.nodeUpdate(node.ID, node.Version?.Index, node.Spec);
    onSuccess(ref);
  }
}
