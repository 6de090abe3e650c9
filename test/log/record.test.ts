// Properties of the record framing on its own, over generated entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { AesGcmCipher, PlainCipher, type PayloadCipher } from '../../src/log/wal/payload-cipher';
import { decodeRecords, encodeRecords, RECORD_HEADER_BYTES } from '../../src/log/wal/record';
import { LogCorruptionError } from '../../src/log/wal/errors';
import { crc32 } from '../../src/log/wal/checksum';
import type { LogEntry } from '../../src/log/replicated-log';

const aes = new AesGcmCipher(randomBytes(32));
const PREFIX = 40;

const entriesArb = fc
  .tuple(
    fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 100 }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 8 }),
  )
  .map(([first, term, datas]): LogEntry[] => datas.map((d, i) => ({ index: first + i, term, data: Buffer.from(d) })));

/** Records placed after a fake file header, as in a segment. */
const framed = (entries: LogEntry[], cipher: PayloadCipher = aes) =>
  Buffer.concat([Buffer.alloc(PREFIX), encodeRecords(cipher, entries)]);

test('records round-trip, with either cipher', () => {
  fc.assert(
    fc.property(entriesArb, (entries) => {
      for (const cipher of [aes, new PlainCipher()]) {
        const buf = framed(entries, cipher);
        const out = decodeRecords(buf, PREFIX, cipher, 'f');
        assert.deepEqual(
          out.records.map((r) => r.entry),
          entries,
        );
        assert.equal(out.end, buf.length);
        assert.equal(out.torn, undefined);
      }
    }),
  );
});

test('any cut gives exactly the complete records before it, and a torn tail when mid-record', () => {
  fc.assert(
    fc.property(entriesArb, fc.nat(), (entries, n) => {
      const buf = framed(entries);
      const cut = PREFIX + (n % (buf.length - PREFIX + 1));
      const out = decodeRecords(buf.subarray(0, cut), PREFIX, aes, 'f');
      const starts = out.records.map((r) => r.offset);
      assert.deepEqual(
        out.records.map((r) => r.entry),
        entries.slice(0, starts.length),
      );
      assert.equal(out.torn === undefined, out.end === cut);
      if (out.torn) assert.equal(out.torn.offset, out.end);
    }),
  );
});

test('any flipped byte is corruption at the start of its record, never a torn tail or a changed entry', () => {
  fc.assert(
    fc.property(entriesArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (entries, n, mask) => {
      const buf = framed(entries);
      const pos = PREFIX + (n % (buf.length - PREFIX));
      buf[pos] ^= mask;
      let recordStart = PREFIX;
      for (const e of entries) {
        const size = RECORD_HEADER_BYTES + e.data.length + aes.overhead;
        if (pos < recordStart + size) break;
        recordStart += size;
      }
      assert.throws(
        () => decodeRecords(buf, PREFIX, aes, 'f'),
        (err: unknown) => err instanceof LogCorruptionError && err.offset === recordStart,
      );
    }),
  );
});

test('a record sealed under one key does not open under another', () => {
  const buf = framed([{ index: 1, term: 1, data: Buffer.from('x') }]);
  assert.throws(() => decodeRecords(buf, PREFIX, new AesGcmCipher(randomBytes(32)), 'f'), /failed authentication/);
});

test('crc32 continues across pieces, empty ones included', () => {
  fc.assert(
    fc.property(fc.uint8Array(), fc.uint8Array(), (a, b) => {
      const whole = crc32(Buffer.concat([a, b]));
      assert.equal(crc32(Buffer.from(b), crc32(Buffer.from(a))), whole);
      // An empty buffer may have no memory behind it; zlib would take that for "start over".
      assert.equal(crc32(Buffer.from(new Uint8Array([])), whole), whole);
    }),
  );
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});
