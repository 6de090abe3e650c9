// The wire format of a call's bodies. A unary request or response is one JSON document. A stream of messages is
// newline-delimited JSON: one frame per line, `{"msg":…}` for each message and exactly one final frame, `{"end":true}`
// or `{"error":{"code":…,"message":…}}`. JSON.stringify never writes a raw newline, so a line is always one frame.
import type { Readable } from 'node:stream';
import { RpcError, isRpcCode } from './errors';

/** gRPC's default limit on a received message (4 MiB), for request bodies and for each stream frame. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export const JSON_CONTENT_TYPE = 'application/json';
export const STREAM_CONTENT_TYPE = 'application/x-ndjson';

export type Frame = { msg: unknown } | { end: true } | { error: { code: string; message: string } };

export function encodeFrame(frame: Frame): Buffer {
  return Buffer.from(JSON.stringify(frame) + '\n');
}

function tooLarge(size: number, max: number): RpcError {
  return new RpcError('ResourceExhausted', `grpc: received message larger than max (${size} vs. ${max})`);
}

/** Splits a byte stream into frames. Throws RpcError on a malformed frame or one over the size limit. */
export class FrameDecoder {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      this.add(piece);
      const line = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
      this.parts = [];
      this.size = 0;
      start = nl + 1;
      if (line.length > 0) out.push(parseFrame(line));
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
    return out;
  }

  /** Bytes of an unfinished frame are left over (the stream ended mid-frame). */
  get pending(): boolean {
    return this.size > 0;
  }

  private add(piece: Buffer): void {
    this.size += piece.length;
    if (this.size > this.maxBytes) throw tooLarge(this.size, this.maxBytes);
    this.parts.push(piece);
  }
}

function parseFrame(line: Buffer): Frame {
  let v: unknown;
  try {
    v = JSON.parse(line.toString('utf8'));
  } catch {
    throw new RpcError('Internal', 'malformed stream frame');
  }
  if (v && typeof v === 'object') {
    const f = v as Record<string, unknown>;
    if ('msg' in f) return { msg: f.msg };
    if (f.end === true) return { end: true };
    const e = f.error as Record<string, unknown> | undefined;
    if (e && typeof e === 'object') return { error: { code: String(e.code), message: String(e.message) } };
  }
  throw new RpcError('Internal', 'malformed stream frame');
}

/** The error a final error frame or an error body describes. */
export function errorFromWire(body: unknown, fallback: string): RpcError {
  const e = body as { code?: unknown; message?: unknown } | undefined;
  if (e && isRpcCode(e.code) && typeof e.message === 'string') return new RpcError(e.code, e.message);
  return new RpcError('Unknown', fallback);
}

/**
 * Reads a whole body, refusing one larger than `maxBytes`. On refusal the stream is left flowing (the rest is
 * discarded) rather than destroyed, so that the refusal can still be sent on it.
 */
export function readBody(stream: Readable, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        parts.push(chunk);
        return;
      }
      cleanup();
      stream.resume();
      reject(tooLarge(size, maxBytes));
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(parts));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new RpcError('Canceled', 'stream closed before its end'));
    };
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/** Parses a JSON body; an empty body is `{}`. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new RpcError('InvalidArgument', `malformed request: ${(err as Error).message}`);
  }
}
