import * as zlib from 'node:zlib';

// zlib.crc32 is native from Node 20.15 on; the table serves earlier 20.x releases.
const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 (IEEE), continuing from `previous` as zlib does: crc32(b, crc32(a)) = crc32(a ‖ b). */
export function crc32(data: Uint8Array, previous = 0): number {
  // zlib reads a null data pointer (what an empty buffer may have) as "start over" and returns 0.
  if (data.length === 0) return previous >>> 0;
  if (native) return native(data, previous);
  const t = crcTable();
  let c = ~previous;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
