// The manager's log on disk, after swarmkit's raft/wal-v3-encrypted and raft/snap-v3-encrypted:
// segment files of entries and snapshot files of the whole state, every payload sealed with
// AES-256-GCM under the data encryption key (DEK), index, term and framing authenticated with it.
// See record.ts, file-header.ts, segment-file.ts and snapshot-file.ts for the formats.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogEntry, LogStorage, Snapshot } from '../replicated-log';
import { ensurePrivateDir, removeTempFiles, syncDir } from './durable-fs';
import { FILE_HEADER_BYTES } from './file-header';
import { KeyRing } from './key-ring';
import { readLogDir, type SegmentState, type SnapshotState } from './log-dir';
import type { CipherName } from './payload-cipher';
import { encodeRecords } from './record';
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

interface Recovered {
  snapshot?: Snapshot;
  entries: LogEntry[];
}

/**
 * A LogStorage in a directory. Operations run one at a time, in call order. A failed append or
 * rekey leaves the storage refusing further writes, since the files' state is then unknown;
 * reopening recovers (an interrupted write is a torn tail, cut off).
 */
export class DiskLogStorage implements LogStorage {
  private writer?: SegmentWriter;
  private recovered?: Recovered;
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
    storage.recovered = { snapshot: state.newest, entries: state.entries };
    // Go on appending to the last segment only if it is under the key we write with and ends
    // the log (a snapshot may end past it); otherwise the first append starts a new one.
    const tail = state.segments.at(-1);
    if (tail && tail.keyIdHex === ring.writer.keyIdHex && tail.lastIndex === state.lastIndex) {
      storage.writer = await SegmentWriter.reopen(tail.file, tail, ring.writer, tail.end);
    }
    return storage;
  }

  load(): Promise<Recovered> {
    return this.exclusive(async () => {
      if (this.closed) throw new Error('the raft log storage is closed');
      const r = this.recovered;
      this.recovered = undefined;
      if (r) return r;
      const state = await readLogDir(this.walDir, this.snapDir, this.ring, false);
      return { snapshot: state.newest, entries: state.entries };
    });
  }

  /** Writes `entries` (which must follow the log's last index) with one write and one fdatasync. */
  append(entries: LogEntry[]): Promise<void> {
    return this.exclusive(async () => {
      this.checkWritable();
      if (entries.length === 0) return;
      entries.forEach((e, i) => {
        if (e.index !== this.lastIndex + 1 + i) {
          throw new Error(`cannot append entry ${e.index} to a raft log ending at ${this.lastIndex + i}`);
        }
      });
      this.recovered = undefined;
      const records = encodeRecords(this.ring.writer, entries);
      const writer = await this.writerFor(records.length);
      try {
        await writer.append(records);
      } catch (err) {
        this.failure = err;
        throw err;
      }
      this.lastIndex = entries[entries.length - 1].index;
      // The segment being appended to is always the last: only startSegment adds one.
      this.segments[this.segments.length - 1].lastIndex = this.lastIndex;
    });
  }

  /** Writes `snapshot` durably, then deletes the segments and snapshots it makes unnecessary. */
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.exclusive(async () => {
      this.checkWritable();
      const newest = Math.max(0, ...this.snapshots.map((s) => s.index));
      if (snapshot.meta.index < newest) {
        throw new Error(`snapshot at ${snapshot.meta.index} is older than the one on disk at ${newest}`);
      }
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
   */
  rekey(dek: Buffer, snapshot: Snapshot): Promise<void> {
    return this.exclusive(async () => {
      this.checkWritable();
      if (this.ring.cipher === 'none') throw new Error('a raft log without encryption has no key to change');
      if (snapshot.meta.index < this.lastIndex) {
        throw new Error(
          `rekey needs a snapshot of the whole log: it ends at ${this.lastIndex}, the snapshot at ${snapshot.meta.index}`,
        );
      }
      this.recovered = undefined;
      const cipher = this.ring.add(dek);
      // Until the new snapshot is durable nothing has changed, and a failure can leave the storage as it was.
      const file = await writeSnapshotFile(this.snapDir, snapshot, cipher);
      try {
        this.ring.useForWriting(cipher);
        this.recordSnapshot(file, snapshot.meta.index, cipher.keyIdHex);
        this.lastIndex = snapshot.meta.index;
        await this.startSegment();
        // Every other file is now wholly covered by the snapshot, and so removed.
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

  /** The segment to append `bytes` to: the current one unless it is full or under an old key. */
  private async writerFor(bytes: number): Promise<SegmentWriter> {
    const w = this.writer;
    const full = w !== undefined && w.bytes > FILE_HEADER_BYTES && w.bytes + bytes > this.segmentBytes;
    if (w && !full && w.cipher === this.ring.writer) return w;
    return this.startSegment();
  }

  private async startSegment(): Promise<SegmentWriter> {
    const id = { seq: this.nextSeq, firstIndex: this.lastIndex + 1 };
    const w = await SegmentWriter.create(this.walDir, id, this.ring.writer);
    this.nextSeq++;
    await this.closeWriter();
    this.writer = w;
    this.segments.push({
      ...id,
      file: w.file,
      keyIdHex: w.cipher.keyIdHex,
      lastIndex: id.firstIndex - 1,
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
   * Deletes every snapshot but `keep`, and every segment whose entries are all at or before
   * `index` except the one being appended to. Older snapshots are not kept: a damaged newest
   * snapshot is an error, never a reason to fall back, and the segments to replay from an older
   * one are gone.
   */
  private async compact(index: number, keep: string): Promise<void> {
    const doomedSnapshots = this.snapshots.filter((s) => s.file !== keep);
    const doomedSegments = this.segments.filter((s) => s.lastIndex <= index && s.file !== this.writer?.file);
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
