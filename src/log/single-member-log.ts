import type { LogEntry, LogStorage, ReplicatedLog, Snapshot, StateMachine } from './replicated-log';

interface Pending {
  entry: LogEntry;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

export interface SingleMemberLogOptions {
  storage: LogStorage;
  /** Take a snapshot (and let storage compact) after this many entries: the swarm's Raft.SnapshotInterval. */
  snapshotInterval?: number;
  term?: number;
}

/**
 * A log with one member: an entry is committed as soon as storage has made it durable.
 * Proposals that arrive while a write is in flight are written together in the next batch
 * (group commit), so one fsync serves many of them.
 */
export class SingleMemberLog implements ReplicatedLog {
  private lastIndex = 0;
  private applied = 0;
  private sinceSnapshot = 0;
  private readonly term: number;
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  /** Set by withSnapshot: proposals queue up but are not written. */
  private holding = false;
  /** The withSnapshot calls, one after another. */
  private quiet: Promise<void> = Promise.resolve();

  private snapshotInterval?: number;

  private constructor(
    private readonly sm: StateMachine,
    private readonly opts: SingleMemberLogOptions,
  ) {
    this.term = opts.term ?? 1;
  }

  /** Recovers the state machine from storage (snapshot, then the entries after it), then opens the log. */
  static async open(sm: StateMachine, opts: SingleMemberLogOptions): Promise<SingleMemberLog> {
    const log = new SingleMemberLog(sm, opts);
    const { snapshot, entries } = await opts.storage.load();
    if (snapshot) {
      sm.restore(snapshot);
      log.lastIndex = log.applied = snapshot.meta.index;
    }
    for (const e of entries) {
      if (e.index <= log.applied) continue;
      try {
        sm.apply(e);
      } catch {
        // A rejected proposal (a conflict) was rejected when first applied too; replaying it changes nothing.
      }
      log.lastIndex = log.applied = e.index;
      log.sinceSnapshot++;
    }
    return log;
  }

  /** Raft.SnapshotInterval changed (swarm update --snapshot-interval): applies from the next batch. */
  setSnapshotInterval(entries: number): void {
    this.snapshotInterval = entries;
  }

  appliedIndex(): number {
    return this.applied;
  }

  propose(data: Buffer): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the replicated log is closed'));
    return new Promise((resolve, reject) => {
      const entry: LogEntry = { index: ++this.lastIndex, term: this.term, data };
      this.queue.push({ entry, resolve, reject });
      if (!this.flushing && !this.holding) this.idle = this.flush();
    });
  }

  /**
   * Runs `fn` at a quiet point with a snapshot of the state there: once the batch being written
   * is applied, with later proposals held (queued, not written) until `fn` settles. For storage
   * operations that must not interleave with appends, such as rewriting the log under a new key:
   * `log.withSnapshot((s) => storage.rekey(dek, s))`.
   */
  withSnapshot(fn: (snapshot: Snapshot) => Promise<void>): Promise<void> {
    const run = this.quiet.then(() => this.runQuiet(fn));
    this.quiet = run.catch(() => undefined);
    return run;
  }

  private async runQuiet(fn: (snapshot: Snapshot) => Promise<void>): Promise<void> {
    if (this.closed) throw new Error('the replicated log is closed');
    this.holding = true;
    try {
      await this.idle;
      await fn({ meta: { index: this.applied, term: this.term }, data: this.sm.snapshot() });
    } finally {
      this.holding = false;
      if (this.queue.length > 0 && !this.flushing) this.idle = this.flush();
    }
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0 && !this.holding) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.opts.storage.append(batch.map((p) => p.entry));
        } catch (err) {
          // Nothing in the batch is durable, so nothing is applied or acknowledged.
          for (const p of batch) p.reject(err);
          // Those indexes were never written; the proposals queued since take them over, so
          // the log the storage sees has no gap.
          this.lastIndex = batch[0].entry.index - 1;
          for (const p of this.queue) p.entry.index = ++this.lastIndex;
          continue;
        }
        for (const p of batch) {
          let result: unknown;
          let failed = false;
          try {
            result = this.sm.apply(p.entry);
          } catch (err) {
            failed = true;
            result = err;
          }
          this.applied = p.entry.index;
          if (failed) p.reject(result);
          else p.resolve(result);
        }
        this.sinceSnapshot += batch.length;
        const interval = this.snapshotInterval ?? this.opts.snapshotInterval ?? 10000;
        if (interval > 0 && this.sinceSnapshot >= interval) await this.takeSnapshot();
      }
    } finally {
      this.flushing = false;
    }
  }

  private async takeSnapshot(): Promise<void> {
    try {
      const snap: Snapshot = { meta: { index: this.applied, term: this.term }, data: this.sm.snapshot() };
      await this.opts.storage.saveSnapshot(snap);
      this.sinceSnapshot = 0;
    } catch (err) {
      // The entries are durable without a snapshot, and the proposals queued behind this batch
      // must still be written: warn, and try again after the next batch.
      process.emitWarning(`raft log snapshot failed, will retry: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.quiet;
    await this.idle;
  }
}
