// Raft's safety properties (Raft paper, figure 3), checked incrementally as a cluster runs:
//   election safety     at most one leader per term, over the whole history;
//   log matching        entries with the same index and term have identical prefixes; checked
//                       on what members persist, as "(index, term) names exactly one entry,
//                       with one predecessor term", which by induction is the same thing;
//   leader completeness a new leader of term T holds every entry committed in terms below T;
//   state machine safety every member applies the same entry at each index, and a snapshot's
//                       state equals the state of applying the committed prefix it covers.
// Plus: commit indexes never name two different entries, and read-index answers are never
// below a commit index observed before the read was asked.
import type { Entry, RaftSnapshot, RawNode } from '../../../src/raft';

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolation';
  }
}

function fail(msg: string): never {
  throw new InvariantViolation(msg);
}

const describe = (e: Entry) => `${e.kind}:${e.data.toString('latin1')}`;

export class Invariants {
  private leaderOfTerm = new Map<number, string>();

  /** How many terms had a leader. */
  get leaderTerms(): number {
    return this.leaderOfTerm.size;
  }
  /** Term of the committed entry at each index, as learned from members' commit indexes. */
  readonly committedTerm: number[] = [];
  /** Highest index known committed anywhere. */
  maxCommitted = 0;
  /** (index, term) → "predecessor term | entry", for persisted entries. */
  private identity = new Map<string, string>();
  /** State hash after applying each index. */
  private hashAt = new Map<number, number>();
  /** What was applied at each index. */
  private appliedAt = new Map<number, string>();
  /** Per member: how far its commit index has been checked. */
  private commitSeen = new Map<string, number>();

  /** After any input to a member: election safety, leader completeness, commit tracking. */
  observe(id: string, node: RawNode): void {
    const st = node.status();
    if (st.role === 'leader') {
      const known = this.leaderOfTerm.get(st.term);
      if (known === undefined) {
        this.leaderOfTerm.set(st.term, id);
        this.checkLeaderCompleteness(id, node, st.term);
      } else if (known !== id) {
        fail(`election safety: ${known} and ${id} both led term ${st.term}`);
      }
    }
    const seen = this.commitSeen.get(id) ?? 0;
    for (let i = seen + 1; i <= st.commit; i++) {
      const t = node.termAt(i);
      if (t === undefined) continue;
      const known = this.committedTerm[i];
      if (known === undefined) this.committedTerm[i] = t;
      else if (known !== t)
        fail(`commit: ${id} committed index ${i} at term ${t}, but term ${known} was committed there`);
    }
    if (st.commit > seen) this.commitSeen.set(id, st.commit);
    if (st.commit > this.maxCommitted) this.maxCommitted = st.commit;
  }

  private checkLeaderCompleteness(id: string, node: RawNode, term: number): void {
    const st = node.status();
    for (let i = st.firstIndex; i <= this.maxCommitted; i++) {
      const t = this.committedTerm[i];
      if (t === undefined || t >= term) continue;
      const mine = node.termAt(i);
      if (mine !== t) {
        fail(`leader completeness: ${id} leads term ${term} but has term ${mine} at committed index ${i} (term ${t})`);
      }
    }
  }

  /** After a member persisted entries (storage.append). */
  persisted(id: string, entries: Entry[], termOf: (i: number) => number): void {
    for (const e of entries) {
      const key = `${e.index}:${e.term}`;
      const value = `${termOf(e.index - 1)}|${describe(e)}`;
      const known = this.identity.get(key);
      if (known === undefined) this.identity.set(key, value);
      else if (known !== value) fail(`log matching: ${id} persisted ${key} as ${value}, another member as ${known}`);
    }
  }

  /** After a member applied one entry, moving its state from `hashBefore` at index-1 to `hashAfter`. */
  applied(id: string, prevIndex: number, e: Entry, hashAfter: number): void {
    if (e.index !== prevIndex + 1) fail(`apply order: ${id} applied ${e.index} right after ${prevIndex}`);
    const what = `${e.term}|${describe(e)}`;
    const known = this.appliedAt.get(e.index);
    if (known === undefined) this.appliedAt.set(e.index, what);
    else if (known !== what) fail(`state machine safety: ${id} applied ${what} at ${e.index}, another member ${known}`);
    const t = this.committedTerm[e.index];
    if (t !== undefined && t !== e.term)
      fail(`state machine safety: ${id} applied term ${e.term} at ${e.index}, committed ${t}`);
    this.checkHash(id, e.index, hashAfter);
  }

  /** After a member restored a snapshot whose state hash is `hash`. */
  restored(id: string, s: RaftSnapshot, hash: number): void {
    const t = this.committedTerm[s.meta.index];
    if (t !== undefined && t !== s.meta.term) {
      fail(`snapshot: ${id} restored ${s.meta.index}@${s.meta.term} but term ${t} was committed there`);
    }
    this.checkHash(id, s.meta.index, hash);
  }

  private checkHash(id: string, index: number, hash: number): void {
    const known = this.hashAt.get(index);
    if (known === undefined) this.hashAt.set(index, hash);
    else if (known !== hash) fail(`state machine safety: ${id}'s state after ${index} differs from another member's`);
  }

  /** A read asked when `floor` was known committed was answered at `index`. */
  readAnswered(id: string, requestId: string, floor: number, index: number): void {
    if (index < floor)
      fail(`read index: ${id}'s read ${requestId} got ${index}, but ${floor} was committed before it was asked`);
  }
}
