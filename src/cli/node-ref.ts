// docker's node.Reference: `self` means the node this daemon runs, found through /info.
import type { ShoalClient } from '../client/shoal-client';
import { CliError } from './errors';

export async function nodeReference(client: ShoalClient, ref: string): Promise<string> {
  if (ref !== 'self') return ref;
  const info = await client.info();
  if (!info.Swarm?.NodeID) {
    // not a manager, probably: a swarm endpoint gives the better error
    await client.nodeList();
    throw new CliError('node ID not found in /info');
  }
  return info.Swarm.NodeID;
}
