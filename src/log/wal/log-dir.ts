// Reads a log directory back: every snapshot and segment is authenticated, the newest snapshot
// is chosen, and the records of the segments are replayed in order, as etcd's WAL is: each
// starts where the one before left the log or earlier (an overwrite, which discards every entry
// from its first index on), and the last hard state written wins. Files are not skipped: one that
// fails is an error, not an older state silently recovered.

import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { HardState, LogEntry, Snapshot } from '../replicated-log';
import { truncateDurably } from './durable-fs';
import { LogCorruptionError } from './errors';
import type { KeyRing } from './key-ring';
import { parseSegmentFileName, readSegment, type SegmentId } from './segment-file';
import { parseSnapshotFileName, readSnapshotFile } from './snapshot-file';

export interface SegmentState extends SegmentId {
  file: string;
  keyIdHex: string;
  /** Where the log ended after this segment's records; firstIndex - 1 while it holds none. */
  lastIndex: number;
  /**
   * Every entry it holds that is still in the log (not overwritten since) is at or before this:
   * once a snapshot reaches it, the segment is needed no more.
   */
  liveTo: number;
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
  /** The entries after the newest snapshot, overwrites resolved. */
  entries: LogEntry[];
  /** The last index the log holds, in the newest snapshot or a segment. */
  lastIndex: number;
  /** The last hard state written, and the segment that holds it. */
  hardState?: HardState;
  hardStateFile?: string;
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
  let hardState: HardState | undefined;
  let hardStateFile: string | undefined;

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
    const prev = segments.at(-1);
    checkFollows(prev, file, id.firstIndex, after);
    // Where the log ends before this segment: unknown for the first one (the segments before it
    // were compacted away); past a gap the snapshot covers, just before the segment.
    let last: number | undefined = prev && Math.max(prev.lastIndex, id.firstIndex - 1);
    let liveTo = id.firstIndex - 1;
    for (const r of seg.records) {
      if (last !== undefined && r.prevLast !== last) {
        const why = `record follows a log ending at ${r.prevLast}, but the log ends at ${last} there`;
        throw new LogCorruptionError(file, r.offset, why);
      }
      last = r.prevLast;
      if (r.entries.length > 0) {
        if (r.firstIndex <= r.prevLast) {
          for (const p of segments) p.liveTo = Math.min(p.liveTo, r.firstIndex - 1);
          liveTo = Math.min(liveTo, r.firstIndex - 1);
        }
        // Entries hold after + 1 onwards without a gap: cut at the first one this record overwrites.
        entries.length = Math.min(entries.length, Math.max(0, r.firstIndex - 1 - after));
        for (const e of r.entries) {
          if (e.index <= after) continue;
          if (e.index !== after + 1 + entries.length) {
            throw new LogCorruptionError(
              file,
              r.offset,
              `entry index ${e.index} where ${after + 1 + entries.length} was expected`,
            );
          }
          entries.push(e);
        }
        last = r.firstIndex + r.entries.length - 1;
        liveTo = last;
      }
      if (r.hardState) {
        hardState = r.hardState;
        hardStateFile = file;
      }
    }
    segments.push({
      ...id,
      file,
      keyIdHex: seg.cipher.keyIdHex,
      lastIndex: last ?? id.firstIndex - 1,
      liveTo,
      end: seg.end,
    });
  }
  const lastIndex = Math.max(after, segments.at(-1)?.lastIndex ?? 0);
  return { segments, snapshots, newest, entries, lastIndex, hardState, hardStateFile };
}

/**
 * A segment starts at or before one past where the one before it leaves the log (before, when
 * it was started by an overwrite). A gap is allowed only where the snapshot covers it: segments
 * wholly before a snapshot are deleted, and a snapshot can end past the entries (then the next
 * segment starts after it).
 */
function checkFollows(prev: SegmentState | undefined, file: string, firstIndex: number, snapshotIndex: number): void {
  const missing = (from: number) => `entries ${from} to ${firstIndex - 1} are missing`;
  if (!prev) {
    if (firstIndex > snapshotIndex + 1) {
      const before = snapshotIndex > 0 ? `the snapshot ends at ${snapshotIndex}` : 'there is no snapshot';
      throw new LogCorruptionError(file, 0, `${missing(snapshotIndex + 1)}: ${before}`);
    }
    return;
  }
  if (firstIndex <= prev.lastIndex + 1) return;
  if (firstIndex > snapshotIndex + 1) {
    throw new LogCorruptionError(file, 0, `${missing(prev.lastIndex + 1)} after ${basename(prev.file)}`);
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
