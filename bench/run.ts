// Benchmarks: CLI round trip, 100-replica scale-up, write throughput on the encrypted log, unlock time.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatNodesBench, nodesBench } from './nodes';
import { formatRaftBench, raftBench } from './raft';
import { caRotationBench, formatCARotationBench } from './ca-rotation';
import { MemoryStore } from '../src/store/memory-store';
import { SingleMemberLog } from '../src/log/single-member-log';
import { DiskLogStorage, type CipherName } from '../src/log/wal/disk-storage';
import { walBench } from './wal';
import { sleep } from './support';
import { unlockBench } from './unlock';
import { dockerBench, formatDockerBench } from './docker';
import { randomBytes } from 'node:crypto';

const ROOT = path.resolve(__dirname, '..');
const RUN = path.join(ROOT, 'bin', 'run.js');

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function time(cmd: string, args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const d = ms(t);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return d;
}

function bench(cmd: string, args: string[]): number[] {
  for (let i = 0; i < 2; i++) time(cmd, args);
  const out: number[] = [];
  for (let i = 0; i < 15; i++) out.push(time(cmd, args));
  return out;
}

function get(sock: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: sock, path: p }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

async function waitUntil(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function cli(_host: string, args: string[]): void {
  const r = spawnSync(process.execPath, [RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`shoal ${args.join(' ')} failed: ${r.stderr.toString()}${r.stdout.toString()}`);
}

async function runningTasks(sock: string): Promise<number> {
  const r = await get(sock, '/v1.51/services?status=true');
  const svcs = JSON.parse(r.body) as { Spec: { Name: string }; ServiceStatus?: { RunningTasks?: number } }[];
  const s = svcs.find((x) => x.Spec.Name === 'b');
  return s?.ServiceStatus?.RunningTasks ?? 0;
}

async function spawn100(): Promise<number> {
  const t = process.hrtime.bigint();
  const kids: ChildProcess[] = [];
  const spawned: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) {
    const c = spawn('sleep', ['600'], { stdio: 'ignore' });
    kids.push(c);
    spawned.push(
      new Promise((resolve, reject) => {
        c.once('spawn', () => resolve());
        c.once('error', reject);
      }),
    );
  }
  await Promise.all(spawned);
  const d = ms(t);
  for (const c of kids) c.kill('SIGKILL');
  return d;
}

function makeObj(i: number) {
  return {
    ID: `svc${i}-${Math.random().toString(36).slice(2)}`,
    Version: {},
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Name: 's' + i, Labels: {}, TaskTemplate: { ForceUpdate: 0 } },
    Endpoint: { Spec: {} },
  };
}

/** A store on the real disk log (fdatasync per batch) in a fresh temporary directory. */
async function freshStore(cipher: CipherName, dirs: string[], open: DiskLogStorage[]): Promise<MemoryStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-store-'));
  dirs.push(dir);
  const store = new MemoryStore();
  const storage = await DiskLogStorage.open(dir, { deks: [randomBytes(32)], cipher });
  open.push(storage);
  const log = await SingleMemberLog.open(store, { storage });
  store.attach(log);
  return store;
}

/**
 * Committed store writes (a service object each, as `service create` makes) per second, with
 * `writers` concurrent writers sharing `total` writes on a fresh store.
 */
async function storeBench(cipher: CipherName, writers: number, total: number): Promise<number> {
  const dirs: string[] = [];
  const open: DiskLogStorage[] = [];
  try {
    const store = await freshStore(cipher, dirs, open);
    let next = 0;
    const t = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = next++; i < total; i = next++) {
          await store.update((tx) => tx.create('services', makeObj(i) as never));
        }
      }),
    );
    return total / (ms(t) / 1000);
  } finally {
    for (const st of open) await st.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(w[i]))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-'));
  const sock = path.join(dir, 'shoal.sock');
  const host = `unix://${sock}`;
  let daemon: ChildProcess | undefined;
  let daemonErr = '';
  const killDaemon = () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  };
  process.on('exit', killDaemon);
  try {
    daemon = spawn(
      process.execPath,
      [RUN, 'daemon', '--data-root', path.join(dir, 'data'), '--host', host, '--executor', 'process'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    daemon.stderr?.on('data', (c) => (daemonErr += c));
    await waitUntil(async () => (await get(sock, '/_ping')).status > 0, 30000, 'daemon');
    cli(host, ['swarm', 'init', '-H', host, '--listen-addr', '127.0.0.1:0']); // no node joins: any free port

    // (a)
    const shoal = bench(process.execPath, [RUN, 'node', 'ls', '-H', host]);
    const bare = bench(process.execPath, ['-e', '0']);

    // (b)
    let t = process.hrtime.bigint();
    cli(host, ['service', 'create', '-H', host, '--replicas', '100', '-d', '--name', 'b', 'busybox', 'sleep', '600']);
    await waitUntil(async () => (await runningTasks(sock)) >= 100, 120000, '100/100 running');
    const scale = ms(t);
    const spawnMs = await spawn100();
    cli(host, ['service', 'rm', '-H', host, 'b']);
    t = process.hrtime.bigint();
    await waitUntil(
      async () => {
        const r = await get(sock, '/v1.51/tasks');
        return (JSON.parse(r.body) as unknown[]).length === 0;
      },
      60000,
      'tasks removed',
    );
    const rmMs = ms(t);

    // (c) the two modes alternate, five rounds each, and the medians count: this machine's fsync
    // latency drifts, and alternating keeps the drift out of the comparison.
    const rounds = { enc1: [] as number[], plain1: [] as number[], enc64: [] as number[], plain64: [] as number[] };
    for (let i = 0; i < 5; i++) {
      rounds.plain1.push(await storeBench('none', 1, 5000));
      rounds.enc1.push(await storeBench('aes-256-gcm', 1, 5000));
      rounds.plain64.push(await storeBench('none', 64, 20000));
      rounds.enc64.push(await storeBench('aes-256-gcm', 64, 20000));
    }
    const w = { seq: pct(rounds.enc1, 50), conc: pct(rounds.enc64, 50) };
    const p = { seq: pct(rounds.plain1, 50), conc: pct(rounds.plain64, 50) };
    const wal = await walBench({ print: false });
    const walFig = (cipher: CipherName, writers: number) =>
      wal.find((x) => x.cipher === cipher && x.writers === writers)?.writesPerSec ?? NaN;

    // (d)
    const unlock = await unlockBench();

    const cost = (withEnc: number, without: number) =>
      `encryption costs ${(((without - withEnc) / without) * 100).toFixed(1)}%`;
    const cpus = os.cpus();
    const f = (n: number) => n.toFixed(1);
    console.log(
      `machine: ${cpus[0]?.model ?? '?'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}\n`,
    );
    const medS = pct(shoal, 50);
    const medB = pct(bare, 50);
    console.log(
      table([
        ['benchmark', 'shoal', 'baseline', 'ratio'],
        ['(a) node ls median ms (vs node -e 0)', f(medS), f(medB), `${(medS / medB).toFixed(2)}x (target <= 2x)`],
        ['(a) node ls p90 ms (vs node -e 0)', f(pct(shoal, 90)), f(pct(bare, 90)), ''],
        [
          '(b) 100 replicas -> running, ms (vs spawn 100 sleep)',
          f(scale),
          f(spawnMs),
          `${(scale / spawnMs).toFixed(1)}x`,
        ],
        ['(b) service rm -> tasks gone, ms', f(rmMs), '', ''],
        [
          '(c) store writes/s on the encrypted log, 1 writer (vs no encryption)',
          w.seq.toFixed(0),
          p.seq.toFixed(0),
          cost(w.seq, p.seq),
        ],
        [
          '(c) store writes/s on the encrypted log, 64 writers (vs no encryption)',
          w.conc.toFixed(0),
          p.conc.toFixed(0),
          cost(w.conc, p.conc),
        ],
        [
          '(c) raw log appends/s, 1 writer (vs no encryption)',
          walFig('aes-256-gcm', 1).toFixed(0),
          walFig('none', 1).toFixed(0),
          cost(walFig('aes-256-gcm', 1), walFig('none', 1)),
        ],
        [
          '(c) raw log appends/s, 64 writers (vs no encryption)',
          walFig('aes-256-gcm', 64).toFixed(0),
          walFig('none', 64).toFixed(0),
          cost(walFig('aes-256-gcm', 64), walFig('none', 64)),
        ],
        [`(d) swarm unlock -> serving, ms (log of ${unlock.entries} entries)`, f(unlock.serveMs), '', ''],
        ['(d) swarm unlock -> 10/10 tasks running, ms', f(unlock.tasksMs), '', ''],
      ]),
    );
    // (e) real containers: shoal's Docker executor against Docker Swarm on the same engine build.
    const docker = await dockerBench({ print: false });
    console.log('\n(e) containers, shoal (Docker executor) vs Docker Swarm, each on its own dockerd:');
    console.log('skipped' in docker ? `skipped: ${docker.skipped}` : formatDockerBench(docker));
    // (f) one manager, 1,000 simulated workers over real mutual-TLS sessions, a 10,000-replica service.
    console.log('\n(f) one manager and 1,000 workers (simulated agents over real mutual TLS):');
    console.log(formatNodesBench(await nodesBench()));
    // (g) three managers agreeing through Raft over mutual TLS, with fsync and the encrypted log.
    console.log('\n(g) Raft among three managers:');
    console.log(formatRaftBench(await raftBench()));
    // (h) a root CA rotation with 50 simulated workers.
    console.log('\n(h) root CA rotation, 50 simulated workers:');
    console.log(formatCARotationBench(await caRotationBench()));
    console.log(
      '\n(a) 15 runs after 2 warm-ups. (c) medians of 5 alternating runs (5,000 writes with 1 writer, 20,000 with 64), real fdatasync per group commit; "no encryption" is a bench-only mode of the same log.',
    );
  } catch (e) {
    if (daemonErr) console.error('daemon stderr:\n' + daemonErr.slice(-4000));
    throw e;
  } finally {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      const d = daemon;
      d.kill('SIGTERM');
      await Promise.race([new Promise((r) => d.once('exit', r)), sleep(5000)]);
    }
    killDaemon();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
