import { SingleMemberLog } from '../log/single-member-log';
import { MemoryStorage } from '../log/memory-storage';
import type { LogStorage, Snapshot } from '../log/replicated-log';
import { MemoryStore } from '../store/memory-store';
import { Orchestrator } from '../orchestrator/orchestrator';
import { Scheduler } from '../scheduler/scheduler';
import { Dispatcher } from '../dispatcher/dispatcher';
import { RootRotationReconciler } from './ca-reconciler';
import type { NodeCredentials } from '../transport/tls-config';

/** A storage that can rewrite the whole log under a new data encryption key (the disk log can). */
export interface ManagerStorage extends LogStorage {
  rekey?(dek: Buffer, snapshot: Snapshot): Promise<void>;
  close?(): Promise<void>;
}

export interface ManagerOptions {
  /** Where the log lives; memory when not given (tests). */
  storage?: ManagerStorage;
  /** Raft.SnapshotInterval. */
  snapshotInterval?: number;
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
  /** This manager's own certificate and key (set by the node once it has them): what it presents to external CAs. */
  tlsCredentials?: () => NodeCredentials | undefined;

  private constructor(
    readonly store: MemoryStore,
    private readonly log: SingleMemberLog,
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
    const log = await SingleMemberLog.open(store, { storage, snapshotInterval: opts.snapshotInterval });
    store.attach(log);
    return new Manager(store, log, storage);
  }

  /** Rewrites the log under a new data encryption key: a snapshot under it, then the old files go. */
  async rekey(dek: Buffer): Promise<void> {
    const storage = this.storage;
    if (!storage.rekey) throw new Error('this log storage cannot change its encryption key');
    await this.log.withSnapshot((snapshot) => storage.rekey!(dek, snapshot));
  }

  start(): void {
    // The log snapshots every Raft.SnapshotInterval entries, as the swarm's spec says now.
    const follow = (): void => {
      const n = this.store.list('cluster')[0]?.Spec.Raft?.SnapshotInterval;
      if (n && n > 0) this.log.setSnapshotInterval(n);
    };
    follow();
    this.store.on('commit', follow);
    this.unfollow = () => this.store.off('commit', follow);
    this.orchestrator.start();
    this.scheduler.start();
    this.rootRotation.start();
  }

  async stop(): Promise<void> {
    this.unfollow?.();
    this.orchestrator.stop();
    this.scheduler.stop();
    await this.rootRotation.stop();
    await this.log.close();
    await this.storage.close?.();
  }
}
