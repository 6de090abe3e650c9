// The calling side of the node-to-node transport: one HTTP/2 session per peer address, reused by every call to
// that peer. A node presents its certificate and checks that the server's certificate chains to the swarm's roots
// and names a manager of the expected cluster (its subject, not its host name).
import * as http2 from 'node:http2';
import type * as tls from 'node:tls';
import { parseNodeCertificate } from '../ca/certificate-info';
import { MANAGER_ROLE } from '../ca/node-cert';
import type { PemCertificate } from '../ca/pem';
import { RpcError } from './errors';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  FrameDecoder,
  JSON_CONTENT_TYPE,
  errorFromWire,
  readBody,
  type Frame,
} from './framing';
import { checkPeerSubject, type ExpectedPeer } from './identity';
import { TLS_PROTOCOL_OPTIONS, type NodeCredentials } from './tls-config';

export interface RpcClientOptions {
  /** Present this certificate, and verify servers against its roots. */
  credentials?: NodeCredentials;
  /** Verify servers against these roots without presenting a certificate: a joining node, once it pinned the root. */
  trustRoots?: PemCertificate;
  /** Verify nothing. Only for fetching the root CA, whose digest the caller checks against its join token. */
  insecure?: boolean;
  /**
   * What a server's certificate must name. Defaults to a manager (of the cluster in our own certificate, when we
   * have one). Ignored when `insecure`.
   */
  expect?: ExpectedPeer;
  /** Deadline of a unary call unless the call gives its own; 30 s by default. */
  timeoutMs?: number;
  /** How long a new connection may take to be established; 10 s by default. */
  connectTimeoutMs?: number;
  maxMessageBytes?: number;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A server stream's messages. Iterating ends at the server's end frame and throws the server's error. */
export interface RpcStream<T> extends AsyncIterable<T> {
  /** Ends the call; an iteration in progress throws Canceled. */
  cancel(): void;
}

const deadline = () => new RpcError('DeadlineExceeded', 'context deadline exceeded');
const canceled = () => new RpcError('Canceled', 'context canceled');

/** A transport failure as grpc-go reports one: Unavailable, with the underlying cause. */
function transportError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  const e = err as Error & { cause?: unknown };
  const cause = (e.cause instanceof Error ? e.cause : e) as Error & { code?: unknown };
  const out = new RpcError('Unavailable', `connection error: ${cause.message.trim()}`);
  if (typeof cause.code === 'string') out.causeCode = cause.code;
  return out;
}

export class RpcClient {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private opts: RpcClientOptions;
  private closed = false;

  constructor(opts: RpcClientOptions) {
    const modes = [opts.credentials, opts.trustRoots, opts.insecure || undefined].filter((x) => x !== undefined);
    if (modes.length !== 1) throw new Error('RpcClient needs exactly one of credentials, trustRoots or insecure');
    this.opts = opts;
  }

  /**
   * Uses a renewed certificate (or new roots) from now on. Open connections finish their calls in progress and
   * close; new calls open connections with the new credentials.
   */
  setCredentials(credentials: NodeCredentials): void {
    if (!this.opts.credentials) throw new Error('this client does not use credentials');
    this.opts = { ...this.opts, credentials };
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }

  /** Closes every connection; calls in progress fail. */
  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }

  /** A unary call to the server at `addr` (`host:port`, `[v6]:port`). Rejects with an RpcError. */
  call<Req, Res>(addr: string, service: string, method: string, req: Req, opts: CallOptions = {}): Promise<Res> {
    const maxBytes = this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 30_000;
    return new Promise<Res>((resolve, reject) => {
      let settled = false;
      let stream: http2.ClientHttp2Stream | undefined;
      const finish = (err: RpcError | undefined, value?: Res) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) {
          if (stream && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(err);
        } else resolve(value as Res);
      };
      const onAbort = () => finish(canceled());
      const timer = setTimeout(() => finish(deadline()), timeoutMs);
      if (opts.signal?.aborted) return finish(canceled());
      opts.signal?.addEventListener('abort', onAbort);
      try {
        stream = this.open(addr, service, method);
      } catch (err) {
        return finish(transportError(err));
      }
      stream.on('error', (err) => finish(transportError(err)));
      stream.on('response', (headers) => {
        const status = Number(headers[':status']);
        readBody(stream!, maxBytes).then(
          (body) => {
            let parsed: unknown;
            try {
              parsed = body.length ? JSON.parse(body.toString('utf8')) : undefined;
            } catch {
              return finish(new RpcError('Internal', `malformed response (HTTP ${status})`));
            }
            if (status === 200) finish(undefined, parsed as Res);
            else finish(errorFromWire(parsed, `unexpected HTTP status ${status}`));
          },
          (err) => finish(err instanceof RpcError ? err : transportError(err)),
        );
      });
      stream.end(JSON.stringify(req ?? {}));
    });
  }

  /** A server-streaming call. The request is sent at once; messages arrive as the iteration pulls them. */
  stream<Req, Res>(addr: string, service: string, method: string, req: Req, opts: CallOptions = {}): RpcStream<Res> {
    const maxBytes = this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    let h2: http2.ClientHttp2Stream | undefined;
    let openError: RpcError | undefined;
    let wasCanceled = false;
    try {
      h2 = this.open(addr, service, method);
      h2.on('error', () => undefined);
      h2.end(JSON.stringify(req ?? {}));
    } catch (err) {
      openError = transportError(err);
    }
    const cancel = () => {
      wasCanceled = true;
      if (h2 && !h2.closed) h2.close(http2.constants.NGHTTP2_CANCEL);
    };
    if (opts.signal?.aborted) cancel();
    opts.signal?.addEventListener('abort', cancel, { once: true });

    async function* iterate(): AsyncGenerator<Res> {
      if (openError) throw openError;
      const s = h2!;
      try {
        const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          s.once('response', resolve);
          s.once('error', reject);
          s.once('close', () => reject(canceled()));
        });
        const status = Number(headers[':status']);
        if (status !== 200) {
          const body = await readBody(s, maxBytes);
          let parsed: unknown;
          try {
            parsed = JSON.parse(body.toString('utf8'));
          } catch {
            parsed = undefined;
          }
          throw errorFromWire(parsed, `unexpected HTTP status ${status}`);
        }
        const decoder = new FrameDecoder(maxBytes);
        for await (const chunk of s as AsyncIterable<Buffer>) {
          for (const f of decoder.push(chunk) as Frame[]) {
            if ('msg' in f) yield f.msg as Res;
            else if ('end' in f) return;
            else throw errorFromWire(f.error, 'stream failed');
          }
        }
        throw new RpcError('Unavailable', 'stream closed before its final frame');
      } catch (err) {
        if (wasCanceled) throw canceled();
        throw err instanceof RpcError ? err : transportError(err);
      } finally {
        opts.signal?.removeEventListener('abort', cancel);
        if (!s.closed) s.close(http2.constants.NGHTTP2_CANCEL);
      }
    }
    const it = iterate();
    return { cancel, [Symbol.asyncIterator]: () => it };
  }

  private open(addr: string, service: string, method: string): http2.ClientHttp2Stream {
    if (this.closed) throw new RpcError('Unavailable', 'client is closed');
    return this.session(addr).request({
      ':method': 'POST',
      ':path': `/${service}/${method}`,
      'content-type': JSON_CONTENT_TYPE,
    });
  }

  private session(addr: string): http2.ClientHttp2Session {
    const existing = this.sessions.get(addr);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const s = http2.connect(`https://${addr}`, this.tlsOptions());
    const connectTimer = setTimeout(
      () => s.destroy(new Error('timed out establishing a connection')),
      this.opts.connectTimeoutMs ?? 10_000,
    );
    s.once('connect', () => clearTimeout(connectTimer));
    const forget = () => {
      clearTimeout(connectTimer);
      if (this.sessions.get(addr) === s) this.sessions.delete(addr);
    };
    // Errors reach the calls through their streams.
    s.on('error', forget);
    s.on('goaway', forget);
    s.on('close', forget);
    this.sessions.set(addr, s);
    return s;
  }

  private tlsOptions(): http2.SecureClientSessionOptions {
    const o = this.opts;
    if (o.insecure) return { ...TLS_PROTOCOL_OPTIONS, rejectUnauthorized: false, servername: 'swarm-ca' };
    const expect: ExpectedPeer = o.expect ?? {
      role: MANAGER_ROLE,
      ...(o.credentials ? { clusterId: parseNodeCertificate(o.credentials.certPem).clusterId } : {}),
    };
    const common: tls.ConnectionOptions = {
      ...TLS_PROTOCOL_OPTIONS,
      rejectUnauthorized: true,
      checkServerIdentity: checkPeerSubject(expect),
    };
    if (o.credentials) {
      const c = o.credentials;
      return { ...common, ca: c.rootCertPem, cert: c.certPem, key: c.keyPem, servername: 'swarm-manager' };
    }
    return { ...common, ca: o.trustRoots, servername: 'swarm-ca' };
  }
}
