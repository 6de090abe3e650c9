import type { MemoryStore, WriteTx } from '../store/memory-store';

/**
 * Runs one reconciliation pass after every committed change, coalesced: many commits in a
 * burst cause one pass, passes never overlap, and a commit during a pass causes one more.
 * A failed pass is retried after a short pause. The orchestrator and the scheduler both run
 * on this, each with its own pass.
 */
export class ReconcileLoop {
  private scheduled = false;
  private running = false;
  private again = false;
  private stopped = false;
  private timers = new Set<NodeJS.Timeout>();
  private readonly onCommit = () => this.kick();

  constructor(
    private readonly store: MemoryStore,
    private readonly name: string,
    private readonly pass: (tx: WriteTx) => void,
  ) {}

  start(): void {
    this.store.on('commit', this.onCommit);
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.store.off('commit', this.onCommit);
    for (const t of this.timers) clearTimeout(t);
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.run());
  }

  /** Calls fn after ms unless the loop has stopped by then. */
  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private async run(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    try {
      await this.store.retryUpdate((tx) => this.pass(tx));
    } catch (err) {
      console.error(`${this.name}: ${(err as Error).message}`);
      this.after(500, () => this.kick());
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    }
  }
}
