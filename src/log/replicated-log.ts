// The seam between cluster state and the log that orders changes to it.
//
// Every change to cluster state is proposed as an opaque entry; once the log has committed it
// (here: one member; later, a Raft majority) every member applies it, in index order, to its
// state machine. The shapes follow etcd's raft: entries carry index and term, snapshots carry
// the index and term of the last entry they include, and restoring one is idempotent.

export interface LogEntry {
  index: number;
  term: number;
  data: Buffer;
  /**
   * What the entry is, as etcd's EntryType: 0 (the default, and what an absent kind means) a
   * normal entry, 1 a configuration change. Storage gives it back only when it is not 0.
   */
  kind?: number;
}

/** EntryNormal and EntryConfChange, as etcd's raft numbers them. */
export const ENTRY_NORMAL = 0;
export const ENTRY_CONF_CHANGE = 1;

/**
 * What a Raft member must not forget across a restart, as etcd's raftpb.HardState: its current
 * term, whom it voted for in that term ('' for nobody) and the highest index it knows committed.
 */
export interface HardState {
  term: number;
  vote: string;
  commit: number;
}

export interface SnapshotMeta {
  index: number;
  term: number;
}

export interface Snapshot {
  meta: SnapshotMeta;
  data: Buffer;
}

/** What the log drives. apply() must be deterministic: every member reaches the same state. */
export interface StateMachine {
  /** Applies one committed entry. What it returns (or throws) is handed to the proposer. */
  apply(entry: LogEntry): unknown;
  /** The whole state as of the last applied entry. */
  snapshot(): Buffer;
  /** Replaces the whole state; applying the same snapshot twice leaves the same state. */
  restore(snapshot: Snapshot): void;
}

export interface ReplicatedLog {
  /**
   * Proposes an entry. Resolves with the state machine's result once the entry is committed
   * and applied on this member; rejects with what apply() threw, or if the entry could not be
   * committed (a later Raft log: leadership lost, quorum unavailable).
   */
  propose(data: Buffer): Promise<unknown>;
  /** Index of the last entry applied to the state machine. */
  appliedIndex(): number;
  close(): Promise<void>;
}

/** What a restarted member recovers from its storage. */
export interface LoadedLog {
  /** The latest snapshot. */
  snapshot?: Snapshot;
  /** The entries after it, in index order without a gap; for an overwritten index, the last write. */
  entries: LogEntry[];
  /** The hard state last appended; absent if none ever was. */
  hardState?: HardState;
}

/**
 * Where a log keeps its entries and snapshots. The memory one is for a log that need not outlive
 * its process.
 */
export interface LogStorage {
  /**
   * Makes `entries` and `hardState` durable together before returning (a disk storage writes them
   * as one record and fsyncs once). The entries must be contiguous; the first may be at any index
   * up to one past the last stored (appending after the end is an error). An append starting at
   * or before the last index overwrites: every stored entry from its first index on is discarded,
   * as a Raft follower replaces conflicting entries. Entries at or before the latest snapshot are
   * already committed and are ignored, as etcd's MemoryStorage does.
   */
  append(entries: LogEntry[], hardState?: HardState): Promise<void>;
  /** Keeps `snapshot` and drops the entries it covers; the latest hard state is kept. */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  load(): Promise<LoadedLog>;
}

/**
 * Checks an append against a log ending at `lastIndex` whose latest snapshot is at
 * `snapshotIndex`, and returns the entries to store: those after the snapshot. Throws on a
 * programming error (a gap, or entries that do not follow one another).
 */
export function entriesToStore(entries: LogEntry[], lastIndex: number, snapshotIndex: number): LogEntry[] {
  if (entries.length === 0) return entries;
  const first = entries[0].index;
  if (!Number.isSafeInteger(first) || first < 1) throw new RangeError(`cannot append entry ${first}: not an index`);
  if (first > lastIndex + 1) {
    throw new Error(`cannot append entry ${first} to a raft log ending at ${lastIndex}`);
  }
  entries.forEach((e, i) => {
    if (e.index !== first + i)
      throw new Error(`cannot append entry ${e.index} after entry ${first + i - 1}: not contiguous`);
  });
  return first > snapshotIndex ? entries : entries.slice(snapshotIndex + 1 - first);
}
