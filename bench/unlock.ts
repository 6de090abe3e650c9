// Time from `swarm unlock` to the manager serving (its log replayed, the API answering) and to
// its tasks running again, on a locked manager restarted with a service of 10 replicas (restart
// delay 0) and a log of a few thousand entries.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

const RUN = path.resolve(__dirname, '..', 'bin', 'run.js');

function request(sock: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { socketPath: sock, method, path: p, headers: data ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        let out = '';
        res.on('data', (c) => (out += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: out }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

async function until(fn: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function startDaemon(dataRoot: string, sock: string): ChildProcess {
  return spawn(
    process.execPath,
    [RUN, 'daemon', '--data-root', dataRoot, '--host', `unix://${sock}`, '--executor', 'process'],
    {
      stdio: 'ignore',
    },
  );
}

export interface UnlockFigures {
  /** Log entries replayed at unlock. */
  entries: number;
  serveMs: number;
  tasksMs: number;
}

export async function unlockBench(): Promise<UnlockFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-unlock-'));
  const sock = path.join(dir, 's.sock');
  const dataRoot = path.join(dir, 'data');
  let d = startDaemon(dataRoot, sock);
  try {
    await until(async () => (await request(sock, 'GET', '/_ping')).status === 200, 'daemon');
    const init = spawnSync(process.execPath, [
      RUN,
      'swarm',
      'init',
      '--autolock',
      '--listen-addr',
      '127.0.0.1:0',
      '-H',
      `unix://${sock}`,
    ]);
    if (init.status !== 0) throw new Error(init.stderr.toString());
    const key = (JSON.parse((await request(sock, 'GET', '/swarm/unlockkey')).body) as { UnlockKey: string }).UnlockKey;
    // A log with some history: 2,000 small services (no tasks), then one service of 10 replicas.
    const entries = 2000;
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = w; i < entries; i += 16)
          await request(sock, 'POST', '/services/create', {
            Name: `s${i}`,
            TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['true'] } },
            Mode: { Replicated: { Replicas: 0 } },
          });
      }),
    );
    await request(sock, 'POST', '/services/create', {
      Name: 'web',
      // No restart delay: the figure is shoal's own work, not the policy's 5 s default wait.
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox', Command: ['sleep', '600'] },
        RestartPolicy: { Condition: 'any', Delay: 0 },
      },
      Mode: { Replicated: { Replicas: 10 } },
    });
    const running = async () => {
      const r = await request(sock, 'GET', '/services?status=true');
      const s = (JSON.parse(r.body) as { Spec: { Name: string }; ServiceStatus?: { RunningTasks: number } }[]).find(
        (x) => x.Spec.Name === 'web',
      );
      return (s?.ServiceStatus?.RunningTasks ?? 0) >= 10;
    };
    await until(running, '10 running');
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
    d = startDaemon(dataRoot, sock);
    await until(async () => (await request(sock, 'GET', '/_ping')).status === 200, 'locked daemon');

    const t0 = process.hrtime.bigint();
    const u = await request(sock, 'POST', '/swarm/unlock', { UnlockKey: key });
    if (u.status !== 200) throw new Error(`unlock: ${u.status} ${u.body}`);
    await until(async () => (await request(sock, 'GET', '/nodes')).status === 200, 'serving');
    const serveMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await until(running, '10 running after unlock');
    const tasksMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return { entries, serveMs, tasksMs };
  } finally {
    if (d.exitCode === null && d.signalCode === null) {
      d.kill('SIGTERM');
      await Promise.race([new Promise((r) => d.once('exit', r)), sleep(5000)]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
