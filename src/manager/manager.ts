import { SingleMemberLog } from '../log/single-member-log';
import { MemoryStorage } from '../log/memory-storage';
import type { HardState, LogEntry, LogStorage, Snapshot } from '../log/replicated-log';
import { MemoryStore } from '../store/memory-store';
import { Orchestrator } from '../orchestrator/orchestrator';
import { Scheduler } from '../scheduler/scheduler';
import { Dispatcher } from '../dispatcher/dispatcher';
import { RaftLog, type RaftTiming, type RaftTransport } from './raft/raft-log';
import { RootRotationReconciler } from './ca-reconciler';
import type { NodeCredentials } from '../transport/tls-config';

/** A storage that can rewrite the whole log under a new data encryption key (the disk log can). */
export interface ManagerStorage extends LogStorage {
  /** `tail`: entries after the snapshot still to keep (a Raft member's unapplied ones), with the hard state. */
  rekey?(dek: Buffer, snapshot: Snapshot, tail?: LogEntry[], hardState?: HardState): Promise<void>;
  close?(): Promise<void>;
}

export interface ManagerRaftOptions {
  /** This manager's node ID, its Raft member ID. */
  id: string;
  transport: RaftTransport;
  /** A new swarm (swarm init): this manager is its only voter, and leads before open() returns. */
  bootstrap?: boolean;
  timing?: RaftTiming;
}

export interface ManagerOptions {
  /** Where the log lives; memory when not given (tests). */
  storage?: ManagerStorage;
  /** Raft.SnapshotInterval. */
  snapshotInterval?: number;
  /** The log is Raft among managers; without it, a log of one member that needs no leader (tests, benchmarks). */
  raft?: ManagerRaftOptions;
}

/**
 * A manager's moving parts: the replicated log and the store it feeds, and the components
 * that watch the store (orchestrator, scheduler, dispatcher, root rotation reconciler), as swarmkit's manager package.
 */
export class Manager {
  readonly orchestrator: Orchestrator;
  readonly scheduler: Scheduler;
  readonly dispatcher: Dispatcher;
  readonly rootRotation: RootRotationReconciler;
  private unfollow?: () => void;
  private leading = false;
  private readonly leadershipListeners = new Set<(leading: boolean) => void>();
  /** This manager's own certificate and key (set by the node once it has them): what it presents to external CAs. */
  tlsCredentials?: () => NodeCredentials | undefined;

  private constructor(
    readonly store: MemoryStore,
    private readonly log: SingleMemberLog | RaftLog,
    private readonly storage: ManagerStorage,
  ) {
    this.orchestrator = new Orchestrator(store);
    this.scheduler = new Scheduler(store);
    this.dispatcher = new Dispatcher(store);
    this.rootRotation = new RootRotationReconciler(store);
  }

  /** Recovers the store from the storage's snapshot and entries, then opens the log for proposals. */
  static async open(opts: ManagerOptions = {}): Promise<Manager> {
    const store = new MemoryStore();
    const storage = opts.storage ?? new MemoryStorage();
    if (opts.raft) {
      const r = opts.raft;
      const log = await RaftLog.open(store, {
        id: r.id,
        storage,
        timing: r.timing,
        bootstrap: r.bootstrap,
        snapshotInterval: opts.snapshotInterval,
      });
      store.attach(log);
      log.start(r.transport);
      if (r.bootstrap) {
        try {
          await log.waitForLeader(10_000);
        } catch (err) {
          await log.close();
          throw err;
        }
      }
      return new Manager(store, log, storage);
    }
    const log = await SingleMemberLog.open(store, { storage, snapshotInterval: opts.snapshotInterval });
    store.attach(log);
    return new Manager(store, log, storage);
  }

  /** The Raft log among managers, when this manager has one. */
  get raft(): RaftLog | undefined {
    return this.log instanceof RaftLog ? this.log : undefined;
  }

  /** Whether this manager leads: it runs the orchestrator and the scheduler, and watches other nodes' heartbeats. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Called when this manager starts or stops leading. */
  onLeadership(fn: (leading: boolean) => void): () => void {
    this.leadershipListeners.add(fn);
    return () => this.leadershipListeners.delete(fn);
  }

  /** Rewrites the log under a new data encryption key: a snapshot under it, then the old files go. */
  async rekey(dek: Buffer): Promise<void> {
    const storage = this.storage;
    if (!storage.rekey) throw new Error('this log storage cannot change its encryption key');
    if (this.log instanceof RaftLog) return this.log.rekey(dek);
    await this.log.withSnapshot((snapshot) => storage.rekey!(dek, snapshot));
  }

  /** Starts or stops the components only the leader runs: two orchestrators would fight over every task. */
  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) {
      this.orchestrator.start();
      this.scheduler.start();
      this.rootRotation.start();
    } else {
      this.orchestrator.stop();
      this.scheduler.stop();
      void this.rootRotation.stop();
    }
    for (const fn of this.leadershipListeners) fn(leading);
  }

  start(): void {
    // The log snapshots every Raft.SnapshotInterval entries, as the swarm's spec says now.
    const follow = (): void => {
      const n = this.store.list('cluster')[0]?.Spec.Raft?.SnapshotInterval;
      if (n && n > 0) this.log.setSnapshotInterval(n);
    };
    follow();
    this.store.on('commit', follow);
    const raft = this.raft;
    if (raft) {
      const off = raft.onLeadership((soft) => this.setLeading(soft.role === 'leader'));
      this.unfollow = () => {
        this.store.off('commit', follow);
        off();
      };
      this.setLeading(raft.isLeader());
    } else {
      this.unfollow = () => this.store.off('commit', follow);
      this.setLeading(true);
    }
  }

  async stop(): Promise<void> {
    this.unfollow?.();
    this.setLeading(false);
    await this.rootRotation.stop();
    await this.log.close();
    await this.storage.close?.();
  }
}
