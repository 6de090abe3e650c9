// What a node remembers of its swarm membership across restarts, beside its certificates and
// Raft log: <data root>/swarm-state.json, like dockerd's docker-state.json. It holds no secret.
// It is written last when a node joins a swarm and removed first when it leaves, so its presence
// is what says "this data root belongs to a swarm".

import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../ca';

export interface NodeState {
  /** The address given to `swarm init --listen-addr` (host:port). */
  ListenAddr: string;
  /** The address other nodes reach this one at, ip:port. */
  AdvertiseAddr: string;
  /** 'worker' for a node that joined as one; a manager's file (written by init) may leave it out. */
  Role?: 'manager' | 'worker';
  /** A worker's managers, host:port, as given to `swarm join`. */
  RemoteAddrs?: string[];
}

export const stateFile = (dataRoot: string): string => join(dataRoot, 'swarm-state.json');
export const certificatesDir = (dataRoot: string): string => join(dataRoot, 'certificates');
export const raftDir = (dataRoot: string): string => join(dataRoot, 'raft');

export async function readNodeState(dataRoot: string): Promise<NodeState | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile(dataRoot), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as NodeState;
}

export async function writeNodeState(dataRoot: string, state: NodeState): Promise<void> {
  await writeFileAtomic(stateFile(dataRoot), JSON.stringify(state, null, 2) + '\n', 0o600);
}

/** Forgets the swarm: the state file first (so a crash midway leaves an inactive node), then keys and log. */
export async function removeSwarmFiles(dataRoot: string): Promise<void> {
  await rm(stateFile(dataRoot), { force: true });
  await rm(certificatesDir(dataRoot), { recursive: true, force: true });
  await rm(raftDir(dataRoot), { recursive: true, force: true });
}
