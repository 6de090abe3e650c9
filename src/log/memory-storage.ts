import type { LogEntry, LogStorage, Snapshot } from './replicated-log';

/** Keeps entries in memory only: the log of a swarm that is not persisted. */
export class MemoryStorage implements LogStorage {
  private entries: LogEntry[] = [];
  private snapshot?: Snapshot;

  async append(entries: LogEntry[]): Promise<void> {
    this.entries.push(...entries);
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.snapshot = snapshot;
    this.entries = this.entries.filter((e) => e.index > snapshot.meta.index);
  }

  async load(): Promise<{ snapshot?: Snapshot; entries: LogEntry[] }> {
    return { snapshot: this.snapshot, entries: [...this.entries] };
  }
}
