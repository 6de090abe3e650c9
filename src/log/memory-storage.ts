import {
  entriesToStore,
  type HardState,
  type LoadedLog,
  type LogEntry,
  type LogStorage,
  type Snapshot,
} from './replicated-log';

/** Keeps entries in memory only: the log of a swarm that is not persisted. Same semantics as the disk log. */
export class MemoryStorage implements LogStorage {
  private entries: LogEntry[] = [];
  private snapshot?: Snapshot;
  private hardState?: HardState;

  async append(entries: LogEntry[], hardState?: HardState): Promise<void> {
    const snapshotIndex = this.snapshot?.meta.index ?? 0;
    const lastIndex = this.entries.at(-1)?.index ?? snapshotIndex;
    const kept = entriesToStore(entries, lastIndex, snapshotIndex);
    if (kept.length > 0) {
      // Entries run on from snapshotIndex + 1 without a gap: cut at the first overwritten one.
      this.entries.length = Math.min(this.entries.length, kept[0].index - snapshotIndex - 1);
      for (const e of kept) this.entries.push(copyEntry(e));
    }
    if (hardState) this.hardState = { ...hardState };
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.snapshot = snapshot;
    this.entries = this.entries.filter((e) => e.index > snapshot.meta.index);
  }

  async load(): Promise<LoadedLog> {
    const loaded: LoadedLog = { snapshot: this.snapshot, entries: [...this.entries] };
    if (this.hardState) loaded.hardState = { ...this.hardState };
    return loaded;
  }
}

/** What the disk log would give back: `kind` only when it is not the default. */
function copyEntry(e: LogEntry): LogEntry {
  const { index, term, data, kind } = e;
  return kind ? { index, term, data, kind } : { index, term, data };
}
