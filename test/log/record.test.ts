// Properties of the record framing on its own, over generated batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { AesGcmCipher, PlainCipher, type PayloadCipher } from '../../src/log/wal/payload-cipher';
import { decodeRecords, encodeRecord, RECORD_HEADER_BYTES, type BatchRecord } from '../../src/log/wal/record';
import { LogCorruptionError } from '../../src/log/wal/errors';
import { crc32 } from '../../src/log/wal/checksum';
import type { HardState, LogEntry } from '../../src/log/replicated-log';

const aes = new AesGcmCipher(randomBytes(32));
const PREFIX = 40;

const hardStateArb: fc.Arbitrary<HardState> = fc
  .record({
    term: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    vote: fc.oneof(
      fc.constant(''),
      fc.string({ maxLength: 30 }),
      fc.string({ minLength: 25, maxLength: 25, unit: 'grapheme' }),
    ),
    commit: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  })
  .map((h) => ({ ...h })); // fast-check may make null-prototype objects: deepEqual tells them apart

/** One batch after a log ending at `prevLast`: entries from any index up to prevLast + 1, a hard state, or both. */
const batchArb = (prevLast: number): fc.Arbitrary<BatchRecord> =>
  fc
    .tuple(
      fc.integer({ min: 1, max: prevLast + 1 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(0, 0, 1, 7)), { maxLength: 8 }),
      fc.option(hardStateArb, { nil: undefined }),
    )
    .filter(([, , datas, hs]) => datas.length > 0 || hs !== undefined)
    .map(([first, term, datas, hardState]) => {
      const firstIndex = datas.length > 0 ? first : prevLast + 1;
      const entries = datas.map(([d, kind], i): LogEntry => {
        const e: LogEntry = { index: firstIndex + i, term, data: Buffer.from(d) };
        if (kind !== 0) e.kind = kind;
        return e;
      });
      return hardState ? { prevLast, firstIndex, entries, hardState } : { prevLast, firstIndex, entries };
    });

/** A chain of 1 to 4 batches, each following where the one before left the log. */
const batchesArb: fc.Arbitrary<BatchRecord[]> = fc
  .integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1000 })
  .chain((start) => fc.integer({ min: 1, max: 4 }).chain((n) => chainOf(start, n)));

function chainOf(prevLast: number, n: number): fc.Arbitrary<BatchRecord[]> {
  return batchArb(prevLast).chain((b) => {
    if (n === 1) return fc.constant([b]);
    const last = b.entries.length > 0 ? b.firstIndex + b.entries.length - 1 : prevLast;
    return chainOf(last, n - 1).map((rest) => [b, ...rest]);
  });
}

/** Records placed after a fake file header, as in a segment. */
const framed = (batches: BatchRecord[], cipher: PayloadCipher = aes) =>
  Buffer.concat([Buffer.alloc(PREFIX), ...batches.map((b) => encodeRecord(cipher, b))]);

const decodedAs = (b: BatchRecord) => {
  const d: Omit<BatchRecord, 'entries'> & { entries: LogEntry[] } = {
    prevLast: b.prevLast,
    firstIndex: b.firstIndex,
    entries: [...b.entries],
  };
  if (b.hardState) d.hardState = b.hardState;
  return d;
};
const strip = ({ prevLast, firstIndex, entries, hardState }: ReturnType<typeof decodeRecords>['records'][number]) =>
  hardState ? { prevLast, firstIndex, entries, hardState } : { prevLast, firstIndex, entries };

test('batches round-trip, with either cipher: entries with their kinds, hard states', () => {
  fc.assert(
    fc.property(batchesArb, (batches) => {
      for (const cipher of [aes, new PlainCipher()]) {
        const buf = framed(batches, cipher);
        const out = decodeRecords(buf, PREFIX, cipher, 'f');
        assert.deepEqual(out.records.map(strip), batches.map(decodedAs));
        assert.equal(out.end, buf.length);
        assert.equal(out.torn, undefined);
      }
    }),
  );
});

test('a batch is sealed once: one nonce and tag for all its entries', () => {
  const entries = Array.from({ length: 10 }, (_, i): LogEntry => ({ index: i + 1, term: 1, data: Buffer.alloc(5) }));
  const rec = encodeRecord(aes, { prevLast: 0, firstIndex: 1, entries });
  assert.equal(rec.length, RECORD_HEADER_BYTES + 10 * (13 + 5) + aes.overhead);
});

test('any cut gives exactly the complete records before it, and a torn tail when mid-record', () => {
  fc.assert(
    fc.property(batchesArb, fc.nat(), (batches, n) => {
      const buf = framed(batches);
      const cut = PREFIX + (n % (buf.length - PREFIX + 1));
      const out = decodeRecords(buf.subarray(0, cut), PREFIX, aes, 'f');
      assert.deepEqual(out.records.map(strip), batches.slice(0, out.records.length).map(decodedAs));
      assert.equal(out.torn === undefined, out.end === cut);
      if (out.torn) assert.equal(out.torn.offset, out.end);
    }),
  );
});

test('any flipped byte is corruption at the start of its record, never a torn tail or a changed batch', () => {
  fc.assert(
    fc.property(batchesArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (batches, n, mask) => {
      const buf = framed(batches);
      const pos = PREFIX + (n % (buf.length - PREFIX));
      buf[pos] ^= mask;
      let recordStart = PREFIX;
      for (const b of batches) {
        const size = encodeRecord(aes, b).length;
        if (pos < recordStart + size) break;
        recordStart += size;
      }
      assert.throws(
        () => decodeRecords(buf, PREFIX, aes, 'f'),
        (err: unknown) => err instanceof LogCorruptionError && err.offset === recordStart && err.file === 'f',
      );
    }),
  );
});

test('a record sealed under one key does not open under another', () => {
  const buf = framed([{ prevLast: 0, firstIndex: 1, entries: [{ index: 1, term: 1, data: Buffer.from('x') }] }]);
  assert.throws(() => decodeRecords(buf, PREFIX, new AesGcmCipher(randomBytes(32)), 'f'), /failed authentication/);
});

test('no entry data and no vote is in the clear', () => {
  const marker = 'plaintext-marker';
  const entries: LogEntry[] = [1, 2, 3].map((i) => ({ index: i, term: 1, data: Buffer.from(`${marker}-${i}`) }));
  const rec = encodeRecord(aes, {
    prevLast: 0,
    firstIndex: 1,
    entries,
    hardState: { term: 1, vote: marker, commit: 3 },
  });
  assert.equal(rec.indexOf(marker), -1);
});

test('the writer refuses what the reader would call corrupt', () => {
  const e = (index: number): LogEntry => ({ index, term: 1, data: Buffer.alloc(1) });
  assert.throws(() => encodeRecord(aes, { prevLast: 0, firstIndex: 1, entries: [] }), /entries, a hard state or both/);
  assert.throws(() => encodeRecord(aes, { prevLast: 0, firstIndex: 2, entries: [e(2)] }), /cannot start at 2/);
  assert.throws(() => encodeRecord(aes, { prevLast: 5, firstIndex: 3, entries: [e(3), e(5)] }), /entry 5 where 4/);
  assert.throws(() => encodeRecord(aes, { prevLast: 5, firstIndex: 6, entries: [{ ...e(6), kind: 256 }] }), /kind/);
});

test('an authenticated record with inconsistent framing is corruption, not a torn tail', () => {
  // The 'none' cipher lets the test forge a payload that authenticates: a CRC over header and payload.
  const plain = new PlainCipher();
  const good = encodeRecord(plain, {
    prevLast: 0,
    firstIndex: 1,
    entries: [{ index: 1, term: 1, data: Buffer.from('abc') }],
  });
  const reseal = (mutate: (header: Buffer, payload: Buffer) => Buffer) => {
    const header = Buffer.from(good.subarray(0, RECORD_HEADER_BYTES));
    const payload = mutate(header, Buffer.from(good.subarray(RECORD_HEADER_BYTES, good.length - plain.overhead)));
    header.writeUInt32BE(payload.length + plain.overhead, 0);
    header.writeUInt32BE(crc32(header.subarray(0, 28)), 28);
    const out = Buffer.alloc(RECORD_HEADER_BYTES + payload.length + plain.overhead);
    header.copy(out);
    plain.sealInto(header, payload, out, RECORD_HEADER_BYTES);
    return Buffer.concat([Buffer.alloc(PREFIX), out]);
  };
  const cases: [RegExp, (h: Buffer, p: Buffer) => Buffer][] = [
    [/framing is inconsistent: 1 bytes after the last entry/, (_h, p) => Buffer.concat([p, Buffer.alloc(1)])],
    [/framing is inconsistent: entry 1 of 1 cut short/, (_h, p) => p.subarray(0, p.length - 1)],
    [/framing is inconsistent: entry 2 of 2 cut short/, (h, p) => (h.writeUInt32BE(2, 20), p)],
    [/starts at index 2 after a log ending at 0/, (h, p) => (h.writeUInt32BE(2, 16), p)],
    [/unknown flags/, (h, p) => (h.writeUInt8(2, 24), p)],
    [/framing is inconsistent: hard state cut short/, (h, p) => (h.writeUInt8(1, 24), p.subarray(0, 10))],
  ];
  for (const [reason, mutate] of cases) {
    assert.throws(
      () => decodeRecords(reseal(mutate), PREFIX, plain, 'f'),
      (err: unknown) => err instanceof LogCorruptionError && err.offset === PREFIX && reason.test(err.reason),
      String(reason),
    );
  }
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
