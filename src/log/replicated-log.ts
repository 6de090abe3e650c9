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

/** Where a log keeps its entries and snapshots. The memory one is for a log that need not outlive its process. */
export interface LogStorage {
  /** Makes entries durable before returning (a disk storage fsyncs). */
  append(entries: LogEntry[]): Promise<void>;
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** What a restarted member recovers: the latest snapshot and the entries after it. */
  load(): Promise<{ snapshot?: Snapshot; entries: LogEntry[] }>;
}
