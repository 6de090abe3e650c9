// The Raft core: a deterministic state machine over (ticks, messages, proposals). It has no
// timers, sockets or disk; what it wants done accumulates in `msgs`, `readStates` and the log's
// unstable part, and RawNode hands those to the host as a Ready.
//
// Follows etcd's raft (go.etcd.io/raft): pre-vote, check-quorum with leader lease, probe /
// replicate / snapshot progress with an inflight window, term-skipping conflict hints, safe
// ReadIndex, leader transfer, and single-voter membership changes taking effect when applied.
import { RaftLog } from './log';
import type { AppendMessage, Message, SnapshotChunk, VoteRequest } from './messages';
import { Progress } from './progress';
import { committedIndex, quorumActive, voteResult, type VoteResult } from './quorum';
import { ReadOnlyQueue } from './read-only';
import { RaftCompactedError, type RaftStorage } from './storage';
import {
  decodeConfChange,
  encodeConfChange,
  type ConfChange,
  type Entry,
  type HardState,
  type NodeId,
  type ProposeResult,
  type RaftSnapshot,
  type RaftSnapshotMeta,
  type ReadState,
  type Role,
  type SoftState,
} from './types';

export interface RaftConfig {
  id: NodeId;
  storage: RaftStorage;
  /** Ticks without hearing from a leader before campaigning; randomized in [n, 2n). */
  electionTick: number;
  /** Ticks between a leader's heartbeats; must be below electionTick. */
  heartbeatTick: number;
  /** Uniform in [0, 1): the only source of randomness, so a seeded one makes runs repeatable. */
  rand: () => number;
  /** Default true: campaign only after a pre-vote round shows a majority would vote for us. */
  preVote?: boolean;
  /** Default true: leaders step down without a majority; followers honor the leader's lease. */
  checkQuorum?: boolean;
  /** Most entries per append message. Default 64. */
  maxEntriesPerMsg?: number;
  /** Most entry bytes per append message (at least one entry is always sent). Default 1 MiB. */
  maxBytesPerMsg?: number;
  /** Most unacknowledged appends per follower in replicate state. Default 16. */
  maxInflightMsgs?: number;
  /** Snapshot bytes per chunk message. Default 512 KiB. */
  snapshotChunkBytes?: number;
}

/** A snapshot being received, chunk by chunk, from one leader. */
interface SnapshotAssembly {
  from: NodeId;
  term: number;
  meta: RaftSnapshotMeta;
  total: number;
  chunks: Buffer[];
  received: number;
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId | null = null;
  role: Role = 'follower';
  lead: NodeId | null = null;
  readonly log: RaftLog;
  /** The configuration in force: the voters as of the last applied conf change (or snapshot). */
  voters = new Set<NodeId>();
  /** Index of the entry (or snapshot) that established `voters`; older conf changes are not re-applied. */
  confIndex: number;
  /** Leader only: one Progress per voter, including itself. */
  readonly progress = new Map<NodeId, Progress>();
  /** Outgoing messages, drained by RawNode.ready(). */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  leadTransferee: NodeId | null = null;
  /** Leader only: index of the last conf change proposed; a new one waits until it is applied. */
  pendingConfIndex = 0;

  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private readonly rand: () => number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxEntriesPerMsg: number;
  private readonly maxBytesPerMsg: number;
  private readonly maxInflight: number;
  private readonly chunkBytes: number;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  private readonly readOnly = new ReadOnlyQueue();
  /** Reads that arrived before this leader committed an entry of its term. */
  private pendingReads: { from: NodeId; requestId: string }[] = [];
  private readSeq = 0;
  private assembly: SnapshotAssembly | undefined;

  constructor(config: RaftConfig) {
    if (config.heartbeatTick <= 0 || config.electionTick <= config.heartbeatTick) {
      throw new Error('raft: need 0 < heartbeatTick < electionTick');
    }
    this.id = config.id;
    this.electionTimeout = config.electionTick;
    this.heartbeatTimeout = config.heartbeatTick;
    this.rand = config.rand;
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.maxEntriesPerMsg = config.maxEntriesPerMsg ?? 64;
    this.maxBytesPerMsg = config.maxBytesPerMsg ?? 1024 * 1024;
    this.maxInflight = config.maxInflightMsgs ?? 16;
    this.chunkBytes = config.snapshotChunkBytes ?? 512 * 1024;

    const storage = config.storage;
    const { hardState, voters } = storage.initialState();
    // The host restores its state machine from the storage's snapshot, so that is what is
    // applied; committed entries after it are handed out again and re-applied (conf changes too).
    const snap = storage.snapshot().meta;
    const committed = Math.max(hardState.commit, snap.index);
    if (committed > storage.lastIndex()) {
      throw new Error(`raft: persisted commit ${committed} is past the last index ${storage.lastIndex()}`);
    }
    this.log = new RaftLog(storage, committed, snap.index);
    this.voters = new Set(voters);
    this.confIndex = snap.index;
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.becomeFollower(this.term, null);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  // --- the host's inputs -------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** Campaigns now (as if the election timeout had passed). */
  campaign(): void {
    this.hup(false);
  }

  propose(data: Buffer): ProposeResult {
    return this.proposeEntry({ kind: 'normal', data });
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    if (this.role === 'leader') {
      if (this.pendingConfIndex > this.log.applied) return { accepted: false, reason: 'conf-change-pending' };
      const member = this.voters.has(cc.nodeId);
      if (cc.type === 'add-member' ? member : !member) return { accepted: false, reason: 'conf-change-no-op' };
      if (cc.type === 'remove-member' && this.voters.size === 1) {
        return { accepted: false, reason: 'would-remove-last-voter' };
      }
    }
    const r = this.proposeEntry({ kind: 'conf-change', data: encodeConfChange(cc) });
    if (r.accepted) this.pendingConfIndex = r.index;
    return r;
  }

  /** Asks to make `to` the leader. False if this member is not the leader or `to` is not a voter. */
  transferLeader(to: NodeId): boolean {
    if (this.role !== 'leader' || !this.voters.has(to)) return false;
    if (this.leadTransferee !== null) {
      if (this.leadTransferee === to) return true;
      this.leadTransferee = null;
    }
    if (to === this.id) return false;
    // The transfer must finish within one election timeout or it is abandoned (tickHeartbeat).
    this.electionElapsed = 0;
    this.leadTransferee = to;
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
    return true;
  }

  /**
   * Asks for a linearizable read point; it arrives later as a ReadState. False when there is no
   * known leader to ask. A read can still be lost (leader change, dropped message): hosts time out.
   */
  readIndex(requestId: string): boolean {
    if (this.role === 'leader') {
      this.handleReadIndex(this.id, requestId);
      return true;
    }
    if (this.lead === null) return false;
    this.send({ type: 'read-index', from: this.id, to: this.lead, term: this.term, requestId });
    return true;
  }

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        // Leader lease: a follower that heard from a leader within the election timeout
        // ignores campaigns, so a member that only lost touch (or was removed) cannot depose a
        // healthy leader. A transfer the leader itself asked for is let through.
        const inLease = this.checkQuorum && this.lead !== null && this.electionElapsed < this.electionTimeout;
        if (!m.transfer && inLease) return;
      }
      if (m.type === 'pre-vote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'pre-vote-response' && !m.reject) {
        // Granted pre-votes carry the term we would campaign at; we take it only by winning.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A stale leader (say, one that was partitioned) learns our term from this and steps
        // down; without it, pre-vote and lease could keep it and us apart indefinitely.
        this.send({
          type: 'append-response',
          from: this.id,
          to: m.from,
          term: this.term,
          index: 0,
          reject: false,
          rejectHint: 0,
          logTerm: 0,
        });
      } else if (m.type === 'pre-vote') {
        this.send({ type: 'pre-vote-response', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'pre-vote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  /** Called by RawNode.advance() for each applied conf-change entry. */
  applyConfChange(entry: Entry): void {
    if (entry.index <= this.confIndex) return;
    this.confIndex = entry.index;
    const cc = decodeConfChange(entry.data);
    if (cc.type === 'add-member') {
      this.voters.add(cc.nodeId);
      if (this.role === 'leader' && !this.progress.has(cc.nodeId)) {
        // Counted active so that a check-quorum round right after the add does not depose us.
        this.progress.set(cc.nodeId, new Progress(this.log.lastIndex() + 1, this.maxInflight, true));
      }
    } else {
      this.voters.delete(cc.nodeId);
      if (cc.nodeId !== this.id) this.progress.delete(cc.nodeId);
    }
    if (this.role !== 'leader') return;
    if (!this.voters.has(this.id)) {
      // The leader removed itself: its entry is committed, so it hands over by stepping down;
      // the remaining voters elect a leader among themselves.
      this.becomeFollower(this.term, null);
      return;
    }
    if (this.leadTransferee !== null && !this.voters.has(this.leadTransferee)) this.leadTransferee = null;
    // The quorum changed: entries may now be committed (a removal) or need a new voter.
    if (this.maybeCommit()) this.bcastAppend();
    else if (cc.type === 'add-member') this.sendAppend(cc.nodeId);
  }

  /** Whether committed but unapplied entries include a conf change. */
  private hasUnappliedConfChange(): boolean {
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    if (this.log.committed < lo) return false;
    return this.log.slice(lo, this.log.committed + 1).some((e) => e.kind === 'conf-change');
  }

  // --- roles -----------------------------------------------------------------------------

  private promotable(): boolean {
    return this.voters.has(this.id);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.rand() * this.electionTimeout);
    this.leadTransferee = null;
    this.votes = new Map();
    this.progress.clear();
    this.pendingConfIndex = 0;
    this.readOnly.reset();
    this.pendingReads = [];
  }

  becomeFollower(term: number, lead: NodeId | null): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    // No term change and no vote: a pre-campaign that fails leaves no trace.
    this.votes = new Map();
    this.lead = null;
    this.role = 'pre-candidate';
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const last = this.log.lastIndex();
    for (const id of this.voters) this.progress.set(id, new Progress(last + 1, this.maxInflight));
    const self = this.progress.get(this.id)!;
    self.match = last;
    self.becomeReplicate();
    // Conf changes already in the log may be uncommitted; allow a new one only after they (and
    // the entry below, of our term) are applied. This is also what keeps a new leader from
    // changing the configuration before it has committed an entry of its own term.
    this.pendingConfIndex = last;
    // An empty entry of our term: committing it commits everything before it (§5.4.2).
    this.appendEntries([{ index: 0, term: 0, kind: 'normal', data: Buffer.alloc(0) }]);
  }

  // --- elections -------------------------------------------------------------------------

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // Our configuration is stale until committed conf changes are applied: do not campaign
    // with it (after a restart, the host re-applies them in the first Ready).
    if (this.hasUnappliedConfChange()) return;
    if (this.preVote && !transfer) this.campaignRound('pre-vote', false);
    else this.campaignRound('vote', transfer);
  }

  private campaignRound(kind: 'vote' | 'pre-vote', transfer: boolean): void {
    let voteTerm: number;
    if (kind === 'pre-vote') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    if (this.poll(this.id, true) === 'won') {
      this.wonRound(kind);
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of this.voters) {
      if (id === this.id) continue;
      this.send({ type: kind, from: this.id, to: id, term: voteTerm, index, logTerm, transfer });
    }
  }

  private wonRound(kind: 'vote' | 'pre-vote'): void {
    if (kind === 'pre-vote') {
      this.campaignRound('vote', false);
    } else {
      this.becomeLeader();
      this.bcastAppend();
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  private handleVoteRequest(m: VoteRequest): void {
    const respType = m.type === 'vote' ? 'vote-response' : 'pre-vote-response';
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.lead === null) ||
      (m.type === 'pre-vote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // Granted responses carry the request's term: for a pre-vote, the future term.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  // --- per-role message handling ---------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        break;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.log.commitTo(m.commit);
        this.send({ type: 'heartbeat-response', from: this.id, to: m.from, term: this.term, context: m.context });
        break;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshotChunk(m);
        break;
      case 'timeout-now':
        this.hup(true);
        break;
      case 'read-index-response':
        this.readStates.push({ requestId: m.requestId, index: m.index });
        break;
      default:
        break;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Someone won this term.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        break;
      case 'vote-response':
      case 'pre-vote-response': {
        const mine = this.role === 'candidate' ? 'vote-response' : 'pre-vote-response';
        if (m.type !== mine) break;
        const res = this.poll(m.from, !m.reject);
        if (res === 'won') this.wonRound(this.role === 'candidate' ? 'vote' : 'pre-vote');
        else if (res === 'lost') this.becomeFollower(this.term, null);
        break;
      }
      default:
        break;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'append-response':
        this.handleAppendResponse(m.from, m.index, m.reject, m.rejectHint, m.logTerm);
        break;
      case 'heartbeat-response':
        this.handleHeartbeatResponse(m.from, m.context);
        break;
      case 'snapshot-ack': {
        const pr = this.progress.get(m.from);
        if (!pr) break;
        pr.recentActive = true;
        if (pr.state !== 'snapshot' || pr.pendingSnapshot !== m.index) break;
        // Forward acks move on; a rewind (the follower lost chunks) moves back.
        if (m.rewind ? m.offset !== pr.snapshotOffset : m.offset > pr.snapshotOffset) {
          pr.snapshotOffset = m.offset;
          this.sendSnapshotChunk(m.from, pr);
        }
        break;
      }
      case 'read-index':
        this.handleReadIndex(m.from, m.requestId);
        break;
      default:
        break;
    }
  }

  // --- replication: follower side ----------------------------------------------------------

  private handleAppend(m: AppendMessage): void {
    const reply = (index: number, reject = false, rejectHint = 0, logTerm = 0) =>
      this.send({
        type: 'append-response',
        from: this.id,
        to: m.from,
        term: this.term,
        index,
        reject,
        rejectHint,
        logTerm,
      });
    if (m.index < this.log.committed) {
      reply(this.log.committed);
      return;
    }
    const last = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (last !== undefined) {
      reply(last);
      return;
    }
    // Our entry at m.index is missing or of another term. Point the leader at our last entry
    // whose term is at most m.logTerm: every entry between there and m.index conflicts.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    reply(m.index, true, hint.index, hint.term);
  }

  private handleSnapshotChunk(m: SnapshotChunk): void {
    const ack = (offset: number, rewind: boolean) =>
      this.send({
        type: 'snapshot-ack',
        from: this.id,
        to: m.from,
        term: this.term,
        index: m.meta.index,
        offset,
        rewind,
      });
    if (m.meta.index <= this.log.committed) {
      // Already have it all: say so, and the leader resumes appending after our commit.
      this.assembly = undefined;
      this.send({
        type: 'append-response',
        from: this.id,
        to: m.from,
        term: this.term,
        index: this.log.committed,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      });
      return;
    }
    let a = this.assembly;
    if (
      !a ||
      a.from !== m.from ||
      a.term !== m.term ||
      a.meta.index !== m.meta.index ||
      a.meta.term !== m.meta.term ||
      a.total !== m.total
    ) {
      if (m.offset !== 0) {
        ack(0, true);
        return;
      }
      a = this.assembly = { from: m.from, term: m.term, meta: m.meta, total: m.total, chunks: [], received: 0 };
    }
    if (m.offset > a.received) {
      ack(a.received, true);
      return;
    }
    if (m.offset === a.received && (m.chunk.length > 0 || m.total === 0)) {
      a.chunks.push(m.chunk);
      a.received += m.chunk.length;
    }
    if (a.received < a.total) {
      ack(a.received, false);
      return;
    }
    this.assembly = undefined;
    const snapshot: RaftSnapshot = { meta: a.meta, data: Buffer.concat(a.chunks) };
    const index = this.restore(snapshot) ? this.log.lastIndex() : this.log.committed;
    this.send({
      type: 'append-response',
      from: this.id,
      to: m.from,
      term: this.term,
      index,
      reject: false,
      rejectHint: 0,
      logTerm: 0,
    });
  }

  /** Installs a complete snapshot. False when we already have what it covers. */
  private restore(s: RaftSnapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // Our log already holds the snapshot's last entry: just learn it is committed.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.voters = new Set(s.meta.voters);
    this.confIndex = s.meta.index;
    return true;
  }

  // --- replication: leader side ----------------------------------------------------------

  private appendEntries(entries: Entry[]): void {
    let index = this.log.lastIndex();
    const stamped = entries.map((e) => ({ ...e, index: ++index, term: this.term }));
    this.log.append(stamped);
    this.progress.get(this.id)!.maybeUpdate(this.log.lastIndex());
    // A single voter commits on its own.
    if (this.maybeCommit()) this.releasePendingReads();
  }

  private proposeEntry(e: Pick<Entry, 'kind' | 'data'>): ProposeResult {
    if (this.role !== 'leader' || !this.voters.has(this.id)) return { accepted: false, reason: 'not-leader' };
    if (this.leadTransferee !== null) return { accepted: false, reason: 'leader-transfer-in-progress' };
    this.appendEntries([{ index: 0, term: 0, kind: e.kind, data: e.data }]);
    this.bcastAppend();
    return { accepted: true, index: this.log.lastIndex(), term: this.term };
  }

  private maybeCommit(): boolean {
    const mci = committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
    return this.log.maybeCommit(mci, this.term);
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private handleAppendResponse(
    from: NodeId,
    index: number,
    reject: boolean,
    rejectHint: number,
    logTerm: number,
  ): void {
    const pr = this.progress.get(from);
    if (!pr) return;
    pr.recentActive = true;
    if (reject) {
      // Skip every entry of a term the follower cannot have: with its hint (index, term) we
      // probe at our last entry of a term ≤ its term, not one index lower.
      const next = logTerm > 0 ? this.log.findConflictByTerm(rejectHint, logTerm).index : rejectHint;
      if (pr.maybeDecrTo(index, next)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    const updated = pr.maybeUpdate(index);
    // An ack of what we already knew still ends a probe (the follower matches at `index`) or a
    // snapshot transfer (the follower has it, or something newer).
    const snapshotDone =
      pr.state === 'snapshot' && (pr.match >= pr.pendingSnapshot || pr.match + 1 >= this.log.firstIndex());
    if (!updated && !(pr.state === 'probe' && pr.match === index) && !snapshotDone) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (snapshotDone) {
      // If we compacted past the follower meanwhile, probing finds that and sends a newer snapshot.
      pr.becomeProbe();
      if (pr.match + 1 >= this.log.firstIndex()) pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(index);
    }
    if (this.maybeCommit()) {
      this.releasePendingReads();
      this.bcastAppend();
    } else if (wasPaused) {
      this.sendAppend(from);
    }
    // Pipelining: fill the inflight window.
    while (this.maybeSendAppend(from, false)) {
      // keep sending
    }
    if (from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(from);
  }

  private handleHeartbeatResponse(from: NodeId, context: string | null): void {
    const pr = this.progress.get(from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // A window full of lost appends would otherwise never drain.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.state === 'snapshot') this.sendSnapshotChunk(from, pr);
    else if (pr.match < this.log.lastIndex()) this.sendAppend(from);

    if (context === null) return;
    const acks = this.readOnly.ack(context, from);
    if (!acks || voteResult(this.voters, acks) !== 'won') return;
    for (const r of this.readOnly.advance(context)) this.respondRead(r.from, r.requestId, r.index);
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends the next batch to `to` if its progress allows. Returns whether a message went out. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    let entries: Entry[] | undefined;
    try {
      entries = this.log.entries(pr.next, this.maxBytesPerMsg, this.maxEntriesPerMsg);
    } catch (err) {
      if (!(err instanceof RaftCompactedError)) throw err;
    }
    if (prevTerm === undefined || entries === undefined) {
      if (prevIndex > this.log.lastIndex()) throw new Error(`raft: ${to}'s next ${pr.next} is past our log`);
      return this.sendSnapshot(to, pr);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.log.committed,
    });
    if (pr.state === 'replicate') {
      if (entries.length > 0) {
        const last = entries[entries.length - 1].index;
        pr.optimisticUpdate(last);
        pr.inflights.add(last);
      }
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // Only to a follower that answers: a snapshot is expensive to send into the void.
    if (!pr.recentActive) return false;
    const snapshot = this.log.snapshot();
    if (snapshot.meta.index === 0) throw new Error('raft: log compacted without a snapshot');
    pr.becomeSnapshot(snapshot);
    this.sendSnapshotChunk(to, pr);
    return true;
  }

  /**
   * Sends the chunk at the acknowledged offset. Stop-and-wait: the next chunk goes out on the
   * ack; a lost chunk or ack is re-sent on the next heartbeat response.
   */
  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const s = pr.snapshot!;
    const offset = pr.snapshotOffset;
    const end = Math.min(offset + this.chunkBytes, s.data.length);
    this.send({
      type: 'snapshot',
      from: this.id,
      to,
      term: this.term,
      meta: s.meta,
      offset,
      total: s.data.length,
      chunk: s.data.subarray(offset, end),
    });
  }

  private bcastAppend(): void {
    for (const id of this.voters) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(context: string | null): void {
    for (const id of this.voters) {
      if (id === this.id) continue;
      const pr = this.progress.get(id);
      if (!pr) continue;
      // Never tell a follower to commit past what it is known to have.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, context });
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeout-now', from: this.id, to, term: this.term });
  }

  // --- reads -------------------------------------------------------------------------------

  private handleReadIndex(from: NodeId, requestId: string): void {
    if (this.voters.size === 1 && this.voters.has(this.id)) {
      this.respondRead(from, requestId, this.log.committed);
      return;
    }
    // Until an entry of our term commits, our commit index may be behind the last leader's.
    if (!this.committedInCurrentTerm()) {
      this.pendingReads.push({ from, requestId });
      return;
    }
    const context = `${this.term}.${++this.readSeq}`;
    this.readOnly.add({ context, index: this.log.committed, from, requestId });
    this.readOnly.ack(context, this.id);
    this.bcastHeartbeat(context);
  }

  private releasePendingReads(): void {
    if (this.pendingReads.length === 0 || !this.committedInCurrentTerm()) return;
    const reads = this.pendingReads;
    this.pendingReads = [];
    for (const r of reads) this.handleReadIndex(r.from, r.requestId);
  }

  private respondRead(from: NodeId, requestId: string, index: number): void {
    if (from === this.id) this.readStates.push({ requestId, index });
    else this.send({ type: 'read-index-response', from: this.id, to: from, term: this.term, requestId, index });
  }

  // --- ticks -------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        const active = quorumActive(
          this.voters,
          (id) => id === this.id || this.progress.get(id)?.recentActive === true,
        );
        for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
        if (!active) {
          // No majority heard from in an election timeout: another leader may exist; stop
          // serving (and accepting proposals) as one.
          this.becomeFollower(this.term, null);
          return;
        }
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(null);
    }
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }
}
