// The host's handle on a Raft member: inputs (tick, step, propose, …) and the Ready loop.
//
//   for (;;) {
//     node.tick() / node.step(msg) / node.propose(data) / …
//     while (node.hasReady()) {
//       const rd = node.ready();
//       persist rd.hardState, rd.snapshot and rd.entries (in that order is fine; all before sending)
//       send rd.messages
//       restore rd.snapshot into the state machine, then apply rd.committedEntries in order
//       serve rd.readStates once applied up to their index
//       node.advance(rd);
//     }
//   }
//
// Messages may only go out once the same Ready's entries and hard state are durable: a vote or
// an append acknowledgement promises the state behind it survives a crash.
import type { Message } from './messages';
import { Raft, type RaftConfig } from './raft';
import {
  sameHardState,
  type ConfChange,
  type Entry,
  type HardState,
  type NodeId,
  type ProposeResult,
  type RaftSnapshot,
  type ReadState,
  type Role,
  type SoftState,
} from './types';

export interface Ready {
  /** Set when the leader or role changed since the last Ready. Not persisted. */
  softState?: SoftState;
  /** Set when term, vote or commit changed: persist before sending messages. */
  hardState?: HardState;
  /** Read points that became available (see RawNode.readIndex). */
  readStates: ReadState[];
  /** Entries to append to storage (replacing any stored ones from entries[0].index on). */
  entries: Entry[];
  /** A snapshot from the leader, to persist and restore into the state machine. */
  snapshot?: RaftSnapshot;
  /** Committed entries to apply, in order, after `snapshot`. Conf changes included. */
  committedEntries: Entry[];
  /** To send after persisting. */
  messages: Message[];
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId | null;
  role: Role;
  leader: NodeId | null;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  voters: NodeId[];
  leadTransferee: NodeId | null;
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  /** The Ready handed out and not yet advanced. */
  private outstanding: Ready | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  /** One logical clock tick; the host calls it on a timer (e.g. every 100 ms). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now, if this member is a voter. */
  campaign(): void {
    this.raft.campaign();
  }

  /** Feeds a message from another member. */
  step(m: Message): void {
    this.raft.step(m);
  }

  /** Proposes data. Dropped unless this member leads and no leader transfer is under way. */
  propose(data: Buffer): ProposeResult {
    return this.raft.propose(data);
  }

  /**
   * Proposes adding or removing one voter. It takes effect when the entry is applied (advance());
   * a second change is refused until the first is applied.
   */
  proposeConfChange(cc: ConfChange): ProposeResult {
    return this.raft.proposeConfChange(cc);
  }

  /** Leader only: hands leadership to `to` once it is caught up. */
  transferLeader(to: NodeId): boolean {
    return this.raft.transferLeader(to);
  }

  /** Requests a linearizable read point, delivered later in Ready.readStates. */
  readIndex(requestId: string): boolean {
    return this.raft.readIndex(requestId);
  }

  /** The voters in force (as of the last applied entry): what a snapshot taken now must record. */
  voters(): NodeId[] {
    return [...this.raft.voters];
  }

  /** Term of entry `index` in this member's log (persisted or not); undefined if compacted or absent. */
  termAt(index: number): number | undefined {
    return this.raft.log.term(index);
  }

  status(): Status {
    const r = this.raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      role: r.role,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      voters: [...r.voters],
      leadTransferee: r.leadTransferee,
    };
  }

  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    const soft = r.softState();
    return (
      soft.leader !== this.prevSoft.leader ||
      soft.role !== this.prevSoft.role ||
      !sameHardState(r.hardState(), this.prevHard) ||
      r.log.unstable.entries.length > 0 ||
      r.log.unstable.snapshot !== undefined ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommittedEntries()
    );
  }

  /** What to persist, send and apply now. Call advance() with it before the next ready(). */
  ready(): Ready {
    if (this.outstanding) throw new Error('raft: ready() called again before advance()');
    const r = this.raft;
    const rd: Ready = {
      readStates: r.readStates,
      entries: r.log.unstableEntries(),
      committedEntries: r.log.nextCommittedEntries(),
      messages: r.msgs,
    };
    r.readStates = [];
    r.msgs = [];
    const soft = r.softState();
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) rd.softState = soft;
    const hard = r.hardState();
    if (!sameHardState(hard, this.prevHard)) rd.hardState = hard;
    if (r.log.unstable.snapshot) rd.snapshot = r.log.unstable.snapshot;
    this.outstanding = rd;
    return rd;
  }

  /**
   * The host has persisted, sent and applied `rd`. Committed conf changes take effect here: the
   * configuration in force is always that of the applied log.
   */
  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new Error('raft: advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const r = this.raft;
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      r.log.appliedTo(rd.snapshot.meta.index);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      r.log.stableTo(last.index, last.term);
    }
    for (const e of rd.committedEntries) {
      r.log.appliedTo(e.index);
      if (e.kind === 'conf-change') r.applyConfChange(e);
    }
  }
}
