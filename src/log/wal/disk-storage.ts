// The manager's log on disk, after swarmkit's raft/wal-v3-encrypted and raft/snap-v3-encrypted:
// segment files of entries and snapshot files of the whole state, every payload sealed with
// AES-256-GCM under the data encryption key (DEK), indexes and framing authenticated with it.
// Each append is one record: its entries (possibly overwriting a suffix of the log, as a Raft
// follower does) and the hard state, sealed together, written with one write and one fdatasync.
// See record.ts, file-header.ts, segment-file.ts and snapshot-file.ts for the formats.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  entriesToStore,
  type HardState,
  type LoadedLog,
  type LogEntry,
  type LogStorage,
  type Snapshot,
} from '../replicated-log';
import { ensurePrivateDir, removeTempFiles, syncDir } from './durable-fs';
import { FILE_HEADER_BYTES } from './file-header';
import { KeyRing } from './key-ring';
import { readLogDir, type SegmentState, type SnapshotState } from './log-dir';
import type { CipherName } from './payload-cipher';
import { encodeRecord } from './record';
import { SEGMENT_DIR, SegmentWriter } from './segment-file';
import { SNAPSHOT_DIR, writeSnapshotFile } from './snapshot-file';

export { LogCorruptionError, LogKeyError } from './errors';
export type { CipherName } from './payload-cipher';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface DiskLogStorageOptions {
  /**
   * Candidate DEKs (32 bytes each). The first is the key new files are written under; the others
   * are accepted for reading, for a key rotation a crash interrupted. Ignored with cipher 'none'.
   */
  deks: Buffer[];
  /** A segment is closed and a new one started once a batch would take it past this size. */
  segmentBytes?: number;
  /** 'none' is for the WAL benchmark only: the same framing with payloads in the clear. */
  cipher?: CipherName;
}

/**
 * A LogStorage in a directory. Operations run one at a time, in call order. A failed append or
 * rekey leaves the storage refusing further writes, since the files' state is then unknown;
 * reopening recovers (an interrupted write is a torn tail, cut off).
 */
export class DiskLogStorage implements LogStorage {
  private writer?: SegmentWriter;
  private recovered?: LoadedLog;
  /** The last hard state appended, and the segment whose record holds it. */
  private hardState?: HardState;
  private hardStateFile?: string;
  private failure?: unknown;
  private closed = false;
  private lane: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly walDir: string,
    private readonly snapDir: string,
    private readonly ring: KeyRing,
    private readonly segmentBytes: number,
    private segments: SegmentState[],
    private snapshots: SnapshotState[],
    private lastIndex: number,
    private nextSeq: number,
  ) {}

  /** Opens (creating if need be) the log under `dir`, authenticating it whole and cutting off a torn tail. */
  static async open(dir: string, opts: DiskLogStorageOptions): Promise<DiskLogStorage> {
    const ring = new KeyRing(opts.cipher ?? 'aes-256-gcm', opts.deks);
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!(segmentBytes > FILE_HEADER_BYTES)) throw new RangeError(`segmentBytes too small: ${segmentBytes}`);
    const walDir = join(dir, SEGMENT_DIR);
    const snapDir = join(dir, SNAPSHOT_DIR);
    for (const d of [dir, walDir, snapDir]) await ensurePrivateDir(d);
    for (const d of [walDir, snapDir]) await removeTempFiles(d);

    const state = await readLogDir(walDir, snapDir, ring, true);
    const nextSeq = Math.max(0, ...state.segments.map((s) => s.seq)) + 1;
    const storage = new DiskLogStorage(
      walDir,
      snapDir,
      ring,
      segmentBytes,
      state.segments,
      state.snapshots,
      state.lastIndex,
      nextSeq,
    );
    storage.recovered = loaded(state.newest, state.entries, state.hardState);
    storage.hardState = state.hardState;
    storage.hardStateFile = state.hardStateFile;
    // Go on appending to the last segment only if it is under the key we write with and ends
    // the log (a snapshot may end past it), and unless it is empty and was started for an
    // overwrite (its first record must start at its first index); otherwise the first append
    // starts a new one.
    const tail = state.segments.at(-1);
    const usable = tail && (tail.end > FILE_HEADER_BYTES || tail.firstIndex === tail.lastIndex + 1);
    if (tail && usable && tail.keyIdHex === ring.writer.keyIdHex && tail.lastIndex === state.lastIndex) {
      storage.writer = await SegmentWriter.reopen(tail.file, tail, ring.writer, tail.end);
    }
    return storage;
  }

  load(): Promise<LoadedLog> {
    return this.exclusive(async () => {
      if (this.closed) throw new Error('the raft log storage is closed');
      const r = this.recovered;
      this.recovered = undefined;
      if (r) return r;
      const state = await readLogDir(this.walDir, this.snapDir, this.ring, false);
      return loaded(state.newest, state.entries, state.hardState);
    });
  }

  /**
   * Writes `entries` and `hardState` as one record with one write and one fdatasync. The entries
   * may start at any index up to one past the last: from an earlier one they overwrite, and every
   * entry from there on is discarded. Entries the newest snapshot covers are left out.
   */
  append(entries: LogEntry[], hardState?: HardState): Promise<void> {
    return this.exclusive(async () => {
      this.checkWritable();
      const kept = entriesToStore(entries, this.lastIndex, this.snapshotIndex());
      if (kept.length === 0 && !hardState) return;
      this.recovered = undefined;
      await this.writeRecord(kept, hardState);
    });
  }

  /** Writes `snapshot` durably, then deletes the segments and snapshots it makes unnecessary. */
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.exclusive(async () => {
      this.checkWritable();
      const newest = this.snapshotIndex();
      if (snapshot.meta.index < newest) {
        throw new Error(`snapshot at ${snapshot.meta.index} is older than the one on disk at ${newest}`);
      }
      // What open read is stale from here on: a later load reads the directory again.
      this.recovered = undefined;
      const file = await writeSnapshotFile(this.snapDir, snapshot, this.ring.writer);
      this.recordSnapshot(file, snapshot.meta.index, this.ring.writer.keyIdHex);
      if (snapshot.meta.index > this.lastIndex) {
        // Entries go on after the snapshot; the current segment cannot hold the gap.
        this.lastIndex = snapshot.meta.index;
        await this.closeWriter();
      }
      await this.compact(snapshot.meta.index, file);
    });
  }

  /**
   * Makes `dek` the key of all new writes and removes everything written under any other:
   * `snapshot` (which must cover every entry written) under the new key, a new segment under it,
   * then the older files. A crash at any point leaves a log that opens with both keys, holding the
   * same state; calling rekey again after reopening finishes the job.
   *
   * A Raft member may hold entries it has not applied yet (not yet committed, or committed and not
   * yet applied): `tail`, the entries after the snapshot to the end of the log, is written again
   * under the new key with `hardState`, so that nothing acknowledged to a leader is lost.
   */
  rekey(dek: Buffer, snapshot: Snapshot, tail: LogEntry[] = [], hardState?: HardState): Promise<void> {
    return this.exclusive(async () => {
      this.checkWritable();
      if (this.ring.cipher === 'none') throw new Error('a raft log without encryption has no key to change');
      const end = tail.length ? tail[tail.length - 1].index : snapshot.meta.index;
      if ((tail.length && tail[0].index !== snapshot.meta.index + 1) || end < this.lastIndex) {
        throw new Error(
          `rekey needs a snapshot and a tail that cover the whole log: it ends at ${this.lastIndex}, the snapshot at ${snapshot.meta.index}, the tail at ${end}`,
        );
      }
      this.recovered = undefined;
      const cipher = this.ring.add(dek);
      // Until the new snapshot is durable nothing has changed, and a failure can leave the storage as it was.
      const file = await writeSnapshotFile(this.snapDir, snapshot, cipher);
      try {
        this.ring.useForWriting(cipher);
        this.recordSnapshot(file, snapshot.meta.index, cipher.keyIdHex);
        // The tail is written again under the new key: the old segments' copies of it are no longer the log.
        for (const seg of this.segments) seg.liveTo = Math.min(seg.liveTo, snapshot.meta.index);
        this.lastIndex = snapshot.meta.index;
        await this.startSegment();
        if (tail.length || hardState) await this.writeRecord(tail, hardState ?? this.hardState);
        // Every other file is now wholly covered by the snapshot (and the tail written again), and so removed.
        await this.compact(snapshot.meta.index, file);
        this.ring.forgetOthers();
      } catch (err) {
        this.failure = err;
        throw err;
      }
    });
  }

  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      this.recovered = undefined;
      await this.closeWriter();
    });
  }

  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    const result = this.lane.then(op);
    this.lane = result.catch(() => undefined);
    return result;
  }

  private checkWritable(): void {
    if (this.closed) throw new Error('the raft log storage is closed');
    if (this.failure !== undefined) {
      const why = this.failure instanceof Error ? this.failure.message : String(this.failure);
      throw new Error(`the raft log storage failed earlier and must be reopened: ${why}`, { cause: this.failure });
    }
  }

  private snapshotIndex(): number {
    return Math.max(0, ...this.snapshots.map((s) => s.index));
  }

  /** Appends one record (entries contiguous from at most lastIndex + 1, and/or a hard state), durably. */
  private async writeRecord(entries: LogEntry[], hardState?: HardState): Promise<void> {
    const firstIndex = entries.length > 0 ? entries[0].index : this.lastIndex + 1;
    const record = encodeRecord(this.ring.writer, { prevLast: this.lastIndex, firstIndex, entries, hardState });
    const writer = await this.writerFor(firstIndex, record.length);
    try {
      await writer.append(record);
    } catch (err) {
      this.failure = err;
      throw err;
    }
    // The segment being appended to is always the last: only startSegment adds one.
    const seg = this.segments[this.segments.length - 1];
    if (entries.length > 0) {
      // An overwrite: what any segment held from firstIndex on is gone from the log.
      if (firstIndex <= this.lastIndex) for (const s of this.segments) s.liveTo = Math.min(s.liveTo, firstIndex - 1);
      this.lastIndex = firstIndex + entries.length - 1;
      seg.lastIndex = this.lastIndex;
      seg.liveTo = this.lastIndex;
    }
    if (hardState) {
      this.hardState = { ...hardState };
      this.hardStateFile = writer.file;
    }
  }

  /**
   * The segment to append a record starting at `firstIndex` of `bytes` to: the current one
   * unless it is full, under an old key, or starts after `firstIndex` (an overwrite reaching
   * back before it: a segment never holds entries before its first index).
   */
  private async writerFor(firstIndex: number, bytes: number): Promise<SegmentWriter> {
    const w = this.writer;
    const full = w !== undefined && w.bytes > FILE_HEADER_BYTES && w.bytes + bytes > this.segmentBytes;
    if (w && !full && w.cipher === this.ring.writer && firstIndex >= w.id.firstIndex) return w;
    return this.startSegment(firstIndex);
  }

  /** Starts a segment whose first record will start at `firstIndex` (one past the last index unless it overwrites). */
  private async startSegment(firstIndex = this.lastIndex + 1): Promise<SegmentWriter> {
    const id = { seq: this.nextSeq, firstIndex };
    const w = await SegmentWriter.create(this.walDir, id, this.ring.writer);
    this.nextSeq++;
    await this.closeWriter();
    this.writer = w;
    this.segments.push({
      ...id,
      file: w.file,
      keyIdHex: w.cipher.keyIdHex,
      // An overwriting segment holds nothing yet, but the log still ends where it did.
      lastIndex: this.lastIndex,
      liveTo: id.firstIndex - 1,
      end: w.bytes,
    });
    return w;
  }

  private async closeWriter(): Promise<void> {
    const w = this.writer;
    this.writer = undefined;
    await w?.close();
  }

  private recordSnapshot(file: string, index: number, keyIdHex: string): void {
    this.snapshots = this.snapshots.filter((s) => s.file !== file);
    this.snapshots.push({ file, index, keyIdHex });
  }

  /**
   * Deletes every snapshot but `keep`, and the segments from the first on whose entries still in
   * the log are all at or before `index`, except the one being appended to. Older snapshots are not kept: a
   * damaged newest snapshot is an error, never a reason to fall back, and the segments to replay
   * from an older one are gone. The latest hard state is written again, to the current segment,
   * before the segment holding it goes.
   */
  private async compact(index: number, keep: string): Promise<void> {
    const doomedSnapshots = this.snapshots.filter((s) => s.file !== keep);
    const doomedSegments: SegmentState[] = [];
    for (const s of this.segments) {
      // Only a prefix: a segment's records follow on from those of the segments before it.
      if (s.liveTo > index || s.file === this.writer?.file) break;
      doomedSegments.push(s);
    }
    if (this.hardState && doomedSegments.some((s) => s.file === this.hardStateFile)) {
      await this.writeRecord([], this.hardState);
    }
    for (const s of doomedSegments) {
      await rm(s.file, { force: true });
      this.segments = this.segments.filter((x) => x !== s);
    }
    for (const s of doomedSnapshots) {
      await rm(s.file, { force: true });
      this.snapshots = this.snapshots.filter((x) => x !== s);
    }
    if (doomedSegments.length > 0) await syncDir(this.walDir);
    if (doomedSnapshots.length > 0) await syncDir(this.snapDir);
  }
}

function loaded(snapshot: Snapshot | undefined, entries: LogEntry[], hardState: HardState | undefined): LoadedLog {
  const log: LoadedLog = { snapshot, entries };
  if (hardState) log.hardState = { ...hardState };
  return log;
}
