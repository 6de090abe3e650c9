// An in-process cluster of RawNodes over a simulated network, run by the tests: each member's
// MemoryRaftStorage is exactly what it persisted, so crash() + restart() keeps that and loses
// everything else (unstable entries, unsent messages, the state machine, a half-received
// snapshot). Every Ready is handled the way a real host must: persist, send, apply, advance;
// every step is checked against the invariants in ./invariants.
import { MemoryRaftStorage, RawNode, type Message, type ProposeResult, type SoftState } from '../../../src/raft';
import { Invariants, InvariantViolation } from './invariants';
import { mulberry32, type Rand } from './prng';

export interface ClusterOptions {
  seed?: number;
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxEntriesPerMsg?: number;
  maxBytesPerMsg?: number;
  maxInflightMsgs?: number;
  snapshotChunkBytes?: number;
}

/** The replicated state: a hash chain over every applied entry, plus the normal entries' text. */
export interface AppState {
  index: number;
  hash: number;
  log: string[];
}

function mix(hash: number, s: string): number {
  let h = hash ^ 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export class SimNode {
  node: RawNode | undefined;
  state: AppState = { index: 0, hash: 0, log: [] };
  soft: SoftState = { leader: null, role: 'follower' };
  readStates: { requestId: string; index: number }[] = [];
  /** Read requests asked and not answered: the commit index known when each was asked. */
  readFloors = new Map<string, number>();

  constructor(
    readonly id: string,
    readonly storage: MemoryRaftStorage,
  ) {}

  get alive(): boolean {
    return this.node !== undefined;
  }
}

export class Cluster {
  readonly nodes = new Map<string, SimNode>();
  readonly inv = new Invariants();
  readonly rand: Rand;
  /** Messages sent and not yet delivered, oldest first. */
  queue: Message[] = [];
  /** Send-time filters for scripted tests: a message any of them rejects is dropped. */
  filters: ((m: Message) => boolean)[] = [];
  /** Probabilities of dropping / duplicating each message sent (the simulator sets them). */
  dropRate = 0;
  dupRate = 0;
  /** Partition group per member; members in different groups cannot talk. */
  private group = new Map<string, number>();
  private readonly opts: ClusterOptions;

  constructor(ids: string[], opts: ClusterOptions = {}) {
    this.opts = opts;
    this.rand = mulberry32(opts.seed ?? 1);
    for (const id of ids) {
      this.nodes.set(id, new SimNode(id, MemoryRaftStorage.bootstrap(ids)));
      this.start(id);
    }
    // Apply the bootstrap entries: until then nobody knows the configuration.
    for (const id of ids) this.processReady(id);
  }

  /** A new, empty member (to be added with a conf change). */
  addNode(id: string): SimNode {
    const sn = new SimNode(id, new MemoryRaftStorage());
    this.nodes.set(id, sn);
    this.start(id);
    return sn;
  }

  sim(id: string): SimNode {
    const sn = this.nodes.get(id);
    if (!sn) throw new Error(`no member ${id}`);
    return sn;
  }

  node(id: string): RawNode {
    const n = this.sim(id).node;
    if (!n) throw new Error(`member ${id} is down`);
    return n;
  }

  start(id: string): void {
    const sn = this.sim(id);
    const o = this.opts;
    sn.node = new RawNode({
      id,
      storage: sn.storage,
      electionTick: o.electionTick ?? 10,
      heartbeatTick: o.heartbeatTick ?? 1,
      rand: mulberry32(Math.floor(this.rand() * 2 ** 32)),
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      maxEntriesPerMsg: o.maxEntriesPerMsg,
      maxBytesPerMsg: o.maxBytesPerMsg,
      maxInflightMsgs: o.maxInflightMsgs,
      snapshotChunkBytes: o.snapshotChunkBytes,
    });
    // The host's state machine starts from the persisted snapshot; raft re-delivers the rest.
    const snap = sn.storage.snapshot();
    sn.state = snap.meta.index === 0 ? { index: 0, hash: 0, log: [] } : (JSON.parse(snap.data.toString()) as AppState);
    sn.soft = { leader: null, role: 'follower' };
    sn.readFloors.clear();
    this.inv.observe(id, sn.node);
  }

  /** Loses everything not persisted. */
  crash(id: string): void {
    this.sim(id).node = undefined;
  }

  restart(id: string): void {
    this.start(id);
    this.processReady(id);
  }

  /** Runs the Ready loop of `id` until there is nothing left to do. */
  processReady(id: string): void {
    const sn = this.sim(id);
    const node = sn.node;
    if (!node) return;
    while (node.hasReady()) {
      const rd = node.ready();
      if (rd.hardState) sn.storage.setHardState(rd.hardState);
      if (rd.snapshot) sn.storage.applySnapshot(rd.snapshot);
      if (rd.entries.length > 0) {
        sn.storage.append(rd.entries);
        this.inv.persisted(id, rd.entries, (i) => sn.storage.term(i));
      }
      for (const m of rd.messages) this.send(m);
      if (rd.snapshot) {
        sn.state = JSON.parse(rd.snapshot.data.toString()) as AppState;
        this.inv.restored(id, rd.snapshot, sn.state.hash);
      }
      for (const e of rd.committedEntries) {
        const prev = sn.state.index;
        const s = sn.state;
        s.hash = mix(s.hash, `${e.index}|${e.term}|${e.kind}|${e.data.toString('latin1')}`);
        s.index = e.index;
        if (e.kind === 'normal' && e.data.length > 0) s.log.push(e.data.toString());
        this.inv.applied(id, prev, e, s.hash);
      }
      for (const rs of rd.readStates) {
        const floor = sn.readFloors.get(rs.requestId);
        if (floor !== undefined) {
          this.inv.readAnswered(id, rs.requestId, floor, rs.index);
          sn.readFloors.delete(rs.requestId);
        }
        sn.readStates.push(rs);
      }
      if (rd.softState) sn.soft = rd.softState;
      node.advance(rd);
      this.inv.observe(id, node);
    }
    this.inv.observe(id, node);
  }

  private send(m: Message): void {
    if (!this.filters.every((f) => f(m))) return;
    if (this.dropRate > 0 && this.rand() < this.dropRate) return;
    this.queue.push(m);
    if (this.dupRate > 0 && this.rand() < this.dupRate) this.queue.push(m);
  }

  connected(a: string, b: string): boolean {
    return (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0);
  }

  /** Delivers the i-th queued message (if its ends can talk) and, unless told not to, runs the Ready loop. */
  deliver(i = 0, ready = true): Message | undefined {
    const [m] = this.queue.splice(i, 1);
    if (!m || !this.connected(m.from, m.to)) return undefined;
    const target = this.nodes.get(m.to);
    if (!target?.node) return undefined;
    target.node.step(m);
    if (ready) this.processReady(m.to);
    else this.inv.observe(m.to, target.node);
    return m;
  }

  /** Delivers until the network is quiet (or `max` deliveries). */
  deliverAll(max = 100_000): void {
    for (let n = 0; this.queue.length > 0; n++) {
      if (n >= max) throw new Error('network did not quiesce');
      this.deliver(0);
    }
  }

  tick(id: string, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.node(id).tick();
      this.processReady(id);
    }
  }

  /** Ticks every live member n times, delivering everything after each round. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const sn of this.nodes.values()) if (sn.node) this.tick(sn.id);
      this.deliverAll();
    }
  }

  campaign(id: string): void {
    this.node(id).campaign();
    this.processReady(id);
    this.deliverAll();
  }

  propose(id: string, text: string): ProposeResult {
    const r = this.node(id).propose(Buffer.from(text));
    this.processReady(id);
    return r;
  }

  readIndex(id: string, requestId: string): boolean {
    const sn = this.sim(id);
    const ok = this.node(id).readIndex(requestId);
    if (ok) sn.readFloors.set(requestId, this.inv.maxCommitted);
    this.processReady(id);
    return ok;
  }

  /** The live leader of the highest term, if any. */
  leader(): string | undefined {
    let best: string | undefined;
    let bestTerm = -1;
    for (const sn of this.nodes.values()) {
      const st = sn.node?.status();
      if (st?.role === 'leader' && st.term > bestTerm) {
        best = sn.id;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** Splits members into groups that cannot talk to each other; unlisted members join group 0. */
  partition(...groups: string[][]): void {
    this.group.clear();
    groups.forEach((g, i) => g.forEach((id) => this.group.set(id, i + 1)));
  }

  isolate(id: string): void {
    this.group.clear();
    this.group.set(id, 1);
  }

  heal(): void {
    this.group.clear();
  }

  /** Snapshots `id`'s state at its applied index and compacts its log up to `keep` entries before it. */
  compact(id: string, keep = 0): boolean {
    const sn = this.sim(id);
    if (!sn.node) return false;
    const index = sn.state.index;
    if (index <= sn.storage.snapshot().meta.index) return false;
    sn.storage.createSnapshot(index, sn.node.voters(), Buffer.from(JSON.stringify(sn.state)));
    sn.storage.compact(Math.max(index - keep, sn.storage.firstIndex() - 1));
    return true;
  }

  appliedText(id: string): string[] {
    return this.sim(id).state.log;
  }
}

export { InvariantViolation };
