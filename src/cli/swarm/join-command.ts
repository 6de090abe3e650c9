// docker's printJoinCommand: the `swarm join` line for a role, using the manager address of
// the node the command talks to. Nothing is printed for a node without ManagerStatus.
import type { ShoalClient } from '../../client/shoal-client';

export async function printJoinCommand(
  client: ShoalClient,
  nodeId: string,
  role: 'worker' | 'manager',
): Promise<string> {
  const node = await client.nodeInspect(nodeId);
  const swarm = await client.swarmInspect();
  if (!node.ManagerStatus) return '';
  const token = role === 'worker' ? swarm.JoinTokens.Worker : swarm.JoinTokens.Manager;
  return `To add a ${role} to this swarm, run the following command:\n\n    shoal swarm join --token ${token} ${node.ManagerStatus.Addr}\n\n`;
}
