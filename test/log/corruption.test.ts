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
const RECORD_HEADER = 24;
const DATA = 10;
const RECORD = RECORD_HEADER + 12 + DATA + 16;
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

async function openError(): Promise<unknown> {
  try {
    const s = await DiskLogStorage.open(dir, { deks: [dek] });
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

test('a flipped byte in a record header (length, index, term, CRC), in the last record too', async () => {
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
  const at = HEADER + RECORD; // entry 5
  bad.writeUInt32BE(6, at + 8);
  bad.writeUInt32BE(crc32(bad.subarray(at, at + 20)), at + 20);
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
    assert.equal(err.reason, 'entry index 5 where 4 was expected');
  } finally {
    writeFileSync(file, orig);
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
