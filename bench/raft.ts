// Raft among three managers (issue 5): committed store writes per second and p50/p99 commit latency on a
// 3-manager cluster on loopback, with fsync and the encrypted log, for one client and for 64 concurrent clients.
//
// Each member runs in its own child process, as three daemons would: a RaftLog on a real DiskLogStorage
// (AES-256-GCM, fdatasync per batch) in a temporary directory, a MemoryStore attached to it as state machine, and
// the real node-to-node transport (RpcServer with clusterAuthorizer and the Raft service, PeerTransport over an
// RpcClient: HTTP/2, mutual TLS with manager certificates from a fresh root CA) on 127.0.0.1. Member 1 bootstraps
// the swarm, then members 2 and 3 are added by membership changes. A write is a store transaction on a service
// object as `service create` makes: by default an update of the client's own service (see WriteKind); clients run
// in the leader's process (and, for one more figure, in a
// follower's, whose proposals are forwarded to the leader). Each figure is measured for a fixed time after a
// warm-up; a write's latency is from store.update() to its return (committed and applied on that member).
//
// Beside them: the single-member encrypted log (SingleMemberLog, one process, as bench/run.ts's storeBench) with the
// same clients, so that the cost of replication shows, and etcd's published figures.
//
// raftBench() is called by bench/run.ts; `node --import tsx bench/raft.ts` runs it alone. Settings:
// SHOAL_BENCH_RAFT_SECONDS (per figure, default 5), SHOAL_BENCH_RAFT_TICK_MS (default 1000, Docker's),
// SHOAL_BENCH_RAFT_PROF=dir (a --cpu-prof of the leader's process into dir), SHOAL_BENCH_RAFT_WRITE=create (each
// write creates a service instead of updating the client's own: see WriteKind).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { createNodeKeyAndCSR, createRootCA, issueNodeCertificate } from '../src/ca';
import { SingleMemberLog } from '../src/log/single-member-log';
import { DiskLogStorage } from '../src/log/wal/disk-storage';
import { clusterAuthorizer } from '../src/manager/authz';
import { DEFAULT_TIMING, RaftLog, type RaftTiming } from '../src/manager/raft/raft-log';
import { PeerTransport, registerRaftService } from '../src/manager/raft/transport';
import { MemoryStore } from '../src/store/memory-store';
import { RpcClient } from '../src/transport/client';
import { RpcServer } from '../src/transport/server';
import type { NodeCredentials } from '../src/transport/tls-config';
import { freePort, sleep } from './support';

const SELF = __filename;

/** One figure: writes committed in a fixed time by `clients` concurrent clients, and their latencies. */
export interface WriteFigure {
  clients: number;
  writes: number;
  seconds: number;
  writesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Writes that failed (none expected), and the first failure's message. */
  errors: number;
  firstError?: string;
}

export interface RaftBenchResult {
  tick: RaftTiming;
  kind: WriteKind;
  secondsPerFigure: number;
  /** Three members, clients on the leader. */
  leader1: WriteFigure;
  leader64: WriteFigure;
  /** Three members, 64 clients on a follower (proposals forwarded to the leader). */
  follower64: WriteFigure;
  /** One member (SingleMemberLog), same disk log, in one process. */
  single1: WriteFigure;
  single64: WriteFigure;
  /** CPU of each member's process (% of one core) during the 64-client run on the leader: leader first. */
  cpuPct64: number[];
  /** Entries per fdatasync on the leader during the 64-client run. */
  leaderEntriesPerSync64: number;
  /** Load average (1 min) before and after. */
  loadBefore: number;
  loadAfter: number;
  cores: number;
}

/** etcd's published figures (op-guide/performance: 3 members, 8 vCPUs, SSDs, writes of 256-byte values). */
export const ETCD_PUBLISHED = { oneClientWritesPerSec: 583, manyClientsWritesPerSec: 44341, manyClients: 1000 };

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A service object, as `service create` makes (and as bench/run.ts's storeBench writes). */
function makeService(run: string, i: number) {
  return {
    ID: `svc${i}-${randomBytes(8).toString('hex')}`,
    Version: {},
    CreatedAt: '',
    UpdatedAt: '',
    // Names are unique in the store: each run of clients has its own.
    Spec: { Name: `s${run}-${i}`, Labels: {}, TaskTemplate: { ForceUpdate: 0 } },
    Endpoint: { Spec: {} },
  };
}

/**
 * What one write is. 'update': each client created a service of its own beforehand (not counted) and each write
 * updates it (a label changes; the version is checked), so the store keeps its size. 'create': each write creates
 * a new service, so the store grows through the run, and the store's check that a service name is free (a scan of
 * every service) grows with it.
 */
export type WriteKind = 'update' | 'create';

/**
 * `clients` concurrent clients writing for `warmupMs` (not counted), then for `ms`: each write's latency counted
 * if it started within the measured window; writes/s = completed writes started in the window / the window.
 */
async function drive(
  store: MemoryStore,
  kind: WriteKind,
  clients: number,
  warmupMs: number,
  ms: number,
): Promise<WriteFigure> {
  const lat: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let n = 0;
  const run = randomBytes(4).toString('hex');
  const own: string[] = [];
  if (kind === 'update') {
    for (let c = 0; c < clients; c++) {
      const svc = makeService(run, n++);
      await store.update((tx) => tx.create('services', svc as never));
      own.push(svc.ID);
    }
  }
  const write = (c: number) =>
    kind === 'create'
      ? store.update((tx) => tx.create('services', makeService(run, n++) as never))
      : store.update((tx) => {
          const svc = tx.get('services', own[c])!;
          svc.Spec.Labels = { ...svc.Spec.Labels, n: String(n++) };
          tx.update('services', svc);
        });
  const t0 = performance.now();
  const from = t0 + warmupMs;
  const until = from + ms;
  let lastEnd = from;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (;;) {
        const start = performance.now();
        if (start >= until) return;
        try {
          await write(c);
          const end = performance.now();
          if (start >= from) {
            lat.push(end - start);
            lastEnd = Math.max(lastEnd, end);
          }
        } catch (err) {
          if (start >= from) errors++;
          firstError ??= (err as Error).message;
        }
      }
    }),
  );
  // The window is from `from` until the last counted write completed (a little past `until`).
  const seconds = (Math.max(lastEnd, until) - from) / 1000;
  lat.sort((a, b) => a - b);
  return {
    clients,
    writes: lat.length,
    seconds,
    writesPerSec: lat.length / seconds,
    p50Ms: pct(lat, 50),
    p99Ms: pct(lat, 99),
    errors,
    firstError,
  };
}

// ---- a member: one child process ----

interface MemberConfig {
  id: string;
  port: number;
  dir: string;
  bootstrap: boolean;
  credentials: NodeCredentials;
  clusterId: string;
  peers: { id: string; addr: string }[];
  timing: RaftTiming;
}

type Command =
  | { op: 'start' }
  | { op: 'status' }
  | { op: 'add'; nodeId: string }
  | { op: 'drive'; kind: WriteKind; clients: number; warmupMs: number; ms: number }
  | { op: 'cpu' }
  | { op: 'syncs' }
  | { op: 'quit' };

async function memberMain(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  const cfg = JSON.parse(first.value as string) as MemberConfig;
  const storage = await DiskLogStorage.open(cfg.dir, { deks: [randomBytes(32)], cipher: 'aes-256-gcm' });
  // Count the durable appends (one fdatasync each) and the entries they carry.
  const syncs = { appends: 0, entries: 0 };
  const append = storage.append.bind(storage);
  storage.append = (entries, hs) => {
    syncs.appends++;
    syncs.entries += entries.length;
    return append(entries, hs);
  };
  const store = new MemoryStore();
  const log = await RaftLog.open(store, { id: cfg.id, storage, timing: cfg.timing, bootstrap: cfg.bootstrap });
  store.attach(log);
  const selfAddr = `127.0.0.1:${cfg.port}`;
  const client = new RpcClient({ credentials: cfg.credentials });
  const transport = new PeerTransport(client, selfAddr);
  for (const p of cfg.peers) transport.setAddr(p.id, p.addr);
  let started = false;
  const server = new RpcServer({
    credentials: cfg.credentials,
    authorize: clusterAuthorizer({ clusterId: cfg.clusterId, isRemoved: () => false }),
  });
  registerRaftService(
    server,
    () => (started ? log : undefined),
    transport,
    () => false,
  );
  await server.listen(cfg.port, '127.0.0.1');
  let cpuMark = { usage: process.cpuUsage(), at: performance.now() };
  const reply = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');
  reply({ ready: true });
  for (;;) {
    const next = await it.next();
    if (next.done) break;
    const cmd = JSON.parse(next.value as string) as Command;
    try {
      switch (cmd.op) {
        case 'start':
          started = true;
          log.start(transport);
          reply({ ok: true });
          break;
        case 'status':
          reply({ leader: log.leader(), isLeader: log.isLeader(), voters: log.voters(), applied: log.appliedIndex() });
          break;
        case 'add':
          await log.changeMembership({ type: 'add-member', nodeId: cmd.nodeId });
          reply({ ok: true });
          break;
        case 'drive':
          reply(await drive(store, cmd.kind, cmd.clients, cmd.warmupMs, cmd.ms));
          break;
        case 'cpu': {
          // % of one core since the last 'cpu'.
          const now = { usage: process.cpuUsage(), at: performance.now() };
          const us = now.usage.user + now.usage.system - cpuMark.usage.user - cpuMark.usage.system;
          reply({ pct: (us / 1000 / (now.at - cpuMark.at)) * 100 });
          cpuMark = now;
          break;
        }
        case 'syncs':
          reply({ ...syncs });
          syncs.appends = syncs.entries = 0;
          break;
        case 'quit':
          await log.close();
          transport.close();
          client.close();
          await server.close();
          await storage.close();
          reply({ ok: true });
          process.exit(0);
      }
    } catch (err) {
      reply({ error: (err as Error).message });
    }
  }
}

// ---- the parent ----

class Member {
  private readonly waiting: ((v: Record<string, unknown>) => void)[] = [];
  stderr = '';
  constructor(
    readonly id: string,
    readonly proc: ChildProcess,
  ) {
    createInterface({ input: proc.stdout! }).on('line', (line) => this.waiting.shift()?.(JSON.parse(line)));
    proc.stderr!.on('data', (c) => (this.stderr = (this.stderr + c).slice(-8000)));
  }

  /** The next reply line. */
  next<T>(): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`member ${this.id} exited: ${this.stderr.slice(-2000)}`));
      this.proc.once('exit', onExit);
      this.waiting.push((v) => {
        this.proc.off('exit', onExit);
        if (typeof v.error === 'string') reject(new Error(`member ${this.id}: ${v.error}`));
        else resolve(v as T);
      });
    });
  }

  ask<T>(cmd: Command | MemberConfig): Promise<T> {
    const r = this.next<T>();
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n');
    return r;
  }
}

async function until(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function singleMember(kind: WriteKind, clients: number, warmupMs: number, ms: number): Promise<WriteFigure> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-raft-single-'));
  const storage = await DiskLogStorage.open(dir, { deks: [randomBytes(32)], cipher: 'aes-256-gcm' });
  try {
    const store = new MemoryStore();
    const log = await SingleMemberLog.open(store, { storage });
    store.attach(log);
    const r = await drive(store, kind, clients, warmupMs, ms);
    await log.close();
    return r;
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function raftBench(): Promise<RaftBenchResult> {
  const seconds = Number(process.env.SHOAL_BENCH_RAFT_SECONDS) || 5;
  const tickMs = Number(process.env.SHOAL_BENCH_RAFT_TICK_MS) || DEFAULT_TIMING.tickMs;
  const timing: RaftTiming = { ...DEFAULT_TIMING, tickMs };
  const prof = process.env.SHOAL_BENCH_RAFT_PROF;
  const kind: WriteKind = process.env.SHOAL_BENCH_RAFT_WRITE === 'create' ? 'create' : 'update';
  const ms = seconds * 1000;
  const warmupMs = 1000;
  const loadBefore = os.loadavg()[0];

  const root = mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-raft-'));
  const members: Member[] = [];
  try {
    const clusterId = randomBytes(12).toString('hex');
    const ca = await createRootCA();
    const ids = [1, 2, 3].map((i) => `manager${i}${randomBytes(10).toString('hex')}`.slice(0, 25));
    const ports = [await freePort(), await freePort(), await freePort()];
    const creds: NodeCredentials[] = [];
    for (const nodeId of ids) {
      const { keyPem, csrPem } = await createNodeKeyAndCSR();
      const certPem = await issueNodeCertificate({
        rootCertPem: ca.certPem,
        rootKeyPem: ca.keyPem,
        csrPem,
        nodeId,
        role: 'swarm-manager',
        clusterId,
      });
      creds.push({ certPem, keyPem, rootCertPem: ca.certPem });
    }
    for (let i = 0; i < 3; i++) {
      const args = ['--import', 'tsx'];
      if (prof && i === 0) args.push('--cpu-prof', '--cpu-prof-dir', prof);
      const proc = spawn(process.execPath, [...args, SELF, '--member'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const m = new Member(ids[i], proc);
      members.push(m);
      await m.ask({
        id: ids[i],
        port: ports[i],
        dir: path.join(root, `m${i + 1}`),
        bootstrap: i === 0,
        credentials: creds[i],
        clusterId,
        peers: ids.map((id, j) => ({ id, addr: `127.0.0.1:${ports[j]}` })).filter((_, j) => j !== i),
        timing,
      });
    }
    type Status = { leader: string | null; isLeader: boolean; voters: string[]; applied: number };
    const [first, ...rest] = members;
    await first.ask({ op: 'start' });
    await until(async () => (await first.ask<Status>({ op: 'status' })).isLeader, 30_000, 'member 1 to lead');
    for (const m of rest) {
      await first.ask({ op: 'add', nodeId: m.id });
      await m.ask({ op: 'start' });
      await until(async () => (await m.ask<Status>({ op: 'status' })).leader === first.id, 30_000, `${m.id} to join`);
    }
    await until(
      async () => {
        const st = await Promise.all(members.map((m) => m.ask<Status>({ op: 'status' })));
        return st.every((s) => s.voters.length === 3 && s.applied === st[0].applied);
      },
      30_000,
      'three voters in step',
    );

    const leader1 = await first.ask<WriteFigure>({ op: 'drive', kind, clients: 1, warmupMs, ms });
    for (const m of members) await m.ask({ op: 'cpu' });
    await first.ask({ op: 'syncs' });
    const leader64 = await first.ask<WriteFigure>({ op: 'drive', kind, clients: 64, warmupMs, ms });
    const cpuPct64 = (await Promise.all(members.map((m) => m.ask<{ pct: number }>({ op: 'cpu' })))).map((c) => c.pct);
    const syncs = await first.ask<{ appends: number; entries: number }>({ op: 'syncs' });
    const follower64 = await rest[0].ask<WriteFigure>({ op: 'drive', kind, clients: 64, warmupMs, ms });
    for (const m of members) await m.ask({ op: 'quit' });

    const single1 = await singleMember(kind, 1, warmupMs, ms);
    const single64 = await singleMember(kind, 64, warmupMs, ms);
    return {
      tick: timing,
      kind,
      secondsPerFigure: seconds,
      leader1,
      leader64,
      follower64,
      single1,
      single64,
      cpuPct64,
      leaderEntriesPerSync64: syncs.appends ? syncs.entries / syncs.appends : 0,
      loadBefore,
      loadAfter: os.loadavg()[0],
      cores: os.cpus().length,
    };
  } catch (err) {
    for (const m of members) if (m.stderr) console.error(`member ${m.id} stderr:\n${m.stderr.slice(-2000)}`);
    throw err;
  } finally {
    for (const m of members) if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
}

export function formatRaftBench(r: RaftBenchResult): string {
  const e = ETCD_PUBLISHED;
  const f = (x: WriteFigure) =>
    `${x.writesPerSec.toFixed(0).padStart(6)} writes/s  p50 ${x.p50Ms.toFixed(2).padStart(6)} ms  p99 ${x.p99Ms.toFixed(2).padStart(6)} ms` +
    (x.errors ? `  (${x.errors} failed: ${x.firstError})` : '');
  const target = r.leader64.writesPerSec >= 2000 ? 'meets' : 'below';
  return [
    `raft: 3 managers, one process each, on loopback (mutual TLS), encrypted log with fdatasync; each write a store transaction that ${r.kind === 'update' ? "updates the client's own service" : 'creates a service'}; ${r.secondsPerFigure} s per figure after 1 s warm-up; tick ${r.tick.tickMs} ms, election ${r.tick.electionTick} ticks`,
    `raft: 3 managers,  1 client  on the leader:    ${f(r.leader1)}`,
    `raft: 3 managers, 64 clients on the leader:    ${f(r.leader64)}  (${target} the 2,000 writes/s target)`,
    `raft: 3 managers, 64 clients on a follower:    ${f(r.follower64)}  (forwarded to the leader)`,
    `raft: 1 manager,   1 client  (no replication): ${f(r.single1)}`,
    `raft: 1 manager,  64 clients (no replication): ${f(r.single64)}`,
    `raft: etcd's published figures (3 members, 8 vCPUs, SSDs): ${e.oneClientWritesPerSec} writes/s with 1 client, ${e.manyClientsWritesPerSec.toLocaleString('en-US')} with ${e.manyClients.toLocaleString('en-US')} clients`,
    `raft: during 64 clients on the leader: CPU per member ${r.cpuPct64.map((c) => c.toFixed(0) + '%').join(' / ')} (leader first), ${r.leaderEntriesPerSync64.toFixed(1)} entries per leader fdatasync`,
    `raft: ${r.cores} cores; load average (1 min) ${r.loadBefore.toFixed(2)} before, ${r.loadAfter.toFixed(2)} after`,
  ].join('\n');
}

if (require.main === module) {
  if (process.argv[2] === '--member') {
    memberMain().catch((err: Error) => {
      process.stdout.write(JSON.stringify({ error: err.message }) + '\n');
      process.exit(1);
    });
  } else {
    raftBench().then(
      (r) => {
        console.log(formatRaftBench(r));
        console.log(JSON.stringify(r));
      },
      (err: Error) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
}
