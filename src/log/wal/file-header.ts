// The plain header at the start of every segment and snapshot file:
//
//   0  magic       8 bytes  "SHOALWAL" or "SHOALSNP"
//   8  version     u16      FORMAT_VERSION
//  10  cipher      u8       CIPHER_CODES
//  11  reserved    u8       0
//  12  key ID      8 bytes  keyIdOf(DEK) the file's payloads are sealed under; zeros for 'none'
//  20  first       u64      segment: sequence number    snapshot: index
//  28  second      u64      segment: first entry index  snapshot: term
//  36  CRC-32      u32      over bytes 0..36
//
// The CRC tells a damaged header from a key we do not hold, so the key ID is trusted only once it
// checks out. The header is further bound to the payloads: snapshots pass it as additional data,
// and segment records must carry the indexes it announces.

import { crc32 } from './checksum';
import { LogCorruptionError, LogKeyError } from './errors';
import type { KeyRing } from './key-ring';
import { CIPHER_CODES, cipherNameOf, KEY_ID_BYTES, type PayloadCipher } from './payload-cipher';
import { readU64, writeU64 } from './u64';

export const FILE_HEADER_BYTES = 40;
/**
 * 2: segment records hold a batch of entries and a hard state (record.ts); 1 held one entry per
 * record. No reader of one version reads the other: a file of another version is refused whole.
 */
export const FORMAT_VERSION = 2;

export type FileKind = 'segment' | 'snapshot';

const MAGIC: Readonly<Record<FileKind, Buffer>> = {
  segment: Buffer.from('SHOALWAL'),
  snapshot: Buffer.from('SHOALSNP'),
};

export interface FileHeader {
  /** The cipher (and key) the file's payloads are sealed under. */
  cipher: PayloadCipher;
  first: number;
  second: number;
}

export function encodeFileHeader(kind: FileKind, cipher: PayloadCipher, first: number, second: number): Buffer {
  const h = Buffer.alloc(FILE_HEADER_BYTES);
  MAGIC[kind].copy(h, 0);
  h.writeUInt16BE(FORMAT_VERSION, 8);
  h.writeUInt8(CIPHER_CODES[cipher.name], 10);
  cipher.keyId.copy(h, 12);
  writeU64(h, first, 20);
  writeU64(h, second, 28);
  h.writeUInt32BE(crc32(h.subarray(0, 36)), 36);
  return h;
}

/** Checks the header at the start of `buf` and finds its key in `ring`. */
export function decodeFileHeader(kind: FileKind, buf: Buffer, file: string, ring: KeyRing): FileHeader {
  const corrupt = (reason: string) => new LogCorruptionError(file, 0, reason);
  if (buf.length < FILE_HEADER_BYTES) throw corrupt(`${kind} file header is incomplete (${buf.length} bytes)`);
  if (!buf.subarray(0, 8).equals(MAGIC[kind])) throw corrupt(`not a ${kind} file of a shoal raft log (bad magic)`);
  if (crc32(buf.subarray(0, 36)) !== buf.readUInt32BE(36)) throw corrupt(`${kind} file header checksum mismatch`);
  const version = buf.readUInt16BE(8);
  if (version !== FORMAT_VERSION) {
    throw corrupt(
      `${kind} file is in format version ${version}; this version of shoal reads only version ${FORMAT_VERSION}`,
    );
  }
  const name = cipherNameOf(buf.readUInt8(10));
  // A reader set up for encryption refuses plain files outright: otherwise anyone able to write
  // the directory could feed it entries of their choosing.
  if (name !== ring.cipher) throw corrupt(`written with cipher ${name ?? 'unknown'}, expected ${ring.cipher}`);
  const keyIdHex = buf.subarray(12, 12 + KEY_ID_BYTES).toString('hex');
  const cipher = ring.find(keyIdHex);
  if (!cipher) throw new LogKeyError(file, keyIdHex, ring.ids());
  const first = readU64(buf, 20);
  const second = readU64(buf, 28);
  if (Number.isNaN(first) || Number.isNaN(second)) throw corrupt(`${kind} file header holds an out-of-range number`);
  return { cipher, first, second };
}

/** The header's bytes, for use as additional data. */
export function fileHeaderBytes(buf: Buffer): Buffer {
  return buf.subarray(0, FILE_HEADER_BYTES);
}
