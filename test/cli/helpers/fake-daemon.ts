// A stand-in daemon for CLI tests: a node:http server on a temporary Unix socket that records
// every request and answers from a route table, the way moby would (JSON bodies, {"message"}
// errors with Content-Type exactly application/json).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedRequest {
  method: string;
  /** Path without the /v1.xx prefix and without the query. */
  path: string;
  rawUrl: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  json?: unknown;
}

export interface Reply {
  status?: number;
  body?: unknown;
  /** Send `body` as is (a string) with this content type. */
  contentType?: string;
  headers?: Record<string, string>;
}

export type Handler = (req: RecordedRequest) => Reply | Promise<Reply>;

export class FakeDaemon {
  readonly requests: RecordedRequest[] = [];
  private readonly routes: { method: string; pattern: RegExp; handler: Handler }[] = [];
  private server?: Server;
  private dir?: string;
  socketPath = '';

  /** Registers a handler; `path` may contain `*` for one path segment. Later registrations win. */
  on(method: string, path: string, handler: Handler | Reply): this {
    const pattern = new RegExp('^' + path.replace(/[.?+^$()[\]{}|\\]/g, '\\$&').replace(/\*/g, '[^/]+') + '$');
    this.routes.unshift({ method, pattern, handler: typeof handler === 'function' ? handler : () => handler });
    return this;
  }

  get host(): string {
    return `unix://${this.socketPath}`;
  }

  /** Requests other than the given methods+paths, in order, as "METHOD path?query". */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.rawUrl}`);
  }

  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'shoal-fake-'));
    this.socketPath = join(this.dir, 'd.sock');
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.socketPath, resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/v[0-9.]+/, '');
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path,
      rawUrl: req.url ?? '',
      query: url.searchParams,
      headers: req.headers,
      body,
      json: body && req.headers['content-type'] === 'application/json' ? JSON.parse(body) : undefined,
    };
    this.requests.push(rec);
    const route = this.routes.find((r) => r.method === rec.method && r.pattern.test(path));
    const reply: Reply = route ? await route.handler(rec) : { status: 404, body: { message: 'page not found' } };
    const status = reply.status ?? 200;
    const headers: Record<string, string> = { 'Api-Version': '1.51', ...reply.headers };
    if (reply.body === undefined) {
      res.writeHead(status, headers);
      res.end();
    } else if (reply.contentType) {
      res.writeHead(status, { ...headers, 'Content-Type': reply.contentType });
      res.end(String(reply.body));
    } else {
      res.writeHead(status, { ...headers, 'Content-Type': 'application/json' });
      res.end(JSON.stringify(reply.body) + '\n');
    }
  }
}
