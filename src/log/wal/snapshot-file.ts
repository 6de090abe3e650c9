// Snapshot files: a file header (index and term), then the whole state sealed as one payload
// with the header as additional data. Named <index>-<key ID>.snap in hex, so the newest sorts
// last, and a snapshot rewritten under a new key during a rotation sits beside the old one
// rather than replacing it. Written whole under a temporary name, so never torn.

import { readFile } from 'node:fs/promises';
import type { Snapshot } from '../replicated-log';
import { writeFileAtomically } from './durable-fs';
import { LogCorruptionError } from './errors';
import { decodeFileHeader, encodeFileHeader, FILE_HEADER_BYTES, fileHeaderBytes } from './file-header';
import type { KeyRing } from './key-ring';
import type { PayloadCipher } from './payload-cipher';
import { hex16 } from './u64';

export const SNAPSHOT_DIR = 'snap-v3-encrypted';

export interface SnapshotFileId {
  index: number;
  keyIdHex: string;
}

const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function snapshotFileName(id: SnapshotFileId): string {
  return `${hex16(id.index)}-${id.keyIdHex}.snap`;
}

export function parseSnapshotFileName(name: string): SnapshotFileId | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const index = parseInt(m[1], 16);
  return Number.isSafeInteger(index) ? { index, keyIdHex: m[2] } : undefined;
}

/** Writes `snapshot` durably under `cipher`; returns the file's path. */
export async function writeSnapshotFile(dir: string, snapshot: Snapshot, cipher: PayloadCipher): Promise<string> {
  const header = encodeFileHeader('snapshot', cipher, snapshot.meta.index, snapshot.meta.term);
  const out = Buffer.alloc(FILE_HEADER_BYTES + snapshot.data.length + cipher.overhead);
  header.copy(out, 0);
  cipher.sealInto(header, snapshot.data, out, FILE_HEADER_BYTES);
  return writeFileAtomically(dir, snapshotFileName({ index: snapshot.meta.index, keyIdHex: cipher.keyIdHex }), out);
}

/** Reads and authenticates a snapshot file. */
export async function readSnapshotFile(file: string, id: SnapshotFileId, ring: KeyRing): Promise<Snapshot> {
  const buf = await readFile(file);
  const header = decodeFileHeader('snapshot', buf, file, ring);
  if (header.first !== id.index || header.cipher.keyIdHex !== id.keyIdHex) {
    const says = `index ${header.first}, key ${header.cipher.keyIdHex}`;
    throw new LogCorruptionError(file, 0, `snapshot header (${says}) does not match the file name`);
  }
  const data = header.cipher.open(fileHeaderBytes(buf), buf.subarray(FILE_HEADER_BYTES));
  if (!data) throw new LogCorruptionError(file, FILE_HEADER_BYTES, 'snapshot failed authentication');
  return { meta: { index: header.first, term: header.second }, data };
}
