// A node's RPC server: HTTP/2 over TLS, `POST /<Service>/<Method>`, unary JSON calls and server-streaming
// calls in newline-delimited JSON frames (see framing.ts). The same port serves the CA's insecure methods to
// nodes without a certificate and everything else to verified peers, as a swarmkit manager's port does.
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type * as tls from 'node:tls';
import { RpcError, httpStatusFor, toRpcError } from './errors';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  JSON_CONTENT_TYPE,
  STREAM_CONTENT_TYPE,
  encodeFrame,
  parseJsonBody,
  readBody,
} from './framing';
import { peerAuthAt, peerAuthFromSocket, type PeerAuth, type PeerIdentity } from './identity';
import { serverContextOptions, type NodeCredentials } from './tls-config';

/** What a handler knows about its call. */
export interface CallContext {
  service: string;
  method: string;
  /**
   * The caller's identity from its verified certificate, once the authorizer accepted it. For a method that needs
   * no certificate it is set only if the caller presented a verified one and the authorizer returned it.
   */
  peer: PeerIdentity | undefined;
  /** What TLS established about the caller, as of this call. */
  auth: PeerAuth;
  /** The caller's IP address as the socket sees it. */
  remoteAddress: string;
  /** Aborted when the caller goes away or the server closes. */
  signal: AbortSignal;
}

export type UnaryHandler<Req = unknown, Res = unknown> = (req: Req, ctx: CallContext) => Res | Promise<Res>;

export interface StreamSink<T> {
  /** Sends one message; waits while the peer is not reading. Rejects with Canceled once the call is gone. */
  send(msg: T): Promise<void>;
}

/** Sends messages until it returns (the stream ends cleanly) or throws (the stream ends with that error). */
export type ServerStreamHandler<Req = unknown, Res = unknown> = (
  req: Req,
  sink: StreamSink<Res>,
  ctx: CallContext,
) => Promise<void>;

export interface AuthorizeRequest {
  service: string;
  method: string;
  auth: PeerAuth;
}

/**
 * Decides whether a call may proceed: returns the caller's identity (undefined for an anonymous caller of an
 * insecure method) or throws an RpcError. Called for every call, before the body is read.
 */
export type Authorizer = (req: AuthorizeRequest) => PeerIdentity | undefined;

export interface RpcServerOptions {
  credentials: NodeCredentials;
  authorize: Authorizer;
  /** The clock certificate validity is judged by; for tests. */
  now?: () => Date;
  maxMessageBytes?: number;
}

type Route =
  | { kind: 'unary'; handler: UnaryHandler<never, unknown> }
  | { kind: 'stream'; handler: ServerStreamHandler<never, unknown> };

const PATH = /^\/([A-Za-z][\w.]*)\/([A-Za-z]\w*)$/;

export class RpcServer {
  private readonly server: http2.Http2SecureServer;
  private readonly routes = new Map<string, Route>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly calls = new Set<AbortController>();
  /** Bumped whenever the credentials change, so that cached peer checks are redone against the new roots. */
  private generation = 0;
  private readonly peerCache = new WeakMap<http2.ServerHttp2Session, { generation: number; auth: PeerAuth }>();
  private credentials: NodeCredentials;
  private readonly now: () => Date;
  private readonly maxMessageBytes: number;

  constructor(private readonly opts: RpcServerOptions) {
    this.credentials = opts.credentials;
    this.now = opts.now ?? (() => new Date());
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.server = http2.createSecureServer({
      ...serverContextOptions(opts.credentials),
      requestCert: true,
      // Anonymous callers reach the CA's insecure methods; every other method checks the verified peer itself.
      rejectUnauthorized: false,
      allowHTTP1: false,
    });
    this.server.on('session', (s) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => undefined);
    });
    this.server.on('stream', (stream, headers) => void this.dispatch(stream, headers));
    // A handshake that fails (old protocol, no shared cipher) concerns only that client.
    this.server.on('tlsClientError', () => undefined);
  }

  unary<Req, Res>(service: string, method: string, handler: UnaryHandler<Req, Res>): this {
    return this.add(service, method, { kind: 'unary', handler: handler as UnaryHandler<never, unknown> });
  }

  serverStream<Req, Res>(service: string, method: string, handler: ServerStreamHandler<Req, Res>): this {
    return this.add(service, method, { kind: 'stream', handler: handler as ServerStreamHandler<never, unknown> });
  }

  private add(service: string, method: string, route: Route): this {
    const key = `/${service}/${method}`;
    if (!PATH.test(key)) throw new Error(`invalid RPC name ${service}/${method}`);
    if (this.routes.has(key)) throw new Error(`${service}/${method} is already registered`);
    this.routes.set(key, route);
    return this;
  }

  listen(port = 0, host = '0.0.0.0'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Open connections (one HTTP/2 session each). */
  get connections(): number {
    return this.sessions.size;
  }

  address(): AddressInfo | undefined {
    return (this.server.address() as AddressInfo | null) ?? undefined;
  }

  /**
   * Serves new connections with new credentials: a renewed certificate, or new roots during a CA rotation.
   * Connections already open keep their handshake, but their callers are checked against the new roots.
   */
  setCredentials(credentials: NodeCredentials): void {
    this.server.setSecureContext(serverContextOptions(credentials));
    this.credentials = credentials;
    this.generation++;
  }

  /** Stops listening, ends every call in progress and closes every connection. */
  async close(): Promise<void> {
    for (const c of this.calls) c.abort();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions) s.destroy();
    await closed;
  }

  private peerAuth(session: http2.ServerHttp2Session): PeerAuth {
    const cached = this.peerCache.get(session);
    let auth: PeerAuth;
    if (cached && cached.generation === this.generation) auth = cached.auth;
    else {
      auth = peerAuthFromSocket(session.socket as tls.TLSSocket, this.credentials.rootCertPem, this.now());
      this.peerCache.set(session, { generation: this.generation, auth });
    }
    return peerAuthAt(auth, this.now());
  }

  private async dispatch(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Promise<void> {
    stream.on('error', () => undefined);
    const ac = new AbortController();
    this.calls.add(ac);
    stream.on('close', () => {
      ac.abort();
      this.calls.delete(ac);
    });
    const path = String(headers[':path'] ?? '');
    let streaming = false;
    try {
      if (headers[':method'] !== 'POST')
        throw new RpcError('Unimplemented', `unsupported method ${headers[':method']}`);
      const m = PATH.exec(path);
      if (!m) throw new RpcError('Unimplemented', `malformed method name: ${JSON.stringify(path)}`);
      const [, service, method] = m;
      const route = this.routes.get(path);
      if (!route) throw new RpcError('Unimplemented', `unknown method ${method} for service ${service}`);
      const auth = this.peerAuth(stream.session as http2.ServerHttp2Session);
      const peer = this.opts.authorize({ service, method, auth });
      const body = await readBody(stream, this.maxMessageBytes);
      const req = parseJsonBody(body) as never;
      const ctx: CallContext = {
        service,
        method,
        peer,
        auth,
        // An IPv4 caller on a dual-stack socket shows as ::ffff:a.b.c.d.
        remoteAddress: (stream.session?.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, ''),
        signal: ac.signal,
      };
      if (route.kind === 'unary') {
        const res = await route.handler(req, ctx);
        if (stream.destroyed) return;
        stream.respond({ ':status': 200, 'content-type': JSON_CONTENT_TYPE });
        stream.end(JSON.stringify(res ?? {}));
        return;
      }
      stream.respond({ ':status': 200, 'content-type': STREAM_CONTENT_TYPE });
      streaming = true;
      await route.handler(req, this.sink(stream, ac.signal), ctx);
      if (!stream.destroyed) stream.end(encodeFrame({ end: true }));
    } catch (err) {
      if (stream.destroyed || stream.closed) return;
      // Whatever of the request is left unread is discarded, so the stream can finish.
      stream.resume();
      const e = toRpcError(err);
      if (streaming) {
        stream.end(encodeFrame({ error: e.toJSON() }));
      } else if (!stream.headersSent) {
        stream.respond({ ':status': httpStatusFor(e.code), 'content-type': JSON_CONTENT_TYPE });
        stream.end(JSON.stringify(e.toJSON()));
      } else {
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    }
  }

  private sink<T>(stream: http2.ServerHttp2Stream, signal: AbortSignal): StreamSink<T> {
    const canceled = () => new RpcError('Canceled', 'context canceled');
    return {
      send: async (msg: T) => {
        if (signal.aborted || stream.destroyed) throw canceled();
        if (stream.write(encodeFrame({ msg }))) return;
        await new Promise<void>((resolve, reject) => {
          const done = () => {
            stream.off('drain', done);
            signal.removeEventListener('abort', done);
            if (signal.aborted) reject(canceled());
            else resolve();
          };
          stream.on('drain', done);
          signal.addEventListener('abort', done);
        });
      },
    };
  }
}
