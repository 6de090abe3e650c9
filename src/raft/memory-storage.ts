// RaftStorage in memory, the shape of etcd's MemoryStorage: the host appends to it in the Ready
// loop and compacts it; in tests and the simulator it is exactly "what was persisted".
import { RaftCompactedError, RaftUnavailableError, limitSize, type RaftStorage } from './storage';
import { encodeConfChange, entrySize, type Entry, type HardState, type NodeId, type RaftSnapshot } from './types';

/**
 * The entries that start a new cluster: one committed add-member per initial voter, at term 1.
 * Bootstrapping through the log (as etcd does) rather than a snapshot means a member added
 * later, starting empty, learns the initial configuration by replicating these entries.
 * Every initial member must write the same ones, so voters are sorted.
 */
export function bootstrapEntries(voters: NodeId[]): Entry[] {
  return [...voters].sort().map((nodeId, i) => ({
    index: i + 1,
    term: 1,
    kind: 'conf-change',
    data: encodeConfChange({ type: 'add-member', nodeId }),
  }));
}

export class MemoryRaftStorage implements RaftStorage {
  private hardState: HardState = { term: 0, vote: null, commit: 0 };
  private snap: RaftSnapshot = { meta: { index: 0, term: 0, voters: [] }, data: Buffer.alloc(0) };
  /** Entries after the compaction point. */
  private ents: Entry[] = [];
  /** Index and term of the last compacted entry (the one before ents[0]). */
  private compactedIndex = 0;
  private compactedTerm = 0;

  /** A storage holding the bootstrap entries of a new cluster of `voters`. */
  static bootstrap(voters: NodeId[]): MemoryRaftStorage {
    const s = new MemoryRaftStorage();
    const entries = bootstrapEntries(voters);
    s.append(entries);
    s.setHardState({ term: 1, vote: null, commit: entries.length });
    return s;
  }

  initialState(): { hardState: HardState; voters: NodeId[] } {
    return { hardState: { ...this.hardState }, voters: [...this.snap.meta.voters] };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  firstIndex(): number {
    return this.compactedIndex + 1;
  }

  lastIndex(): number {
    return this.compactedIndex + this.ents.length;
  }

  term(i: number): number {
    if (i < this.compactedIndex) throw new RaftCompactedError(i, this.firstIndex());
    if (i > this.lastIndex()) throw new RaftUnavailableError(i, this.lastIndex());
    return i === this.compactedIndex ? this.compactedTerm : this.ents[i - this.compactedIndex - 1].term;
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo <= this.compactedIndex) throw new RaftCompactedError(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw new RaftUnavailableError(hi - 1, this.lastIndex());
    const off = this.compactedIndex + 1;
    return limitSize(this.ents.slice(lo - off, hi - off), maxBytes, entrySize);
  }

  snapshot(): RaftSnapshot {
    return this.snap;
  }

  /** Appends entries, replacing any stored ones from entries[0].index on (a leader overwrote them). */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first > this.lastIndex() + 1) {
      throw new Error(`raft storage: gap: appending ${first} after last index ${this.lastIndex()}`);
    }
    // Entries at or below the compaction point are already covered by the snapshot.
    const fresh = entries.filter((e) => e.index > this.compactedIndex);
    if (fresh.length === 0) return;
    this.ents.length = fresh[0].index - this.compactedIndex - 1;
    this.ents.push(...fresh);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: RaftSnapshot): void {
    if (snapshot.meta.index <= this.snap.meta.index) {
      throw new Error(`raft storage: snapshot ${snapshot.meta.index} is not newer than ${this.snap.meta.index}`);
    }
    this.snap = snapshot;
    this.ents = [];
    this.compactedIndex = snapshot.meta.index;
    this.compactedTerm = snapshot.meta.term;
  }

  /**
   * Records a snapshot of the host's state as of applied entry `index`, taken under `voters`
   * (RawNode.voters() right after applying `index`). Does not drop entries: compact() does.
   */
  createSnapshot(index: number, voters: NodeId[], data: Buffer): RaftSnapshot {
    if (index <= this.snap.meta.index) {
      throw new Error(`raft storage: snapshot ${index} is not newer than ${this.snap.meta.index}`);
    }
    if (index > this.lastIndex()) throw new RaftUnavailableError(index, this.lastIndex());
    this.snap = { meta: { index, term: this.term(index), voters: [...voters] }, data };
    return this.snap;
  }

  /** Drops entries up to `index`, which must be covered by the snapshot. */
  compact(index: number): void {
    if (index <= this.compactedIndex) return;
    if (index > this.snap.meta.index) {
      throw new Error(`raft storage: cannot compact to ${index} past the snapshot at ${this.snap.meta.index}`);
    }
    const term = this.term(index);
    this.ents = this.ents.slice(index - this.compactedIndex);
    this.compactedIndex = index;
    this.compactedTerm = term;
  }
}
