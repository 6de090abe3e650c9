// Indexes and terms are stored as big-endian 64-bit integers, as in etcd's WAL, and held in
// memory as JavaScript numbers: exact up to 2^53, which no log reaches.

const TWO_32 = 2 ** 32;

export function writeU64(buf: Buffer, value: number, offset: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a 64-bit unsigned index: ${value}`);
  buf.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

/** The value, or NaN when it is beyond what a number holds exactly (only a forged or buggy file has that). */
export function readU64(buf: Buffer, offset: number): number {
  const value = buf.readUInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4);
  return Number.isSafeInteger(value) ? value : NaN;
}

/** Fixed-width hex, so that file names sort as their numbers do. */
export function hex16(value: number): string {
  return value.toString(16).padStart(16, '0');
}
