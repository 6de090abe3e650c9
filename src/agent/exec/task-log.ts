// A task's captured output: split into lines, stored as JSON lines in the task's directory, capped by
// rotation, and read back (with follow) by TaskController.logs().
//
// File format, one record a line: {"s":1,"t":"2024-05-01T10:00:00.123Z","l":"text\n"}; s is 1 for
// stdout and 2 for stderr. The current file is log.jsonl; when it would pass the cap it is renamed
// to log.jsonl.1 (replacing the previous one), so a task's output takes at most about twice the cap.

import { StringDecoder } from 'node:string_decoder';
import { open, readFile, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogLine, LogOptions } from './executor';

export const LOG_FILE = 'log.jsonl';
export const ROTATED_LOG_FILE = 'log.jsonl.1';
/** Docker's json-file splits lines at 16 KiB too, so a task that never writes '\n' cannot grow one line forever. */
export const MAX_LINE = 16 * 1024;
/** Above this much unwritten output the pipes are paused, so a task outrunning the disk blocks on its writes. */
const HIGH_WATER = 1024 * 1024;

/** Cuts a byte stream into lines of at most MAX_LINE characters, each ending in '\n' unless it was cut. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    this.buf += this.decoder.write(chunk);
    this.drain();
  }

  /** The stream ended: a last line without '\n' is kept, with one added. */
  end(): void {
    this.buf += this.decoder.end();
    this.drain();
    if (this.buf) this.emit(this.buf + '\n');
    this.buf = '';
  }

  private drain(): void {
    const buf = this.buf;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf('\n', start);
      if (nl !== -1 && nl + 1 - start <= MAX_LINE) {
        this.emit(buf.slice(start, nl + 1));
        start = nl + 1;
      } else if (buf.length - start >= MAX_LINE) {
        this.emit(buf.slice(start, start + MAX_LINE));
        start += MAX_LINE;
      } else break;
    }
    this.buf = buf.slice(start);
  }
}

interface Subscriber {
  lines(lines: LogLine[]): void;
  end(): void;
}

function encode(l: LogLine): string {
  return JSON.stringify({ s: l.stream === 'stdout' ? 1 : 2, t: l.time.toISOString(), l: l.line }) + '\n';
}

function decode(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const rec of text.split('\n')) {
    if (!rec) continue;
    try {
      const r = JSON.parse(rec) as { s: number; t: string; l: string };
      out.push({ stream: r.s === 2 ? 'stderr' : 'stdout', time: new Date(r.t), line: r.l });
    } catch {
      // A record cut short by a crash mid-write; the rest of the file is still good.
    }
  }
  return out;
}

async function readIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Everything stored for a task, oldest first. */
export async function readStoredLines(dir: string): Promise<LogLine[]> {
  return [
    ...decode(await readIfExists(join(dir, ROTATED_LOG_FILE))),
    ...decode(await readIfExists(join(dir, LOG_FILE))),
  ];
}

/**
 * Appends a task's lines to its log file. Every file operation runs on one serial chain, so a reader
 * that takes its snapshot on the chain sees exactly the lines written before it and is sent exactly
 * the lines written after: following never loses or repeats a line, even across a rotation.
 */
export class TaskLogWriter {
  private pending: LogLine[] = [];
  private pendingBytes = 0;
  private flushQueued = false;
  private chain: Promise<unknown> = Promise.resolve();
  private handle?: FileHandle;
  private size = 0;
  private ended = false;
  private readonly subscribers = new Set<Subscriber>();
  private pressure?: { pause(): void; resume(): void; paused: boolean };
  /** The last write error; output is dropped rather than letting a full disk take the daemon down. */
  lastError?: Error;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /** Lets the writer stop the source while it is behind. */
  flowControl(pause: () => void, resume: () => void): void {
    this.pressure = { pause, resume, paused: false };
  }

  append(line: LogLine): void {
    if (this.ended) return;
    this.pending.push(line);
    this.pendingBytes += line.line.length;
    if (this.pressure && !this.pressure.paused && this.pendingBytes > HIGH_WATER) {
      this.pressure.paused = true;
      this.pressure.pause();
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      void this.serial(() => this.flush());
    }
  }

  /** No more lines will come: once everything pending is written, followers are told and the file is closed. */
  end(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      void this.serial(async () => {
        await this.handle?.close().catch(() => undefined);
        this.handle = undefined;
        for (const s of this.subscribers) s.end();
        this.subscribers.clear();
      });
    }
    return this.serial(async () => undefined);
  }

  /**
   * The stored lines, and, if a subscriber is given and output may still come, the subscriber
   * registered in the same step. `live` says whether it was registered.
   */
  snapshot(sub?: Subscriber): Promise<{ lines: LogLine[]; live: boolean }> {
    return this.serial(async () => {
      const lines = await readStoredLines(this.dir);
      const live = !!sub && !this.ended;
      if (live) this.subscribers.add(sub);
      return { lines, live };
    });
  }

  unsubscribe(sub: Subscriber): void {
    this.subscribers.delete(sub);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async flush(): Promise<void> {
    // Lines appended while a write is under way are taken by the next turn of this loop.
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      try {
        await this.write(batch);
      } catch (err) {
        this.lastError = err as Error;
      }
      for (const s of this.subscribers) s.lines(batch);
      if (this.pressure?.paused && this.pendingBytes <= HIGH_WATER) {
        this.pressure.paused = false;
        this.pressure.resume();
      }
    }
    this.flushQueued = false;
  }

  private async write(batch: LogLine[]): Promise<void> {
    let chunk = '';
    let chunkBytes = 0;
    for (const l of batch) {
      const rec = encode(l);
      const n = Buffer.byteLength(rec);
      if (this.size + chunkBytes + n > this.maxBytes && this.size + chunkBytes > 0) {
        await this.writeOut(chunk);
        chunk = '';
        chunkBytes = 0;
        await this.rotate();
      }
      chunk += rec;
      chunkBytes += n;
    }
    await this.writeOut(chunk);
  }

  private async writeOut(chunk: string): Promise<void> {
    if (!chunk) return;
    if (!this.handle) {
      this.handle = await open(join(this.dir, LOG_FILE), 'a', 0o600);
      this.size = (await this.handle.stat()).size;
    }
    const buf = Buffer.from(chunk);
    await this.handle.write(buf);
    this.size += buf.length;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    await rename(join(this.dir, LOG_FILE), join(this.dir, ROTATED_LOG_FILE)).catch(() => undefined);
    this.size = 0;
  }
}

/** A predicate for the stream and `since` options. */
export function logFilter(opts: LogOptions): (l: LogLine) => boolean {
  const both = opts.stdout === undefined && opts.stderr === undefined;
  const out = both || opts.stdout === true;
  const err = both || opts.stderr === true;
  const since = opts.since?.getTime();
  return (l) => (l.stream === 'stdout' ? out : err) && (since === undefined || l.time.getTime() >= since);
}

/**
 * TaskController.logs() over a writer (while this daemon owns the task) or just the stored files
 * (a task it never prepared, e.g. one from before a restart, whose output cannot grow).
 */
export async function* taskLogs(
  dir: string,
  writer: TaskLogWriter | undefined,
  opts: LogOptions,
): AsyncGenerator<LogLine> {
  const keep = logFilter(opts);
  const signal = opts.signal;
  if (signal?.aborted) return;

  const queue: LogLine[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const sub: Subscriber = {
    lines(lines) {
      for (const l of lines) if (keep(l)) queue.push(l);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
  };
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  try {
    const snap = writer
      ? await writer.snapshot(opts.follow ? sub : undefined)
      : { lines: await readStoredLines(dir), live: false };
    let history = snap.lines.filter(keep);
    if (opts.tail !== undefined && opts.tail >= 0) history = opts.tail === 0 ? [] : history.slice(-opts.tail);
    for (const l of history) {
      if (signal?.aborted) return;
      yield l;
    }
    if (!snap.live) return;
    for (;;) {
      // Taking the whole queue at once keeps this linear when the consumer falls behind.
      while (queue.length > 0) {
        const batch = queue.splice(0, queue.length);
        for (const l of batch) {
          if (signal?.aborted) return;
          yield l;
        }
      }
      if (ended || signal?.aborted) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    writer?.unsubscribe(sub);
  }
}
