// What the Raft core reads of the persisted log (etcd's Storage). The host writes to it in the
// Ready loop (entries, hard state, snapshots) and compacts it; the core only reads.
import type { Entry, HardState, NodeId, RaftSnapshot } from './types';

/** The requested index was compacted away: the caller needs the snapshot instead. */
export class RaftCompactedError extends Error {
  constructor(index: number, firstIndex: number) {
    super(`raft: index ${index} is compacted (first available index ${firstIndex})`);
    this.name = 'RaftCompactedError';
  }
}

/** The requested index is past the end of the log. */
export class RaftUnavailableError extends Error {
  constructor(index: number, lastIndex: number) {
    super(`raft: index ${index} is unavailable (last index ${lastIndex})`);
    this.name = 'RaftUnavailableError';
  }
}

export interface RaftStorage {
  /** The persisted hard state, and the voters of the latest snapshot (the config to start from). */
  initialState(): { hardState: HardState; voters: NodeId[] };
  /**
   * Entries [lo, hi), at most `maxBytes` in total but always at least one. Throws
   * RaftCompactedError when lo < firstIndex(), RaftUnavailableError when hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** Term of entry i, for i in [firstIndex() - 1, lastIndex()]; throws like entries() otherwise. */
  term(i: number): number;
  /** Index of the first entry still stored (entries before it live only in the snapshot). */
  firstIndex(): number;
  lastIndex(): number;
  /** The latest snapshot; index 0 when there is none. Its index is at least firstIndex() - 1. */
  snapshot(): RaftSnapshot;
}

/** Cuts `entries` (already ordered) to at most `maxBytes`, keeping at least the first. */
export function limitSize(entries: Entry[], maxBytes: number, sizeOf: (e: Entry) => number): Entry[] {
  if (entries.length === 0 || maxBytes === Infinity) return entries;
  let size = sizeOf(entries[0]);
  let n = 1;
  for (; n < entries.length; n++) {
    size += sizeOf(entries[n]);
    if (size > maxBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}
