// Committed writes per second through SingleMemberLog on the disk log (real fdatasync, in a
// temporary directory), with AES-256-GCM and without encryption ('none', which exists for this
// comparison only), for one writer proposing sequentially and for 64 concurrent writers (group
// commit batches their proposals into one write and one fdatasync).
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SingleMemberLog } from '../src/log/single-member-log';
import type { LogEntry, Snapshot, StateMachine } from '../src/log/replicated-log';
import { DiskLogStorage, type CipherName } from '../src/log/wal/disk-storage';

export interface WalFigure {
  cipher: CipherName;
  writers: number;
  /** Proposals committed (durable and applied) per second. */
  writesPerSec: number;
  /** Storage appends (one write + one fdatasync each) per second. */
  syncsPerSec: number;
  /** Mean entries per append. */
  batch: number;
}

export interface WalBenchOptions {
  /** How long each configuration runs, per round. */
  durationMs?: number;
  /** Alternating rounds per configuration; the median round counts. */
  rounds?: number;
  /** Bytes of each entry: about a service spec's JSON. */
  entryBytes?: number;
  print?: boolean;
}

/** Counts what it applies; its snapshot is tiny, so the figures are the log's, not the state machine's. */
class Counter implements StateMachine {
  applied = 0;
  apply(e: LogEntry): unknown {
    this.applied++;
    return e.index;
  }
  snapshot(): Buffer {
    return Buffer.from(String(this.applied));
  }
  restore(s: Snapshot): void {
    this.applied = Number(s.data.toString());
  }
}

async function measure(
  cipher: CipherName,
  writers: number,
  durationMs: number,
  entryBytes: number,
): Promise<WalFigure> {
  const root = mkdtempSync(join(tmpdir(), 'shoal-bench-wal-'));
  try {
    const disk = await DiskLogStorage.open(join(root, 'raft'), { deks: [randomBytes(32)], cipher });
    let appends = 0;
    const storage = {
      append: (e: LogEntry[]) => (appends++, disk.append(e)),
      saveSnapshot: (s: Snapshot) => disk.saveSnapshot(s),
      load: () => disk.load(),
    };
    const log = await SingleMemberLog.open(new Counter(), { storage });
    const payload = randomBytes(entryBytes);
    let committed = 0;
    let stop = false;
    const writer = async () => {
      while (!stop) {
        await log.propose(payload);
        committed++;
      }
    };
    // A short warm-up, so that the first file creations do not count.
    const warm = Date.now() + 100;
    while (Date.now() < warm) await log.propose(payload);
    appends = 0;
    const start = process.hrtime.bigint();
    const running = Array.from({ length: writers }, writer);
    await new Promise((r) => setTimeout(r, durationMs));
    stop = true;
    await Promise.all(running);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    await log.close();
    await disk.close();
    return {
      cipher,
      writers,
      writesPerSec: Math.round(committed / secs),
      syncsPerSec: Math.round(appends / secs),
      batch: Math.round((committed / Math.max(1, appends)) * 10) / 10,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export async function walBench(opts: WalBenchOptions = {}): Promise<WalFigure[]> {
  const durationMs = opts.durationMs ?? 2000;
  const entryBytes = opts.entryBytes ?? 1024;
  const rounds = opts.rounds ?? 3;
  const figures: WalFigure[] = [];
  // Interleaved rounds, so that a change in the disk's speed during the run touches both ciphers
  // alike, and the median round, so that one slow fdatasync streak does not decide the figure.
  for (const writers of [1, 64]) {
    const runs = new Map<CipherName, WalFigure[]>([
      ['aes-256-gcm', []],
      ['none', []],
    ]);
    for (let r = 0; r < rounds; r++) {
      for (const [cipher, out] of runs) out.push(await measure(cipher, writers, durationMs, entryBytes));
    }
    for (const out of runs.values()) {
      out.sort((a, b) => a.writesPerSec - b.writesPerSec);
      figures.push(out[Math.floor(out.length / 2)]);
    }
  }
  if (opts.print ?? true) {
    console.log(
      `WAL: committed writes/s through SingleMemberLog + DiskLogStorage (${entryBytes}-byte entries, fdatasync)`,
    );
    for (const f of figures) {
      const label = `${f.writers === 1 ? '1 writer' : `${f.writers} writers`}, ${f.cipher}`.padEnd(28);
      console.log(
        `  ${label} ${String(f.writesPerSec).padStart(7)} writes/s  ${f.syncsPerSec} fdatasyncs/s, ${f.batch} per batch`,
      );
    }
  }
  return figures;
}

if (require.main === module) {
  walBench().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
