// Small helpers the benchmarks share: a daemon to measure, and JSON over its Unix socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export { freePort } from '../test/support/ports';

const RUN = path.resolve(__dirname, '..', 'bin', 'run.js');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request to the daemon at `sock`, answered with its JSON (or text, e.g. _ping's OK); 300 and over reject. */
export function api<T>(sock: string, method: string, p: string, body?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { socketPath: sock, agent: false, method, path: p, headers: data ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        let out = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (out += c));
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 300) return reject(new Error(`${method} ${p}: ${res.statusCode} ${out}`));
          let v: unknown = out;
          try {
            v = out ? JSON.parse(out) : undefined;
          } catch {
            // _ping answers OK, not JSON.
          }
          resolve(v as T);
        });
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

export interface BenchDaemon {
  proc: ChildProcess;
  /** Its API socket. */
  sock: string;
  /** Stops it (SIGTERM, 10 s at the most) and deletes its folder. */
  stop(): Promise<void>;
}

/** A shoal daemon (process executor) in a fresh temporary folder, once it answers /_ping. */
export async function startDaemon(prefix: string): Promise<BenchDaemon> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const sock = path.join(dir, 'shoal.sock');
  const proc = spawn(
    process.execPath,
    [RUN, 'daemon', '--data-root', path.join(dir, 'data'), '--host', `unix://${sock}`, '--executor', 'process'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr!.on('data', (d) => (log = (log + String(d)).slice(-4000)));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    if (
      await api(sock, 'GET', '/_ping').then(
        () => true,
        () => false,
      )
    )
      return { proc, sock, stop };
    if (i > 100 || proc.exitCode !== null) {
      await stop();
      throw new Error(`the daemon did not start: ${log}`);
    }
    await sleep(100);
  }
}
