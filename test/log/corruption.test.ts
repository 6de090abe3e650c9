// Every byte of every file, flipped in turn, must stop the log from opening with an error naming
// the file and the offset of what failed: never a silent repair, never a partial replay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from '../../src/log/wal/checksum';
import { DiskLogStorage, LogCorruptionError } from '../../src/log/wal/disk-storage';
import type { LogEntry } from '../../src/log/replicated-log';

const dek = randomBytes(32);
const HEADER = 40;
const RECORD_HEADER = 32;
const DATA = 10;
/** A record of one entry: header, nonce, the entry's frame (term, kind, length) and data, tag. */
const RECORD = RECORD_HEADER + 12 + 13 + DATA + 16;
const PER_SEGMENT = 3;
const entry = (index: number): LogEntry => ({
  index,
  term: 1,
  data: Buffer.from(`e${String(index).padStart(9, '0')}`),
});

let root: string;
let dir: string;
let segs: string[];
let snapFile: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'shoal-wal-corrupt-'));
  dir = join(root, 'raft');
  // Three segments of three records each, and a snapshot at 2 (which leaves them all in place).
  const s = await DiskLogStorage.open(dir, { deks: [dek], segmentBytes: HEADER + PER_SEGMENT * RECORD });
  for (let i = 1; i <= 9; i++) await s.append([entry(i)]);
  await s.saveSnapshot({ meta: { index: 2, term: 1 }, data: Buffer.from('{"state":"at two"}') });
  await s.close();
  const w = join(dir, 'wal-v3-encrypted');
  segs = readdirSync(w)
    .sort()
    .map((f) => join(w, f));
  assert.equal(segs.length, 3);
  for (const f of segs) assert.equal(readFileSync(f).length, HEADER + PER_SEGMENT * RECORD);
  const sd = join(dir, 'snap-v3-encrypted');
  snapFile = join(sd, readdirSync(sd)[0]);
});

after(() => rmSync(root, { recursive: true, force: true }));

async function openError(d = dir): Promise<unknown> {
  try {
    const s = await DiskLogStorage.open(d, { deks: [dek] });
    await s.close();
    return undefined;
  } catch (err) {
    return err;
  }
}

/** Flips byte `pos` of `file`, opens the log, restores the file; returns what opening threw. */
async function withFlipped(file: string, pos: number): Promise<unknown> {
  const orig = readFileSync(file);
  const bad = Buffer.from(orig);
  bad[pos] ^= 0xff;
  writeFileSync(file, bad);
  try {
    return await openError();
  } finally {
    writeFileSync(file, orig);
  }
}

async function expectCorruption(file: string, positions: number[], offsetOf: (pos: number) => number, reason: RegExp) {
  for (const pos of positions) {
    const err = await withFlipped(file, pos);
    const where = `byte ${pos} of ${file}`;
    assert.ok(err instanceof LogCorruptionError, `${where}: ${String(err)}`);
    assert.equal(err.file, file, where);
    assert.equal(err.offset, offsetOf(pos), where);
    assert.match(err.reason, reason, where);
    assert.ok(err.message.startsWith(`raft log is corrupted: ${file} at offset ${offsetOf(pos)}: `), err.message);
  }
}

const between = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
/** Byte ranges of each record of a segment, relative to the record's start. */
const recordBytes = (from: number, to: number) =>
  between(0, PER_SEGMENT).flatMap((k) => between(HEADER + k * RECORD + from, HEADER + k * RECORD + to));
const recordStart = (pos: number) => HEADER + Math.floor((pos - HEADER) / RECORD) * RECORD;

test('the pristine log opens', async () => {
  assert.equal(await openError(), undefined);
});

test('a flipped byte in a segment header', async () => {
  for (const f of segs) await expectCorruption(f, between(0, HEADER), () => 0, /bad magic|header checksum mismatch/);
});

test('a flipped byte in a record header (length, indexes, count, flags, CRC), in the last record too', async () => {
  for (const f of segs) {
    await expectCorruption(f, recordBytes(0, RECORD_HEADER), recordStart, /^record header checksum mismatch$/);
  }
});

test('a flipped byte in a record payload (nonce, ciphertext)', async () => {
  for (const f of segs) {
    const payload = recordBytes(RECORD_HEADER, RECORD_HEADER + 12 + DATA);
    await expectCorruption(f, payload, recordStart, /^record failed authentication$/);
  }
});

test('a flipped byte in a record auth tag', async () => {
  for (const f of segs) {
    await expectCorruption(f, recordBytes(RECORD - 16, RECORD), recordStart, /^record failed authentication$/);
  }
});

test('a flipped byte in the snapshot header', async () => {
  await expectCorruption(snapFile, between(0, HEADER), () => 0, /bad magic|header checksum mismatch/);
});

test('a flipped byte in the snapshot payload or tag', async () => {
  const size = readFileSync(snapFile).length;
  await expectCorruption(snapFile, between(HEADER, size), () => HEADER, /^snapshot failed authentication$/);
});

test('a renumbered record fails authentication even with its header CRC fixed', async () => {
  const file = segs[1];
  const orig = readFileSync(file);
  const bad = Buffer.from(orig);
  const at = HEADER + RECORD; // entry 5, after a log ending at 4: now 6 after 5, a consistent chain
  bad.writeUInt32BE(5, at + 8);
  bad.writeUInt32BE(6, at + 16);
  bad.writeUInt32BE(crc32(bad.subarray(at, at + 28)), at + 28);
  writeFileSync(file, bad);
  try {
    const err = await openError();
    assert.ok(err instanceof LogCorruptionError);
    assert.equal(err.offset, at);
    assert.equal(err.reason, 'record failed authentication');
  } finally {
    writeFileSync(file, orig);
  }
});

test('swapped records are out of order', async () => {
  const file = segs[1];
  const orig = readFileSync(file);
  const bad = Buffer.from(orig);
  orig.copy(bad, HEADER, HEADER + RECORD, HEADER + 2 * RECORD);
  orig.copy(bad, HEADER + RECORD, HEADER, HEADER + RECORD);
  writeFileSync(file, bad);
  try {
    const err = await openError();
    assert.ok(err instanceof LogCorruptionError);
    assert.equal(err.offset, HEADER);
    assert.equal(err.reason, 'first record starts at index 5, but the segment at 4');
  } finally {
    writeFileSync(file, orig);
  }
});

test('a record replayed later in its segment is caught by the chain of indexes, not taken for an overwrite', async () => {
  const file = segs[1];
  const orig = readFileSync(file);
  const bad = Buffer.from(orig);
  // Entries 4, 5, 4 again: the last would silently cut 5 off if records were not chained.
  orig.copy(bad, HEADER + 2 * RECORD, HEADER, HEADER + RECORD);
  writeFileSync(file, bad);
  try {
    const err = await openError();
    assert.ok(err instanceof LogCorruptionError);
    assert.equal(err.file, file);
    assert.equal(err.offset, HEADER + 2 * RECORD);
    assert.equal(err.reason, 'record follows a log ending at 3, but the records before end it at 5');
  } finally {
    writeFileSync(file, orig);
  }
});

test('a segment swapped with another is caught by the chain across segments', async () => {
  // The last segment's records, in place of the middle one's, under the middle one's name and header.
  const orig = readFileSync(segs[1]);
  const bad = Buffer.concat([orig.subarray(0, HEADER), readFileSync(segs[2]).subarray(HEADER)]);
  writeFileSync(segs[1], bad);
  try {
    const err = await openError();
    assert.ok(err instanceof LogCorruptionError);
    assert.equal(err.file, segs[1]);
    assert.equal(err.offset, HEADER);
    assert.equal(err.reason, 'first record starts at index 7, but the segment at 4');
  } finally {
    writeFileSync(segs[1], orig);
  }
});

test('a missing segment is an index gap', async () => {
  const orig = readFileSync(segs[1]);
  unlinkSync(segs[1]);
  try {
    const err = await openError();
    assert.ok(err instanceof LogCorruptionError);
    assert.equal(err.file, segs[2]);
    assert.match(err.reason, /^entries 4 to 6 are missing after 0000000000000001-0000000000000001\.wal$/);
  } finally {
    writeFileSync(segs[1], orig, { mode: 0o600 });
  }
  assert.equal(await openError(), undefined);
});

test('a missing first segment with no snapshot to cover it is an index gap', async () => {
  const s0 = readFileSync(segs[0]);
  const snap = readFileSync(snapFile);
  unlinkSync(segs[0]);
  unlinkSync(snapFile);
  try {
    const err = await openError();
    assert.ok(err instanceof LogCorruptionError);
    assert.match(err.reason, /^entries 1 to 3 are missing: there is no snapshot$/);
  } finally {
    writeFileSync(segs[0], s0, { mode: 0o600 });
    writeFileSync(snapFile, snap, { mode: 0o600 });
  }
});

test('every byte of batch records holding several entries and a hard state, flipped: corruption at the record', async (t) => {
  const root2 = mkdtempSync(join(tmpdir(), 'shoal-wal-corrupt-batch-'));
  t.after(() => rmSync(root2, { recursive: true, force: true }));
  const d = join(root2, 'raft');
  const s = await DiskLogStorage.open(d, { deks: [dek] });
  await s.append([entry(1), entry(2), entry(3)], { term: 1, vote: 'node-a', commit: 0 });
  await s.append([entry(4), { ...entry(5), kind: 1 }], { term: 2, vote: '', commit: 3 });
  await s.append([], { term: 2, vote: 'node-b', commit: 5 });
  await s.close();
  const [file] = readdirSync(join(d, 'wal-v3-encrypted')).map((f) => join(d, 'wal-v3-encrypted', f));
  const orig = readFileSync(file);
  // Record boundaries, from the lengths in their headers.
  const starts: number[] = [];
  for (let at = HEADER; at < orig.length; at += RECORD_HEADER + orig.readUInt32BE(at)) starts.push(at);
  assert.equal(starts.length, 3);
  const startOf = (pos: number) => starts.filter((x) => x <= pos).at(-1)!;
  for (let pos = HEADER; pos < orig.length; pos++) {
    const bad = Buffer.from(orig);
    bad[pos] ^= 0x5a;
    writeFileSync(file, bad);
    const err = await DiskLogStorage.open(d, { deks: [dek] }).then(
      (x) => x.close(),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LogCorruptionError, `byte ${pos}: ${String(err)}`);
    assert.equal(err.file, file, `byte ${pos}`);
    assert.equal(err.offset, startOf(pos), `byte ${pos}`);
    assert.match(err.reason, /^record (header checksum mismatch|failed authentication)$/, `byte ${pos}`);
  }
  writeFileSync(file, orig);
  const again = await DiskLogStorage.open(d, { deks: [dek] });
  const { entries, hardState } = await again.load();
  assert.deepEqual(entries, [entry(1), entry(2), entry(3), entry(4), { ...entry(5), kind: 1 }]);
  assert.deepEqual(hardState, { term: 2, vote: 'node-b', commit: 5 });
  await again.close();
});

test('a file of the previous format version is refused with a clear error, not misread', async (t) => {
  const root2 = mkdtempSync(join(tmpdir(), 'shoal-wal-version-'));
  t.after(() => rmSync(root2, { recursive: true, force: true }));
  const d = join(root2, 'raft');
  const s = await DiskLogStorage.open(d, { deks: [dek] });
  await s.append([entry(1)]);
  await s.saveSnapshot({ meta: { index: 1, term: 1 }, data: Buffer.from('one') });
  await s.close();
  for (const sub of ['wal-v3-encrypted', 'snap-v3-encrypted']) {
    const file = join(d, sub, readdirSync(join(d, sub))[0]);
    const orig = readFileSync(file);
    // What version 1 wrote: the same header with version 1 (and a CRC that checks out).
    const old = Buffer.from(orig);
    old.writeUInt16BE(1, 8);
    old.writeUInt32BE(crc32(old.subarray(0, 36)), 36);
    writeFileSync(file, old);
    const err = await openError(d);
    const kind = sub.startsWith('wal') ? 'segment' : 'snapshot';
    assert.ok(err instanceof LogCorruptionError, String(err));
    assert.equal(err.file, file);
    assert.equal(err.offset, 0);
    assert.equal(err.reason, `${kind} file is in format version 1; this version of shoal reads only version 2`);
    writeFileSync(file, orig);
  }
  assert.equal(await openError(d), undefined);
});
