// Records inside a segment, back to back after the file header:
//
//   0  length   u32   length of the sealed payload
//   4  index    u64
//  12  term     u64
//  20  CRC-32   u32   over bytes 0..20
//  24  payload        sealed (nonce ‖ ciphertext ‖ tag), with the 24 header bytes as additional data
//
// The header's own CRC is what tells a crash from damage: a complete header that fails it was
// damaged (its length cannot be trusted), while a header cut short, or a sound header whose
// payload runs past the end of the file, is a write a crash interrupted.

import type { LogEntry } from '../replicated-log';
import { crc32 } from './checksum';
import { LogCorruptionError } from './errors';
import type { PayloadCipher } from './payload-cipher';
import { readU64, writeU64 } from './u64';

export const RECORD_HEADER_BYTES = 24;
const MAX_PAYLOAD_BYTES = 0xffffffff;

export function recordBytes(cipher: PayloadCipher, dataBytes: number): number {
  return RECORD_HEADER_BYTES + dataBytes + cipher.overhead;
}

/** The records for `entries`, in one buffer so that a batch is one write. */
export function encodeRecords(cipher: PayloadCipher, entries: readonly LogEntry[]): Buffer {
  let total = 0;
  for (const e of entries) {
    if (e.data.length + cipher.overhead > MAX_PAYLOAD_BYTES) throw new RangeError(`entry ${e.index} is too large`);
    total += recordBytes(cipher, e.data.length);
  }
  const out = Buffer.alloc(total);
  let at = 0;
  for (const e of entries) {
    const header = out.subarray(at, at + RECORD_HEADER_BYTES);
    header.writeUInt32BE(e.data.length + cipher.overhead, 0);
    writeU64(header, e.index, 4);
    writeU64(header, e.term, 12);
    header.writeUInt32BE(crc32(header.subarray(0, 20)), 20);
    cipher.sealInto(header, e.data, out, at + RECORD_HEADER_BYTES);
    at += recordBytes(cipher, e.data.length);
  }
  return out;
}

export interface DecodedRecord {
  /** Where the record starts in its file. */
  offset: number;
  entry: LogEntry;
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
    if (crc32(header.subarray(0, 20)) !== header.readUInt32BE(20)) {
      throw new LogCorruptionError(file, at, 'record header checksum mismatch');
    }
    const length = header.readUInt32BE(0);
    const index = readU64(header, 4);
    const term = readU64(header, 12);
    if (Number.isNaN(index) || Number.isNaN(term)) {
      throw new LogCorruptionError(file, at, 'record header holds an out-of-range index or term');
    }
    if (left - RECORD_HEADER_BYTES < length) {
      const reason = `record payload is incomplete (${left - RECORD_HEADER_BYTES} of ${length} bytes)`;
      return { records, end: at, torn: { offset: at, reason } };
    }
    const body = buf.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length);
    const data = cipher.open(header, body);
    if (!data) throw new LogCorruptionError(file, at, 'record failed authentication');
    records.push({ offset: at, entry: { index, term, data } });
    at += RECORD_HEADER_BYTES + length;
  }
  return { records, end: at };
}
