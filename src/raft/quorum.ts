// Majority arithmetic over one configuration of voters. Only voters count: a member that was
// removed, or is not yet added, neither commits entries nor wins elections.
import type { NodeId } from './types';

export type VoteResult = 'won' | 'lost' | 'pending';

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** The highest index stored on a majority of voters; 0 with no voters (nothing can commit). */
export function committedIndex(voters: Iterable<NodeId>, matchOf: (id: NodeId) => number): number {
  const matches: number[] = [];
  for (const id of voters) matches.push(matchOf(id));
  if (matches.length === 0) return 0;
  matches.sort((a, b) => b - a);
  return matches[quorumSize(matches.length) - 1];
}

/** Won once a majority granted, lost once a majority can no longer grant. */
export function voteResult(voters: Iterable<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let n = 0;
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    n++;
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  if (n === 0) return 'lost';
  const q = quorumSize(n);
  if (granted >= q) return 'won';
  if (n - rejected < q) return 'lost';
  return 'pending';
}

/** Whether a majority of voters are active. */
export function quorumActive(voters: Iterable<NodeId>, isActive: (id: NodeId) => boolean): boolean {
  let n = 0;
  let active = 0;
  for (const id of voters) {
    n++;
    if (isActive(id)) active++;
  }
  return n > 0 && active >= quorumSize(n);
}
