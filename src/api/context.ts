import type { SwarmNode } from '../daemon/swarm-node';

/** What the API handlers reach: this node and facts about the daemon. */
export interface ApiContext {
  node: SwarmNode;
  version: string;
  daemonId: string;
  dataRoot: string;
  executorName: string;
}
