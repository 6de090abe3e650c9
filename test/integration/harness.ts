// Starts a real shoal daemon in a temporary folder and runs the real clients against it:
// the shoal CLI (bin/run.js), the docker CLI (DOCKER_HOST) and dockerode.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { freePort } from '../support/ports';
import type { Task } from '../../src/types/swarm';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestDaemon {
  readonly dir = mkdtempSync(join(tmpdir(), 'shoal-it-'));
  readonly dataRoot = join(this.dir, 'data');
  readonly socket = join(this.dir, 'shoal.sock');
  private proc?: ChildProcess;
  log = '';

  /**
   * Extra `shoal daemon` arguments (e.g. `--executor docker`), used by every start, extra environment (e.g. a
   * debug-only setting), and a command the daemon runs under (e.g. `ip netns exec <ns>`, which execs node, so
   * that the pid and the signals are still the daemon's).
   */
  constructor(
    readonly extraArgs: string[] = [],
    readonly env: Record<string, string> = {},
    readonly prefix: string[] = [],
  ) {}

  /**
   * The port this daemon's `swarm init` listens on for other nodes when a test does not choose one: several
   * daemons run at once here, and Docker (and shoal) refuse an init whose port (2377 by default) is taken.
   */
  nodePort = 0;

  async start(): Promise<void> {
    this.log = '';
    if (!this.nodePort) this.nodePort = await freePort();
    const [cmd, ...pre] = [...this.prefix, process.execPath];
    this.proc = spawn(
      cmd,
      [
        ...pre,
        BIN,
        'daemon',
        '--data-root',
        this.dataRoot,
        '--host',
        `unix://${this.socket}`,
        // The default (auto) would pick a Docker Engine where one runs; these tests mean processes.
        ...(this.extraArgs.includes('--executor') ? [] : ['--executor', 'process']),
        ...this.extraArgs,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...this.env },
      },
    );
    this.proc.stdout!.on('data', (d) => (this.log += d));
    this.proc.stderr!.on('data', (d) => (this.log += d));
    const proc = this.proc;
    for (let i = 0; i < 100; i++) {
      if ((await this.api('GET', '/_ping').catch(() => undefined))?.status === 200) return;
      if (proc.exitCode !== null) throw new Error(`daemon exited with code ${proc.exitCode}:\n${this.log}`);
      await sleep(100);
    }
    throw new Error(`daemon did not start:\n${this.log}`);
  }

  /** Stops the daemon (SIGTERM) and deletes its data root. */
  async stop(): Promise<number | null> {
    const code = await this.halt('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
    return code;
  }

  /** Stops the daemon with `signal` (SIGKILL for a crash) and keeps its data root, for a restart with start(). */
  async halt(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    p.kill(signal);
    return exited;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get alive(): boolean {
    return !!this.proc && this.proc.exitCode === null;
  }

  /** `swarm init` without --listen-addr gets this daemon's own port. */
  private withListenAddr(args: string[]): string[] {
    if (args[0] !== 'swarm' || args[1] !== 'init' || args.some((a) => a.startsWith('--listen-addr'))) return args;
    return [...args, '--listen-addr', `127.0.0.1:${this.nodePort}`];
  }

  shoal(args: string[], input?: string): RunResult {
    args = this.withListenAddr(args);
    const r = spawnSync(process.execPath, [BIN, ...args], {
      env: { ...process.env, SHOAL_HOST: `unix://${this.socket}` },
      input,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  docker(args: string[], input?: string): RunResult {
    args = this.withListenAddr(args);
    const r = spawnSync('docker', args, {
      env: { ...process.env, DOCKER_HOST: `unix://${this.socket}`, DOCKER_CONFIG: this.dir },
      input,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** A raw request, for what no client sends (bad bodies, wrong types). */
  api(
    method: string,
    path: string,
    body?: string | object,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socket,
          // No pooled keep-alive socket: while spawnSync blocks this process the daemon closes idle
          // sockets, and reusing one that the loop never saw close fails with EPIPE.
          agent: false,
          method,
          path,
          headers: data !== undefined ? { 'Content-Type': 'application/json', ...headers } : headers,
        },
        (res) => {
          let out = '';
          res.on('data', (d) => (out += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: out }));
        },
      );
      req.on('error', reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  }

  async json<T>(method: string, path: string, body?: object): Promise<T> {
    const r = await this.api(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as T;
  }

  /** The tasks of one service, by name or ID (`GET /tasks?filters={"service":[name]}`). */
  serviceTasks(name: string): Promise<Task[]> {
    return this.json<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [name] }))}`);
  }
}

/** `swarm join` of `d` as a manager (with the manager `token`) through `via`, listening and advertising at `addr`. */
export function joinAsManager(d: TestDaemon, token: string, addr: string, via: string): RunResult {
  return d.shoal(['swarm', 'join', '--token', token, '--advertise-addr', addr, '--listen-addr', addr, via]);
}

/** A swarm of managers: `swarm init` on the first at `addrs[0]`, then each other joins as a manager at its own. */
export function formManagers(managers: TestDaemon[], addrs: string[]): void {
  const check = (d: TestDaemon, what: string, r: RunResult) => {
    if (r.code !== 0) throw new Error(`${what}: ${r.stderr}\n${d.log}`);
  };
  const [first, ...rest] = managers;
  check(first, 'swarm init', first.shoal(['swarm', 'init', '--advertise-addr', addrs[0], '--listen-addr', addrs[0]]));
  const token = first.shoal(['swarm', 'join-token', '-q', 'manager']).stdout.trim();
  rest.forEach((d, i) => check(d, 'swarm join', joinAsManager(d, token, addrs[i + 1], addrs[0])));
}

/** A daemon that manages a swarm of its own (`swarm init`) for the tests of one file, stopped after them. */
export function swarmOfOne(): TestDaemon {
  const d = new TestDaemon();
  before(async () => {
    await d.start();
    const init = d.shoal(['swarm', 'init']);
    if (init.code !== 0) throw new Error(`swarm init: ${init.stderr}`);
  });
  after(() => d.stop());
  return d;
}

export { freePort };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until fn returns a truthy value, or fails after `ms`. */
export async function eventually<T>(fn: () => Promise<T> | T, ms = 20_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
