// Reads a log directory back: every snapshot and segment is authenticated, the newest snapshot
// is chosen, and the entries after it are checked to run on without a gap. Files are not
// skipped: one that fails is an error, not an older state silently recovered.

import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { LogEntry, Snapshot } from '../replicated-log';
import { truncateDurably } from './durable-fs';
import { LogCorruptionError } from './errors';
import type { KeyRing } from './key-ring';
import { parseSegmentFileName, readSegment, type SegmentId } from './segment-file';
import { parseSnapshotFileName, readSnapshotFile } from './snapshot-file';

export interface SegmentState extends SegmentId {
  file: string;
  keyIdHex: string;
  /** Index of its last entry; firstIndex - 1 while it holds none. */
  lastIndex: number;
  /** Where its complete records end. */
  end: number;
}

export interface SnapshotState {
  file: string;
  index: number;
  keyIdHex: string;
}

export interface LogDirState {
  /** In log order. */
  segments: SegmentState[];
  snapshots: SnapshotState[];
  newest?: Snapshot;
  /** The entries after the newest snapshot. */
  entries: LogEntry[];
  /** The last index the log holds, in the newest snapshot or a segment. */
  lastIndex: number;
}

/**
 * `repairTornTail`: cut an incomplete last record off the last segment on disk (at open), rather
 * than only leaving it out of what is returned.
 */
export async function readLogDir(
  walDir: string,
  snapDir: string,
  ring: KeyRing,
  repairTornTail: boolean,
): Promise<LogDirState> {
  const { snapshots, newest } = await readSnapshots(snapDir, ring);
  const after = newest?.meta.index ?? 0;
  const segments: SegmentState[] = [];
  const entries: LogEntry[] = [];

  const ids = (await readdir(walDir))
    .map((name) => ({ name, id: parseSegmentFileName(name) }))
    .filter((x): x is { name: string; id: SegmentId } => x.id !== undefined)
    .sort((a, b) => a.id.seq - b.id.seq);
  for (const [i, { name, id }] of ids.entries()) {
    const file = join(walDir, name);
    const seg = await readSegment(file, id, ring);
    if (seg.torn) {
      if (i !== ids.length - 1) {
        throw new LogCorruptionError(file, seg.torn.offset, `${seg.torn.reason} in a segment that is not the last`);
      }
      // A crash interrupted this write before it was acknowledged: its entries were never committed.
      if (repairTornTail) await truncateDurably(file, seg.end);
    }
    const last = seg.records.at(-1)?.entry.index ?? id.firstIndex - 1;
    const state: SegmentState = { ...id, file, keyIdHex: seg.cipher.keyIdHex, lastIndex: last, end: seg.end };
    checkFollows(segments.at(-1), state, after);
    segments.push(state);
    for (const r of seg.records) if (r.entry.index > after) entries.push(r.entry);
  }
  const lastIndex = Math.max(after, segments.at(-1)?.lastIndex ?? 0);
  return { segments, snapshots, newest, entries, lastIndex };
}

/**
 * A segment starts one past where the one before it ends. A gap is allowed only where the
 * snapshot covers it: segments wholly before a snapshot are deleted, and a snapshot can end past
 * the entries (then the next segment starts after it).
 */
function checkFollows(prev: SegmentState | undefined, seg: SegmentState, snapshotIndex: number): void {
  const missing = (from: number) => `entries ${from} to ${seg.firstIndex - 1} are missing`;
  if (!prev) {
    if (seg.firstIndex > snapshotIndex + 1) {
      const before = snapshotIndex > 0 ? `the snapshot ends at ${snapshotIndex}` : 'there is no snapshot';
      throw new LogCorruptionError(seg.file, 0, `${missing(snapshotIndex + 1)}: ${before}`);
    }
    return;
  }
  if (seg.firstIndex === prev.lastIndex + 1) return;
  if (seg.firstIndex <= prev.lastIndex) {
    const why = `segment starts at index ${seg.firstIndex}, but ${basename(prev.file)} runs to ${prev.lastIndex}`;
    throw new LogCorruptionError(seg.file, 0, why);
  }
  if (seg.firstIndex > snapshotIndex + 1) {
    throw new LogCorruptionError(seg.file, 0, `${missing(prev.lastIndex + 1)} after ${basename(prev.file)}`);
  }
}

async function readSnapshots(
  snapDir: string,
  ring: KeyRing,
): Promise<{ snapshots: SnapshotState[]; newest?: Snapshot }> {
  const snapshots: SnapshotState[] = [];
  let newest: Snapshot | undefined;
  let newestKeyRank = Infinity;
  const rankOf = (keyIdHex: string) => (keyIdHex === ring.writer.keyIdHex ? 0 : 1);
  for (const name of (await readdir(snapDir)).sort()) {
    const id = parseSnapshotFileName(name);
    if (!id) continue;
    const file = join(snapDir, name);
    // Every snapshot is authenticated, not only the newest: a damaged file is reported, not left behind.
    const snapshot = await readSnapshotFile(file, id, ring);
    snapshots.push({ file, index: id.index, keyIdHex: id.keyIdHex });
    // Two snapshots at one index exist only mid-rotation; both hold the same state. Prefer the new key's.
    const rank = rankOf(id.keyIdHex);
    if (!newest || id.index > newest.meta.index || (id.index === newest.meta.index && rank < newestKeyRank)) {
      newest = snapshot;
      newestKeyRank = rank;
    }
  }
  return { snapshots, newest };
}
