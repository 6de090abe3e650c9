// The HTTP side of the CLI: Docker Engine API requests over the daemon's Unix socket, the way
// the docker CLI's Go client makes them (versioned paths, url.Values query encoding, JSON
// filters, {"message": ...} errors).
//
// Transport: node:http with `socketPath`. Measured here, a cold require('node:http') costs
// ~5 ms against ~30 ms for undici's deep `lib/dispatcher/client` path (and ~100 ms for the
// whole of undici); one short request per call needs nothing undici adds. Only this file
// knows the transport, so swapping it is local.
import { request as httpRequest, STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { hostForSocket } from './paths';

/** The API version the CLI speaks; the daemon advertises the same maximum (moby v28.5). */
export const API_VERSION = '1.51';

/** docker's `filters.Args`: each key to the values it may take, e.g. {name: ['web']}. */
export type FilterArgs = Record<string, string[]>;
export type QueryValue = string | number | boolean | undefined;
export type Query = Record<string, QueryValue | FilterArgs>;

/** A non-2xx answer from the daemon. `message` reads as the docker CLI prints it. */
export class DaemonError extends Error {
  /** The daemon's own text: the `message` of its JSON error body. */
  readonly daemonMessage: string;
  constructor(
    readonly statusCode: number,
    daemonMessage: string,
  ) {
    super(`Error response from daemon: ${daemonMessage}`);
    this.name = 'DaemonError';
    this.daemonMessage = daemonMessage;
  }
}

/** Nothing (or nothing usable) answers on the socket. */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

export interface ApiResponse<T> {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: T;
}

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON with Content-Type: application/json; omitted when undefined. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Prefix the path with /v<API_VERSION> (default true; /_ping is called unversioned). */
  versioned?: boolean;
  /** Abort the request after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

export interface ApiClientOptions {
  socketPath: string;
  apiVersion?: string;
  userAgent?: string;
}

/** Go's url.QueryEscape: like encodeURIComponent, but also !'()* escaped and spaces as '+'. */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

/**
 * docker's filters.Args.ToJSON: {"key":{"value":true}}, keys sorted as Go's encoding/json sorts
 * map keys. Returns undefined for no filters, which the Go client then leaves out of the query.
 */
export function encodeFilters(filters: FilterArgs): string | undefined {
  const keys = Object.keys(filters)
    .filter((k) => filters[k].length > 0)
    .sort();
  if (keys.length === 0) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const k of keys) {
    const values: Record<string, boolean> = {};
    for (const v of [...filters[k]].sort()) values[v] = true;
    out[k] = values;
  }
  return JSON.stringify(out);
}

/** Go's url.Values.Encode: keys sorted, QueryEscape'd; object values are filters. */
export function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const raw = query[key];
    if (raw === undefined) continue;
    const value = typeof raw === 'object' ? encodeFilters(raw) : String(raw);
    if (value === undefined) continue;
    parts.push(`${queryEscape(key)}=${queryEscape(value)}`);
  }
  return parts.join('&');
}

export class ApiClient {
  readonly socketPath: string;
  readonly apiVersion: string;
  private readonly userAgent: string;

  constructor(opts: ApiClientOptions) {
    this.socketPath = opts.socketPath;
    this.apiVersion = opts.apiVersion ?? API_VERSION;
    this.userAgent = opts.userAgent ?? `shoal-cli (${process.platform})`;
  }

  /** The daemon address as the user would write it: unix:///path.sock. */
  get host(): string {
    return hostForSocket(this.socketPath);
  }

  async get<T = unknown>(path: string, query?: Query): Promise<T> {
    return (await this.request<T>('GET', path, { query })).body;
  }

  async post<T = unknown>(path: string, body?: unknown, query?: Query, headers?: Record<string, string>): Promise<T> {
    return (await this.request<T>('POST', path, { body, query, headers })).body;
  }

  async delete<T = unknown>(path: string, query?: Query): Promise<T> {
    return (await this.request<T>('DELETE', path, { query })).body;
  }

  async head(path: string, opts: Omit<RequestOptions, 'body'> = {}): Promise<ApiResponse<undefined>> {
    return this.request<undefined>('HEAD', path, opts);
  }

  /**
   * One request. Resolves with the parsed JSON body (undefined when empty) for 2xx answers;
   * rejects with DaemonError for any other status and ConnectionError when the socket is dead.
   */
  request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const qs = encodeQuery(opts.query);
    const fullPath = (opts.versioned === false ? '' : `/v${this.apiVersion}`) + path + (qs ? `?${qs}` : '');
    const headers: Record<string, string> = {
      Host: 'api.moby.localhost',
      'User-Agent': this.userAgent,
      ...opts.headers,
    };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body), 'utf8');
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }

    return new Promise<ApiResponse<T>>((resolve, reject) => {
      const req = httpRequest({ socketPath: this.socketPath, path: fullPath, method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          if (status < 200 || status >= 300) {
            reject(this.errorFor(status, res.headers, text, method, fullPath));
            return;
          }
          let body: unknown;
          if (text.trim() !== '' && isJson(res.headers)) {
            try {
              body = JSON.parse(text);
            } catch (err) {
              reject(new Error(`invalid JSON from the daemon for ${method} ${path}: ${(err as Error).message}`));
              return;
            }
          } else if (text !== '') {
            body = text;
          }
          resolve({ statusCode: status, headers: res.headers, body: body as T });
        });
      });
      if (opts.timeoutMs !== undefined) {
        req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      }
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectionError(err)));
      req.end(payload);
    });
  }

  /** docker's client.checkResponseErr: the JSON message, else the raw body, else a generic text. */
  private errorFor(status: number, headers: IncomingHttpHeaders, text: string, method: string, path: string): Error {
    let message = text.trim();
    if (isJson(headers) && message !== '') {
      try {
        const parsed = JSON.parse(message) as { message?: unknown };
        if (parsed && typeof parsed.message === 'string') message = parsed.message;
      } catch {
        // keep the raw text, as the docker CLI does
      }
    }
    if (message === '') {
      message = `request returned ${STATUS_CODES[status] ?? status} for API route and version ${method} ${path}, check if the server supports the requested API version`;
    }
    return new DaemonError(status, message);
  }

  private connectionError(err: NodeJS.ErrnoException): Error {
    switch (err.code) {
      case 'ENOENT':
      case 'ECONNREFUSED':
      case 'ENOTSOCK':
        return new ConnectionError(
          `Cannot connect to the shoal daemon at ${this.host}. Is the shoal daemon running?`,
          err.code,
        );
      case 'EACCES':
      case 'EPERM':
        return new ConnectionError(
          `permission denied while trying to connect to the shoal daemon socket at ${this.host}`,
          err.code,
        );
      case 'ETIMEDOUT':
        return new ConnectionError(`timed out waiting for the shoal daemon at ${this.host}`, err.code);
      default:
        return new ConnectionError(`error during connect to ${this.host}: ${err.message}`, err.code);
    }
  }
}

function isJson(headers: IncomingHttpHeaders): boolean {
  const ct = headers['content-type'] ?? '';
  return ct.split(';')[0].trim().toLowerCase() === 'application/json';
}
