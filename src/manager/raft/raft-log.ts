// The replicated log among managers: the Raft core (src/raft) driven by a Ready loop, with the encrypted disk log
// (src/log/wal) for what must survive a crash, a transport for messages (transport.ts), a timer for ticks, and the
// store as state machine. After swarmkit's manager/state/raft: every manager keeps its own log, under its own DEK.
//
// A proposal carries a random ID ahead of the store's bytes (proposal.ts), so that the member that proposed it can
// hand the state machine's result back when it applies that entry; a follower forwards its proposals to the leader
// and waits for the same entry to reach its own store. Writes are therefore linearizable from any manager, and a
// manager's store, once a write it made has returned, already shows it.
import { randomBytes } from 'node:crypto';
import { ApiError, MSG, rpcError } from '../../api/errors';
import type { HardState as DiskHardState, LogEntry, ReplicatedLog, StateMachine } from '../../log/replicated-log';
import { ENTRY_CONF_CHANGE, ENTRY_NORMAL } from '../../log/replicated-log';
import {
  MemoryRaftStorage,
  RawNode,
  bootstrapEntries,
  decodeConfChange,
  type ConfChange,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ProposeResult,
  type Ready,
  type SoftState,
} from '../../raft';
import type { ManagerStorage } from '../manager';
import { decodeDiskSnapshot, encodeDiskSnapshot } from './disk-snapshot';
import { decodeProposal, encodeProposal } from './proposal';

/** How a member reaches the others. */
export interface RaftTransport {
  /** Sends messages on a best-effort basis: Raft retries what is lost. */
  send(messages: Message[]): void;
  /** Hands a proposal to the leader `to`, which proposes it as its own. */
  forward(to: NodeId, data: Buffer): Promise<ProposeResult>;
}

export interface RaftTiming {
  /** One logical tick, in ms (swarmkit's 1 s). */
  tickMs: number;
  /** Ticks without a leader before an election (swarmkit's Raft.ElectionTick, 10). */
  electionTick: number;
  /** Ticks between a leader's heartbeats (Raft.HeartbeatTick, 1). */
  heartbeatTick: number;
}

export const DEFAULT_TIMING: RaftTiming = { tickMs: 1000, electionTick: 10, heartbeatTick: 1 };

export interface RaftLogOptions {
  id: NodeId;
  storage: ManagerStorage;
  timing?: RaftTiming;
  /** Raft.SnapshotInterval: entries between snapshots. */
  snapshotInterval?: number;
  /** A new swarm whose only voter is this member (swarm init, or --force-new-cluster). */
  bootstrap?: boolean;
}

/** swarmkit's LogEntriesForSlowFollowers: entries kept in memory behind a snapshot for followers that lag. */
const KEEP_FOR_SLOW_FOLLOWERS = 500;

interface Pending {
  resolve(result: unknown): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
  /** Where the leader put it; any other entry applied there means it was lost with a leader. */
  at?: { index: number; term: number };
}

interface PendingRead {
  resolve(): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
  index?: number;
}

const toDiskHardState = (hs: HardState): DiskHardState => ({ term: hs.term, vote: hs.vote ?? '', commit: hs.commit });
const fromDiskHardState = (hs: DiskHardState): HardState => ({
  term: hs.term,
  vote: hs.vote === '' ? null : hs.vote,
  commit: hs.commit,
});
const toDiskEntry = (e: Entry): LogEntry => ({
  index: e.index,
  term: e.term,
  data: e.data,
  kind: e.kind === 'conf-change' ? ENTRY_CONF_CHANGE : ENTRY_NORMAL,
});
const fromDiskEntry = (e: LogEntry): Entry => ({
  index: e.index,
  term: e.term,
  data: e.data,
  kind: e.kind === ENTRY_CONF_CHANGE ? 'conf-change' : 'normal',
});

export const noLeader = () => new ApiError(503, MSG.noLeader);
export const deadlineExceeded = () => rpcError('DeadlineExceeded', 'context deadline exceeded');

export class RaftLog implements ReplicatedLog {
  private readonly node: RawNode;
  private readonly pending = new Map<string, Pending>();
  private readonly reads = new Map<string, PendingRead>();
  private soft: SoftState = { leader: null, role: 'follower' };
  private applied: number;
  private snapshotIndex: number;
  private snapshotInterval: number;
  private transport?: RaftTransport;
  private ticker?: NodeJS.Timeout;
  private scheduled = false;
  private running?: Promise<void>;
  /** Set while withSnapshot's fn runs: the loop neither persists nor applies. */
  private holding = false;
  private closed = false;
  /** A hard state that moved only the commit index since the last write: written with the next entries. */
  private unwrittenHardState?: HardState;
  /** Set when a write failed: the member stops, since what is on disk is then unknown. */
  private failure?: unknown;
  private readonly leaderListeners = new Set<(soft: SoftState) => void>();
  private readonly confListeners = new Set<(cc: ConfChange) => void>();
  /** What was committed when this member started; a lone voter campaigns once it has applied that much. */
  private readonly startCommit: number;
  private triedAlone = false;

  private constructor(
    private readonly sm: StateMachine,
    private readonly opts: RaftLogOptions,
    private readonly mem: MemoryRaftStorage,
    readonly timing: RaftTiming,
  ) {
    this.node = new RawNode({
      id: opts.id,
      storage: mem,
      electionTick: timing.electionTick,
      heartbeatTick: timing.heartbeatTick,
      rand: Math.random,
    });
    this.applied = mem.snapshot().meta.index;
    this.snapshotIndex = this.applied;
    this.snapshotInterval = opts.snapshotInterval ?? 10000;
    this.startCommit = mem.initialState().hardState.commit;
  }

  /**
   * Recovers this member from its disk log: the store from the latest snapshot (the entries after it are applied
   * again as Raft hands them back committed), the Raft state from the entries and the hard state.
   */
  static async open(sm: StateMachine, opts: RaftLogOptions): Promise<RaftLog> {
    const timing = opts.timing ?? DEFAULT_TIMING;
    const loaded = await opts.storage.load();
    const mem = new MemoryRaftStorage();
    if (loaded.snapshot) {
      const snap = decodeDiskSnapshot(loaded.snapshot);
      mem.applySnapshot(snap);
      sm.restore({ meta: snap.meta, data: snap.data });
    }
    mem.append(loaded.entries.map(fromDiskEntry));
    if (loaded.hardState) mem.setHardState(fromDiskHardState(loaded.hardState));
    if (opts.bootstrap && mem.lastIndex() === 0) {
      // A new swarm: this member's own add-member entry, committed at term 1, as etcd bootstraps.
      const entries = bootstrapEntries([opts.id]);
      const hs: HardState = { term: 1, vote: null, commit: entries.length };
      await opts.storage.append(entries.map(toDiskEntry), toDiskHardState(hs));
      mem.append(entries);
      mem.setHardState(hs);
    }
    return new RaftLog(sm, opts, mem, timing);
  }

  /** Starts ticking and exchanging messages. A lone voter (a new swarm) campaigns at once. */
  start(transport: RaftTransport): void {
    this.transport = transport;
    this.ticker = setInterval(() => {
      this.node.tick();
      this.schedule();
    }, this.timing.tickMs);
    if (!this.triedAlone && this.applied >= this.startCommit) {
      // Nothing to apply again first (a member restarted from a snapshot alone): the configuration is known now.
      this.triedAlone = true;
      this.campaignIfAlone();
    }
    this.schedule();
  }

  /** A single voter (a new swarm, a one-manager swarm restarted) need not wait an election timeout. */
  private campaignIfAlone(): void {
    const st = this.node.status();
    if (st.voters.length === 1 && st.voters[0] === this.opts.id && st.role !== 'leader') {
      this.node.campaign();
      this.schedule();
    }
  }

  // ---- what the rest of the manager asks ----

  get id(): NodeId {
    return this.opts.id;
  }

  leader(): NodeId | null {
    return this.soft.leader;
  }

  isLeader(): boolean {
    return this.soft.role === 'leader';
  }

  voters(): NodeId[] {
    return this.node.voters();
  }

  status() {
    return this.node.status();
  }

  appliedIndex(): number {
    return this.applied;
  }

  setSnapshotInterval(entries: number): void {
    this.snapshotInterval = entries;
  }

  /** Called with the new soft state whenever the leader or this member's role changes. */
  onLeadership(fn: (soft: SoftState) => void): () => void {
    this.leaderListeners.add(fn);
    return () => this.leaderListeners.delete(fn);
  }

  /** Called with each membership change as it is applied. */
  onConfChange(fn: (cc: ConfChange) => void): () => void {
    this.confListeners.add(fn);
    return () => this.confListeners.delete(fn);
  }

  /** Resolves once a majority of the current configuration is known to be reachable and every member agrees on the leader. */
  async waitForLeader(timeoutMs: number): Promise<NodeId> {
    const start = Date.now();
    while (Date.now() - start < timeoutMs) {
      if (this.soft.leader) return this.soft.leader;
      await new Promise((r) => setTimeout(r, Math.min(50, this.timing.tickMs)));
    }
    throw noLeader();
  }

  // ---- proposals ----

  /** The time a proposal or read may take before it fails: a few election timeouts. */
  private get deadlineMs(): number {
    return Math.max(5000, 3 * this.timing.electionTick * this.timing.tickMs);
  }

  propose(data: Buffer): Promise<unknown> {
    if (this.closed || this.failure) return Promise.reject(this.failure ?? new Error('the replicated log is closed'));
    const id = randomBytes(12).toString('hex');
    const envelope = encodeProposal(id, data);
    return new Promise((resolve, reject) => {
      // A proposal the leader took but could not commit in time may still commit later: say so, as Docker does.
      const timer = setTimeout(
        () => this.settle(id, this.pending.get(id)?.at ? deadlineExceeded() : noLeader()),
        this.deadlineMs,
      );
      this.pending.set(id, { resolve, reject, timer });
      const placed = (r: ProposeResult) => {
        const p = this.pending.get(id);
        if (!p) return;
        if (r.accepted) p.at = { index: r.index, term: r.term };
        else
          this.settle(
            id,
            r.reason === 'not-leader' ? noLeader() : new ApiError(503, `raft: proposal dropped: ${r.reason}`),
          );
      };
      const leader = this.soft.leader;
      if (this.isLeader()) {
        placed(this.node.propose(envelope));
        this.schedule();
      } else if (leader && this.transport) {
        this.transport.forward(leader, envelope).then(placed, () => this.settle(id, noLeader()));
      } else {
        this.settle(id, noLeader());
      }
    });
  }

  /** A follower's proposal, forwarded to this member as leader. */
  proposeForwarded(envelope: Buffer): ProposeResult {
    if (this.closed) return { accepted: false, reason: 'not-leader' };
    const r = this.node.propose(envelope);
    this.schedule();
    return r;
  }

  /** Adds or removes one voter (leader only); resolves once the change is applied here. */
  changeMembership(cc: ConfChange): Promise<void> {
    if (!this.isLeader()) return Promise.reject(noLeader());
    const r = this.node.proposeConfChange(cc);
    this.schedule();
    if (!r.accepted) {
      const why =
        r.reason === 'conf-change-pending'
          ? 'a membership change is already in progress'
          : r.reason === 'conf-change-no-op'
            ? cc.type === 'add-member'
              ? 'the node is already a member'
              : 'the node is not a member'
            : r.reason;
      return Promise.reject(new ApiError(503, `raft: ${why}`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(noLeader());
      }, this.deadlineMs);
      const check = () => {
        if (this.applied < r.index) return;
        clearTimeout(timer);
        off();
        if (this.node.termAt(r.index) === r.term || this.node.termAt(r.index) === undefined) resolve();
        else reject(new ApiError(503, 'raft: the membership change was lost with a change of leader'));
      };
      const off = this.onApplied(check);
      check();
    });
  }

  private readonly appliedListeners = new Set<() => void>();
  private onApplied(fn: () => void): () => void {
    this.appliedListeners.add(fn);
    return () => this.appliedListeners.delete(fn);
  }

  /** Hands leadership to `to` (leader only), as `docker node demote` of the leader does first. */
  transferLeadership(to: NodeId): boolean {
    const ok = this.node.transferLeader(to);
    this.schedule();
    return ok;
  }

  /**
   * Resolves once this member's store reflects every write committed before the call (Raft's ReadIndex):
   * a read served after it is linearizable, on a follower too.
   */
  readBarrier(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the replicated log is closed'));
    const id = randomBytes(8).toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reads.delete(id);
        reject(noLeader());
      }, this.deadlineMs);
      this.reads.set(id, { resolve, reject, timer });
      if (!this.soft.leader || !this.node.readIndex(id)) {
        clearTimeout(timer);
        this.reads.delete(id);
        reject(noLeader());
        return;
      }
      this.schedule();
    });
  }

  /** Messages from another member. */
  receive(messages: Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      try {
        this.node.step(m);
      } catch (err) {
        // A malformed or unexpected message from a peer must not stop this member.
        console.error(`shoal daemon: raft: dropping a ${m?.type} message from ${m?.from}: ${(err as Error).message}`);
      }
    }
    this.schedule();
  }

  // ---- the Ready loop ----

  private schedule(): void {
    if (this.scheduled || this.closed || this.failure) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running || this.holding) return;
      this.running = this.loop()
        .catch((err: Error) => {
          // A bug in the loop must neither crash the daemon nor leave proposals waiting: fail them and stop.
          this.failure = err;
          console.error(`shoal daemon: raft: the log stopped: ${err.stack ?? err.message}`);
          this.failAll(err);
        })
        .finally(() => {
          this.running = undefined;
          if (this.node.hasReady() && !this.holding) this.schedule();
        });
    });
  }

  private async loop(): Promise<void> {
    while (!this.closed && !this.holding && !this.failure && this.node.hasReady()) {
      const rd = this.node.ready();
      // A leader's appends go out while its own write is in flight, as etcd's leader does: the followers write
      // in parallel with it. Commitment cannot get ahead of the leader's disk: what the followers acknowledge
      // meanwhile is stepped into Raft, but the commit it yields is only applied or told to anyone (committed
      // entries, the commit index in messages, read states) in a later Ready, after this one is durable.
      const early = this.earlyMessages(rd);
      if (early.length) this.transport?.send(early);
      try {
        await this.persist(rd);
      } catch (err) {
        // Nothing of this Ready may be sent or applied: stop, as swarmkit's node does on a failed WAL write.
        this.failure = err;
        console.error(`shoal daemon: raft: writing the log failed, this manager stops: ${(err as Error).message}`);
        this.failAll(err);
        return;
      }
      const rest = early.length ? rd.messages.filter((m) => !early.includes(m)) : rd.messages;
      if (rest.length) this.transport?.send(rest);
      if (rd.snapshot) this.restoreSnapshot(rd);
      for (const e of rd.committedEntries) this.apply(e);
      this.node.advance(rd);
      for (const e of rd.committedEntries) {
        if (e.kind === 'conf-change') for (const fn of this.confListeners) fn(decodeConfChange(e.data));
      }
      this.serveReads(rd);
      if (rd.softState) this.leadershipChanged(rd.softState);
      for (const fn of [...this.appliedListeners]) fn();
      await this.maybeSnapshot();
      if (!this.triedAlone && this.applied >= this.startCommit) {
        // The configuration is known once what was committed before the restart is applied again.
        this.triedAlone = true;
        this.campaignIfAlone();
      }
    }
  }

  /**
   * What of `rd` may be sent before it is persisted: a leader's appends, when `rd` changes neither term nor vote
   * (those must be durable before any message that follows from them) and carries no snapshot.
   */
  private earlyMessages(rd: Ready): Message[] {
    if ((rd.softState ?? this.soft).role !== 'leader' || rd.snapshot || rd.messages.length === 0) return [];
    if (rd.hardState && this.termOrVoteChanged(rd.hardState)) return [];
    return rd.messages.filter((m) => m.type === 'append');
  }

  /** Whether `hs` differs in term or vote from the hard state last persisted (or deferred: same term and vote). */
  private termOrVoteChanged(hs: HardState): boolean {
    const cur = this.mem.initialState().hardState;
    return hs.term !== cur.term || hs.vote !== cur.vote;
  }

  private async persist(rd: Ready): Promise<void> {
    if (rd.snapshot) {
      await this.opts.storage.saveSnapshot(encodeDiskSnapshot(rd.snapshot));
      this.mem.applySnapshot(rd.snapshot);
      this.snapshotIndex = rd.snapshot.meta.index;
    }
    const hs = rd.hardState;
    if (rd.entries.length || (hs && this.termOrVoteChanged(hs))) {
      const disk = hs ?? this.unwrittenHardState;
      await this.opts.storage.append(rd.entries.map(toDiskEntry), disk && toDiskHardState(disk));
      this.unwrittenHardState = undefined;
      this.mem.append(rd.entries);
      if (hs) this.mem.setHardState(hs);
    } else if (hs) {
      // Only the commit index moved. As etcd (raft.MustSync), that needs no write of its own: it goes with the
      // next one. A commit index lost in a crash is learnt again from the leader; the Raft core takes the
      // snapshot's index as committed when the hard state on disk says less.
      this.unwrittenHardState = hs;
      this.mem.setHardState(hs);
    }
  }

  private restoreSnapshot(rd: Ready): void {
    const snap = rd.snapshot!;
    this.sm.restore({ meta: snap.meta, data: snap.data });
    this.applied = snap.meta.index;
    // Proposals the snapshot covers were either in it or lost: their outcome cannot be told apart here.
    for (const [id, p] of this.pending) {
      if (p.at && p.at.index <= snap.meta.index) this.settle(id, noLeader());
    }
  }

  private apply(e: Entry): void {
    this.applied = e.index;
    if (e.kind !== 'normal' || e.data.length === 0) {
      this.settleLost(e);
      return;
    }
    let proposal: { id?: string; data: Buffer };
    try {
      proposal = decodeProposal(e.data);
    } catch (err) {
      // Every member skips the same unreadable entry, so their stores stay alike; it must not stop the loop.
      console.error(`shoal daemon: raft: skipping entry ${e.index}: ${(err as Error).message}`);
      this.settleLost(e);
      return;
    }
    let result: unknown;
    let failed = false;
    try {
      result = this.sm.apply({ index: e.index, term: e.term, data: proposal.data });
    } catch (err) {
      failed = true;
      result = err;
    }
    const p = proposal.id !== undefined ? this.pending.get(proposal.id) : undefined;
    if (p && proposal.id) {
      this.pending.delete(proposal.id);
      clearTimeout(p.timer);
      if (failed) p.reject(result);
      else p.resolve(result);
    }
    this.settleLost(e, proposal.id);
  }

  /** A proposal placed at `e.index` that is not `e` was lost with its leader. */
  private settleLost(e: Entry, appliedId?: string): void {
    for (const [id, p] of this.pending) {
      if (id !== appliedId && p.at && p.at.index === e.index) {
        this.settle(id, new ApiError(503, 'raft: the proposal was lost with a change of leader; it may be retried'));
      }
    }
  }

  private settle(id: string, err: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.reject(err);
  }

  private serveReads(rd: Ready): void {
    for (const rs of rd.readStates) {
      const r = this.reads.get(rs.requestId);
      if (r) r.index = rs.index;
    }
    for (const [id, r] of this.reads) {
      if (r.index !== undefined && r.index <= this.applied) {
        this.reads.delete(id);
        clearTimeout(r.timer);
        r.resolve();
      }
    }
  }

  private leadershipChanged(soft: SoftState): void {
    const wasLeader = this.soft.role === 'leader';
    this.soft = soft;
    // Reads asked of a leader that is gone will not be answered.
    if (soft.leader === null || (wasLeader && soft.role !== 'leader')) {
      for (const [id, r] of this.reads) {
        if (r.index === undefined) {
          this.reads.delete(id);
          clearTimeout(r.timer);
          r.reject(noLeader());
        }
      }
    }
    for (const fn of this.leaderListeners) fn(soft);
  }

  private async maybeSnapshot(): Promise<void> {
    if (this.snapshotInterval <= 0 || this.applied - this.snapshotIndex < this.snapshotInterval) return;
    try {
      const snap = this.mem.createSnapshot(this.applied, this.node.voters(), this.sm.snapshot());
      await this.opts.storage.saveSnapshot(encodeDiskSnapshot(snap));
      this.snapshotIndex = snap.meta.index;
      this.mem.compact(Math.max(this.mem.firstIndex() - 1, snap.meta.index - KEEP_FOR_SLOW_FOLLOWERS));
    } catch (err) {
      process.emitWarning(`raft log snapshot failed, will retry: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * Rewrites the disk log under a new DEK at a quiet point: a snapshot of the store as applied, and the entries
   * after it (persisted, perhaps not yet committed) with the hard state, written again.
   */
  async rekey(dek: Buffer): Promise<void> {
    const storage = this.opts.storage;
    if (!storage.rekey) throw new Error('this log storage cannot change its encryption key');
    this.holding = true;
    try {
      while (this.running) await this.running;
      const index = this.applied;
      const term = this.node.termAt(index) ?? this.mem.snapshot().meta.term;
      const snap = encodeDiskSnapshot({
        meta: { index, term, voters: this.node.voters() },
        data: this.sm.snapshot(),
      });
      const last = this.mem.lastIndex();
      const tail = last > index ? this.mem.entries(index + 1, last + 1).map(toDiskEntry) : [];
      await storage.rekey(dek, snap, tail, toDiskHardState(this.mem.initialState().hardState));
      this.unwrittenHardState = undefined;
    } finally {
      this.holding = false;
      this.schedule();
    }
  }

  private failAll(err: unknown): void {
    for (const id of [...this.pending.keys()]) this.settle(id, err);
    for (const [id, r] of this.reads) {
      this.reads.delete(id);
      clearTimeout(r.timer);
      r.reject(err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    while (this.running) await this.running;
    // The latest commit index, for a quicker restart (not needed for correctness).
    if (this.unwrittenHardState && !this.failure) {
      const hs = toDiskHardState(this.unwrittenHardState);
      this.unwrittenHardState = undefined;
      await this.opts.storage.append([], hs).catch(() => undefined);
    }
    this.failAll(new Error('the replicated log is closed'));
  }
}

/**
 * Docker's timing (1 s ticks: elections after 10–20 s), or shorter ticks from the debug-only environment variable
 * SHOAL_DEBUG_RAFT_TICK_MS, for tests that kill leaders.
 */
export function raftTimingFromEnv(env: NodeJS.ProcessEnv = process.env): RaftTiming {
  const tickMs = Number(env.SHOAL_DEBUG_RAFT_TICK_MS);
  return Number.isFinite(tickMs) && tickMs >= 10 ? { ...DEFAULT_TIMING, tickMs } : DEFAULT_TIMING;
}
