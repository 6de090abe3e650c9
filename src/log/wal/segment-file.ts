// WAL segment files: a file header, then records (record.ts), one per append. Each is named
// <sequence>-<first index>.wal in hex, so that names sort in log order; the header repeats both
// numbers. A segment is created whole under a temporary name, so a segment file always has a
// complete header; only its last record can be torn, and only in the last segment.

import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { renameDurably, TEMP_SUFFIX, writeFully } from './durable-fs';
import { LogCorruptionError } from './errors';
import { decodeFileHeader, encodeFileHeader, FILE_HEADER_BYTES } from './file-header';
import type { KeyRing } from './key-ring';
import type { PayloadCipher } from './payload-cipher';
import { decodeRecords, type DecodedRecord, type TornRecord } from './record';
import { hex16 } from './u64';

export const SEGMENT_DIR = 'wal-v3-encrypted';

export interface SegmentId {
  seq: number;
  /**
   * Index of the segment's first entry: one past the log's last when the segment was started, or
   * where the append that started it overwrites from.
   */
  firstIndex: number;
}

const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentFileName(id: SegmentId): string {
  return `${hex16(id.seq)}-${hex16(id.firstIndex)}.wal`;
}

export function parseSegmentFileName(name: string): SegmentId | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const seq = parseInt(m[1], 16);
  const firstIndex = parseInt(m[2], 16);
  return Number.isSafeInteger(seq) && Number.isSafeInteger(firstIndex) ? { seq, firstIndex } : undefined;
}

export interface SegmentContents {
  cipher: PayloadCipher;
  records: DecodedRecord[];
  /** Where the complete records end. */
  end: number;
  /** An incomplete last record; whether that is a crash or damage depends on where the segment is. */
  torn?: TornRecord;
}

/**
 * Reads and authenticates a whole segment. Its first record starts at `id.firstIndex`, none
 * reaches back before it, and each starts from where the one before left the log (its prev last);
 * where the log stood before the first record is for the caller to check against the segments
 * before.
 */
export async function readSegment(file: string, id: SegmentId, ring: KeyRing): Promise<SegmentContents> {
  const buf = await readFile(file);
  const header = decodeFileHeader('segment', buf, file, ring);
  if (header.first !== id.seq || header.second !== id.firstIndex || id.firstIndex < 1) {
    const says = `sequence ${header.first}, first index ${header.second}`;
    throw new LogCorruptionError(file, 0, `segment header (${says}) does not match the file name`);
  }
  const { records, end, torn } = decodeRecords(buf, FILE_HEADER_BYTES, header.cipher, file);
  let last: number | undefined;
  for (const r of records) {
    if (last === undefined && r.firstIndex !== id.firstIndex) {
      const why = `first record starts at index ${r.firstIndex}, but the segment at ${id.firstIndex}`;
      throw new LogCorruptionError(file, r.offset, why);
    }
    if (r.firstIndex < id.firstIndex) {
      const why = `record starts at index ${r.firstIndex}, before the segment's first index ${id.firstIndex}`;
      throw new LogCorruptionError(file, r.offset, why);
    }
    if (last !== undefined && r.prevLast !== last) {
      const why = `record follows a log ending at ${r.prevLast}, but the records before end it at ${last}`;
      throw new LogCorruptionError(file, r.offset, why);
    }
    last = r.entries.length > 0 ? r.firstIndex + r.entries.length - 1 : r.prevLast;
  }
  return { cipher: header.cipher, records, end, torn };
}

/** The segment the log appends to. */
export class SegmentWriter {
  private constructor(
    readonly file: string,
    readonly id: SegmentId,
    readonly cipher: PayloadCipher,
    private readonly fh: FileHandle,
    private size: number,
  ) {}

  /** Starts a new segment: its header is durable, under its final name, before anything is appended. */
  static async create(dir: string, id: SegmentId, cipher: PayloadCipher): Promise<SegmentWriter> {
    const file = join(dir, segmentFileName(id));
    const tmp = file + TEMP_SUFFIX;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await writeFully(fh, encodeFileHeader('segment', cipher, id.seq, id.firstIndex), 0);
      await fh.sync();
      await renameDurably(dir, tmp, file);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new SegmentWriter(file, id, cipher, fh, FILE_HEADER_BYTES);
  }

  /** Goes on appending to an existing segment whose complete records end at `size`. */
  static async reopen(file: string, id: SegmentId, cipher: PayloadCipher, size: number): Promise<SegmentWriter> {
    return new SegmentWriter(file, id, cipher, await open(file, 'r+'), size);
  }

  get bytes(): number {
    return this.size;
  }

  /** Appends `records` with one write and one fdatasync: durable when this resolves. */
  async append(records: Buffer): Promise<void> {
    await writeFully(this.fh, records, this.size);
    await this.fh.datasync();
    this.size += records.length;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
