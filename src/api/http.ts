import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors';
import { decode, type Schema } from './schema';

/** Larger bodies are refused before they are read in full: no spec comes near this. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.destroy();
      throw new ApiError(413, `request body too large: more than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a JSON body as moby's httputils.ReadJSON does: an empty body leaves the zero value,
 * a non-empty one needs an application/json content type, and the value is decoded against
 * the schema (unknown keys dropped, wrong types refused with Go's text).
 */
export async function readJson<T>(req: IncomingMessage, schema: Schema): Promise<T | undefined> {
  const body = await readBody(req);
  if (body.length === 0 || body.toString('utf8').trim() === '') return undefined;
  const ct = req.headers['content-type'] ?? '';
  const mediaType = ct.split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ApiError(400, `unsupported Content-Type header (${ct}): must be 'application/json'`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ApiError(400, `invalid JSON: ${(err as Error).message}`);
  }
  return decode(parsed, schema) as T | undefined;
}

export function writeJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** "Empty" success: moby's handler returned without writing, so there is no body and no JSON type. */
export function writeEmpty(res: ServerResponse, status = 200): void {
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

/** Errors carry exactly `application/json` (no charset): the docker CLI compares the header verbatim. */
export function writeError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeJson(res, status, { message });
}

// ---- query values ----------------------------------------------------------

/** moby's httputils.BoolValue: "", 0, no, false and none are false; anything else is true. */
export function boolValue(v: string | null): boolean {
  if (v === null) return false;
  return !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}

/** Go's strconv.ParseBool, for the parameters moby parses strictly; absent is false. */
export function parseBool(name: string, v: string | null): boolean {
  if (v === null || v === '') return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new ApiError(400, `strconv.ParseBool: parsing "${v}": invalid syntax (${name})`);
}

/** Filters as name → set of values; accepts both the current map-of-bools and the legacy map-of-arrays JSON. */
export type Filters = Map<string, string[]>;

export function parseFilters(raw: string | null, accepted: string[]): Filters {
  const out: Filters = new Map();
  if (raw === null || raw === '') return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ApiError(400, 'invalid filter');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ApiError(400, 'invalid filter');
  for (const [key, v] of Object.entries(parsed as Record<string, unknown>)) {
    let values: string[];
    if (Array.isArray(v)) {
      if (!v.every((x) => typeof x === 'string')) throw new ApiError(400, 'invalid filter');
      values = v as string[];
    } else if (typeof v === 'object' && v !== null) {
      values = Object.entries(v as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([k]) => k);
    } else {
      throw new ApiError(400, 'invalid filter');
    }
    if (!accepted.includes(key)) throw new ApiError(400, `invalid filter '${key}'`);
    out.set(key, values);
  }
  return out;
}

/** The `version` query parameter of an update: required, an unsigned integer. */
export function parseVersion(kind: string, v: string | null): number {
  if (v === null || !/^\d+$/.test(v)) {
    throw new ApiError(
      400,
      `invalid ${kind} version '${v ?? ''}': strconv.ParseUint: parsing "${v ?? ''}": invalid syntax`,
    );
  }
  return Number(v);
}
