// The Raft log as the core sees it: what storage holds (stable) followed by what this member
// has accepted but the host has not yet persisted (unstable), plus the commit and applied
// indexes. Unstable entries reach the host through Ready.entries and leave this buffer when
// the host calls advance().
import { RaftCompactedError, RaftUnavailableError, limitSize, type RaftStorage } from './storage';
import { entrySize, type Entry, type RaftSnapshot } from './types';

/** Entries (and possibly a snapshot) not yet persisted. entries[i] has index offset + i. */
export class Unstable {
  snapshot: RaftSnapshot | undefined;
  entries: Entry[] = [];

  constructor(public offset: number) {}

  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.meta.index : undefined;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      return this.snapshot && this.snapshot.meta.index === i ? this.snapshot.meta.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset].term;
  }

  /** The host persisted entries up to (i, t). A different term at i means they were replaced since. */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined || gt !== t || i < this.offset) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.meta.index === i) this.snapshot = undefined;
  }

  restore(s: RaftSnapshot): void {
    this.offset = s.meta.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: Entry[]): void {
    const after = ents[0].index;
    if (after === this.offset + this.entries.length) {
      this.entries.push(...ents);
    } else if (after <= this.offset) {
      // Replacing from before the unstable part: the host's append() truncates storage too.
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index the host has applied (acknowledged through advance()). */
  applied: number;

  constructor(
    readonly storage: RaftStorage,
    committed: number,
    applied: number,
  ) {
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = committed;
    this.applied = applied;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry i, or undefined when i is compacted away or past the end. */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof RaftCompactedError || err instanceof RaftUnavailableError) return undefined;
      throw err;
    }
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (t === undefined) throw new Error('raft: no term for the last index');
    return t;
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** Whether a log ending at (lastIndex, lastTerm) is at least as up to date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of an append: if our log has (index, logTerm), writes `entries` after it
   * (replacing any conflicting suffix) and returns the index of the last new entry.
   */
  maybeAppend(index: number, logTerm: number, committed: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + entries.length;
    const ci = this.findConflict(entries);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`raft: entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      }
      this.append(entries.slice(ci - index - 1));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(entries: Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0].index - 1;
    if (after < this.committed) {
      throw new Error(`raft: appending after ${after} would overwrite committed entries up to ${this.committed}`);
    }
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** Index of the first entry that is new or differs from ours; 0 if all are already there. */
  findConflict(entries: Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The last index at or below `index` whose term is at most `term`, with that term (0 when
   * unknown). Used on both sides of a rejected append to skip whole terms at once.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (;;) {
      const t = this.term(index);
      if (t === undefined) return { index, term: 0 };
      if (t <= term) return { index, term: t };
      index--;
    }
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`raft: commit ${index} is past the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Commits up to `maxIndex` only if that entry is of `term` (Raft §5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index <= this.applied) return;
    if (index > this.committed) throw new Error(`raft: applied ${index} is past committed ${this.committed}`);
    this.applied = index;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  unstableEntries(): Entry[] {
    return [...this.unstable.entries];
  }

  /** Committed entries the host has not applied yet (excluding any covered by a pending snapshot). */
  nextCommittedEntries(maxBytes = Infinity): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed < lo) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return this.committed >= Math.max(this.applied + 1, this.firstIndex());
  }

  snapshot(): RaftSnapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Entries from i on, within the message budget; throws RaftCompactedError if i is compacted. */
  entries(i: number, maxBytes: number, maxCount: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, Math.min(last + 1, i + maxCount), maxBytes);
  }

  /** Entries [lo, hi) from storage and then the unstable part. */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new RaftCompactedError(lo, first);
    if (hi > this.lastIndex() + 1) throw new RaftUnavailableError(hi - 1, this.lastIndex());
    const offset = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < offset) {
      ents = this.storage.entries(lo, Math.min(hi, offset), maxBytes);
      // Storage cut the batch short: the byte budget is spent.
      if (ents.length < Math.min(hi, offset) - lo) return ents;
    }
    if (hi > offset) {
      const un = this.unstable.slice(Math.max(lo, offset), hi);
      ents = ents.length > 0 ? ents.concat(un) : un;
    }
    return limitSize(ents, maxBytes, entrySize);
  }

  /** Replaces the log with a snapshot (follower catching up). */
  restore(s: RaftSnapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }
}
