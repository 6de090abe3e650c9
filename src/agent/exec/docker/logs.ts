// A task's output read back through the engine (GET /containers/{id}/logs with timestamps), as the
// TaskController.logs() seam gives it: one LogLine per log message, stream and time included.
//
// Without a TTY the engine multiplexes stdout and stderr into frames (an 8-byte header: stream type,
// three zero bytes, big-endian payload size), one log message per frame. With a TTY it sends the
// messages raw, all as stdout. Each message starts with its RFC 3339 time and a space; a message the
// logging driver split (longer than 16 KiB) has no trailing newline on its earlier pieces.

import type Docker from 'dockerode';
import type { LogLine, LogOptions } from '../executor';

const HEADER = 8;
const STREAMS: Record<number, LogLine['stream']> = { 1: 'stdout', 2: 'stderr' };

/** `2024-05-01T10:00:00.123456789Z message` → its time and text. */
export function parseTimestamped(text: string, stream: LogLine['stream']): LogLine {
  const sp = text.indexOf(' ');
  const time = sp > 0 ? new Date(text.slice(0, sp)) : new Date(NaN);
  if (Number.isNaN(time.getTime())) return { stream, time: new Date(), line: text };
  return { stream, time, line: text.slice(sp + 1) };
}

/** Splits the engine's multiplexed log stream into messages; feed it chunks as they come. */
export class FrameDemuxer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): LogLine[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: LogLine[] = [];
    while (this.buf.length >= HEADER) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < HEADER + size) break;
      const stream = STREAMS[this.buf[0]];
      const payload = this.buf.subarray(HEADER, HEADER + size).toString('utf8');
      this.buf = this.buf.subarray(HEADER + size);
      if (stream) out.push(parseTimestamped(payload, stream));
    }
    return out;
  }
}

/** Splits a TTY container's raw log stream into messages (one per line). */
class RawSplitter {
  private pending = '';

  push(chunk: Buffer): LogLine[] {
    this.pending += chunk.toString('utf8');
    const out: LogLine[] = [];
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      out.push(parseTimestamped(this.pending.slice(0, nl + 1), 'stdout'));
      this.pending = this.pending.slice(nl + 1);
    }
    return out;
  }

  end(): LogLine[] {
    const rest = this.pending;
    this.pending = '';
    return rest ? [parseTimestamped(rest, 'stdout')] : [];
  }
}

/** The engine's query for LogOptions: both streams unless some are asked for; `since` in fractional Unix seconds. */
export function logQuery(opts: LogOptions): Record<string, unknown> {
  const some = opts.stdout !== undefined || opts.stderr !== undefined;
  const q: Record<string, unknown> = {
    follow: !!opts.follow,
    stdout: some ? !!opts.stdout : true,
    stderr: some ? !!opts.stderr : true,
    timestamps: true,
  };
  if (opts.since) q.since = (opts.since.getTime() / 1000).toFixed(3);
  if (opts.tail !== undefined) q.tail = String(Math.max(0, Math.floor(opts.tail)));
  return q;
}

/**
 * The container's log as LogLines. `tty` says how the engine frames it (the container's Config.Tty).
 * Ends when the log does (with follow: when the container has stopped), or quietly when opts.signal aborts.
 */
export async function* containerLogs(
  container: Docker.Container,
  tty: boolean,
  opts: LogOptions,
): AsyncGenerator<LogLine> {
  if (opts.signal?.aborted) return;
  const split = tty ? new RawSplitter() : new FrameDemuxer();
  let body: Buffer | NodeJS.ReadableStream;
  try {
    body = (await container.logs({ ...logQuery(opts), abortSignal: opts.signal } as never)) as unknown as
      Buffer | NodeJS.ReadableStream;
  } catch (err) {
    if (opts.signal?.aborted) return;
    throw err;
  }
  if (Buffer.isBuffer(body)) {
    yield* split.push(body);
  } else {
    const stream = body as NodeJS.ReadableStream & { destroy?: () => void };
    const onAbort = () => stream.destroy?.();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) yield* split.push(chunk);
    } catch (err) {
      if (!opts.signal?.aborted) throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      stream.destroy?.();
    }
  }
  if (split instanceof RawSplitter) yield* split.end();
}
