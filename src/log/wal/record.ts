// Records inside a segment, back to back after the file header. A record is one append: a batch
// of entries (a group commit's worth) and, optionally, the hard state written with them, sealed
// once under the DEK with the record's plain header as additional data.
//
//   0  length       u32   length of the sealed payload
//   4  prev last    u64   the log's last index before this record
//  12  first index  u64   index of the batch's first entry: prev last + 1, or less when it
//                         overwrites (every entry from first index on is discarded); prev last
//                         + 1 when the record holds no entries
//  20  count        u32   entries in the batch
//  24  flags        u8    bit 0: a hard state comes first in the payload; other bits 0
//  25  reserved     3 bytes, zero
//  28  CRC-32       u32   over bytes 0..28
//  32  payload            sealed (nonce ‖ ciphertext ‖ tag), with the 32 header bytes as additional data
//
// The payload's plaintext, no byte unaccounted for:
//
//   hard state (when flagged)  term u64, commit u64, vote length u16, vote (UTF-8)
//   then per entry             term u64, kind u8, data length u32, data
//
// An entry's index is first index + its position. Nothing but lengths and indexes is in the
// clear. The header's own CRC is what tells a crash from damage: a complete header that fails it
// was damaged (its length cannot be trusted), while a header cut short, or a sound header whose
// payload runs past the end of the file, is a write a crash interrupted. The header's indexes
// chain the records (each one's prev last is where the one before left the log), so a record
// moved, dropped or replayed elsewhere is caught, not taken for an overwrite.

import type { HardState, LogEntry } from '../replicated-log';
import { crc32 } from './checksum';
import { LogCorruptionError } from './errors';
import type { PayloadCipher } from './payload-cipher';
import { readU64, writeU64 } from './u64';

export const RECORD_HEADER_BYTES = 32;
const CRC_AT = 28;
const FLAG_HARD_STATE = 1;
const MAX_PAYLOAD_BYTES = 0xffffffff;
const MAX_COUNT = 0xffffffff;
/** Per entry in the plaintext: term, kind, data length. */
export const ENTRY_FRAME_BYTES = 13;
const HARD_STATE_FIXED_BYTES = 18;
const MAX_VOTE_BYTES = 0xffff;
const MAX_KIND = 0xff;

/** One record to write. */
export interface BatchRecord {
  /** The log's last index before this record. */
  prevLast: number;
  /** Index of the first entry; prevLast + 1 when there are none. */
  firstIndex: number;
  /** Contiguous from firstIndex. */
  entries: readonly LogEntry[];
  hardState?: HardState;
}

/** The sealed record for `batch`, in one buffer so that a batch is one write. */
export function encodeRecord(cipher: PayloadCipher, batch: BatchRecord): Buffer {
  const { prevLast, firstIndex, entries, hardState } = batch;
  if (entries.length === 0 && !hardState) throw new RangeError('a record holds entries, a hard state or both');
  if (entries.length > MAX_COUNT) throw new RangeError(`too many entries in one record: ${entries.length}`);
  if (firstIndex < 1 || firstIndex > prevLast + 1) {
    throw new RangeError(`a record cannot start at ${firstIndex} after a log ending at ${prevLast}`);
  }
  if (entries.length === 0 && firstIndex !== prevLast + 1) {
    throw new RangeError('a record without entries must start one past the last index');
  }
  const vote = hardState ? Buffer.from(hardState.vote, 'utf8') : undefined;
  if (vote && vote.length > MAX_VOTE_BYTES) throw new RangeError('hard state vote is too long');
  let plain = vote ? HARD_STATE_FIXED_BYTES + vote.length : 0;
  entries.forEach((e, i) => {
    if (e.index !== firstIndex + i) throw new RangeError(`entry ${e.index} where ${firstIndex + i} belongs`);
    const kind = e.kind ?? 0;
    if (!Number.isInteger(kind) || kind < 0 || kind > MAX_KIND)
      throw new RangeError(`entry ${e.index}: bad kind ${kind}`);
    plain += ENTRY_FRAME_BYTES + e.data.length;
  });
  if (plain + cipher.overhead > MAX_PAYLOAD_BYTES) throw new RangeError('a batch is too large for one record');

  const p = Buffer.allocUnsafe(plain);
  let at = 0;
  if (hardState && vote) {
    writeU64(p, hardState.term, 0);
    writeU64(p, hardState.commit, 8);
    p.writeUInt16BE(vote.length, 16);
    vote.copy(p, HARD_STATE_FIXED_BYTES);
    at = HARD_STATE_FIXED_BYTES + vote.length;
  }
  for (const e of entries) {
    writeU64(p, e.term, at);
    p.writeUInt8(e.kind ?? 0, at + 8);
    p.writeUInt32BE(e.data.length, at + 9);
    e.data.copy(p, at + ENTRY_FRAME_BYTES);
    at += ENTRY_FRAME_BYTES + e.data.length;
  }

  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + plain + cipher.overhead);
  const header = out.subarray(0, RECORD_HEADER_BYTES);
  header.writeUInt32BE(plain + cipher.overhead, 0);
  writeU64(header, prevLast, 4);
  writeU64(header, firstIndex, 12);
  header.writeUInt32BE(entries.length, 20);
  header.writeUInt32BE(hardState ? FLAG_HARD_STATE << 24 : 0, 24);
  header.writeUInt32BE(crc32(header.subarray(0, CRC_AT)), CRC_AT);
  cipher.sealInto(header, p, out, RECORD_HEADER_BYTES);
  return out;
}

export interface DecodedRecord {
  /** Where the record starts in its file. */
  offset: number;
  prevLast: number;
  firstIndex: number;
  entries: LogEntry[];
  hardState?: HardState;
}

/** An incomplete record at the end of the buffer: what a crash mid-write leaves. */
export interface TornRecord {
  offset: number;
  reason: string;
}

export interface DecodedRecords {
  records: DecodedRecord[];
  /** Where the complete records end. */
  end: number;
  torn?: TornRecord;
}

/** Reads the records of `buf` from `start`; throws LogCorruptionError at the first damaged one. */
export function decodeRecords(buf: Buffer, start: number, cipher: PayloadCipher, file: string): DecodedRecords {
  const records: DecodedRecord[] = [];
  let at = start;
  while (at < buf.length) {
    const left = buf.length - at;
    if (left < RECORD_HEADER_BYTES) {
      return { records, end: at, torn: { offset: at, reason: `record header is incomplete (${left} bytes)` } };
    }
    const header = buf.subarray(at, at + RECORD_HEADER_BYTES);
    if (crc32(header.subarray(0, CRC_AT)) !== header.readUInt32BE(CRC_AT)) {
      throw new LogCorruptionError(file, at, 'record header checksum mismatch');
    }
    const length = header.readUInt32BE(0);
    if (left - RECORD_HEADER_BYTES < length) {
      const reason = `record payload is incomplete (${left - RECORD_HEADER_BYTES} of ${length} bytes)`;
      return { records, end: at, torn: { offset: at, reason } };
    }
    const body = buf.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length);
    const plain = cipher.open(header, body);
    if (!plain) throw new LogCorruptionError(file, at, 'record failed authentication');
    // Authenticated: what follows is wrong only if the writer was, but it is still not trusted.
    records.push(parseRecord(header, plain, (reason) => new LogCorruptionError(file, at, reason), at));
    at += RECORD_HEADER_BYTES + length;
  }
  return { records, end: at };
}

function parseRecord(
  header: Buffer,
  p: Buffer,
  corrupt: (reason: string) => LogCorruptionError,
  offset: number,
): DecodedRecord {
  const prevLast = readU64(header, 4);
  const firstIndex = readU64(header, 12);
  const count = header.readUInt32BE(20);
  const flags = header.readUInt8(24);
  if (Number.isNaN(prevLast) || Number.isNaN(firstIndex) || firstIndex + count > Number.MAX_SAFE_INTEGER) {
    throw corrupt('record header holds an out-of-range index');
  }
  if ((flags & ~FLAG_HARD_STATE) !== 0 || header.readUIntBE(25, 3) !== 0)
    throw corrupt('record header has unknown flags');
  if (firstIndex < 1 || firstIndex > prevLast + 1 || (count === 0 && firstIndex !== prevLast + 1)) {
    throw corrupt(`record starts at index ${firstIndex} after a log ending at ${prevLast}`);
  }
  if (count === 0 && (flags & FLAG_HARD_STATE) === 0) throw corrupt('record holds neither entries nor a hard state');
  const framing = (what: string) => corrupt(`record payload framing is inconsistent: ${what}`);
  let at = 0;
  let hardState: HardState | undefined;
  if (flags & FLAG_HARD_STATE) {
    if (p.length < HARD_STATE_FIXED_BYTES) throw framing('hard state cut short');
    const term = readU64(p, 0);
    const commit = readU64(p, 8);
    const voteBytes = p.readUInt16BE(16);
    if (Number.isNaN(term) || Number.isNaN(commit)) throw corrupt('record hard state holds an out-of-range number');
    if (p.length < HARD_STATE_FIXED_BYTES + voteBytes) throw framing('hard state vote cut short');
    const vote = p.toString('utf8', HARD_STATE_FIXED_BYTES, HARD_STATE_FIXED_BYTES + voteBytes);
    hardState = { term, vote, commit };
    at = HARD_STATE_FIXED_BYTES + voteBytes;
  }
  const entries: LogEntry[] = new Array<LogEntry>(count);
  for (let i = 0; i < count; i++) {
    if (p.length - at < ENTRY_FRAME_BYTES) throw framing(`entry ${i + 1} of ${count} cut short`);
    const term = readU64(p, at);
    const kind = p.readUInt8(at + 8);
    const size = p.readUInt32BE(at + 9);
    if (Number.isNaN(term)) throw corrupt('record holds an out-of-range term');
    const from = at + ENTRY_FRAME_BYTES;
    if (p.length - from < size) throw framing(`entry ${i + 1} of ${count} cut short`);
    const data = p.subarray(from, from + size);
    entries[i] = kind === 0 ? { index: firstIndex + i, term, data } : { index: firstIndex + i, term, data, kind };
    at = from + size;
  }
  if (at !== p.length) throw framing(`${p.length - at} bytes after the last entry`);
  const record: DecodedRecord = { offset, prevLast, firstIndex, entries };
  if (hardState) record.hardState = hardState;
  return record;
}
