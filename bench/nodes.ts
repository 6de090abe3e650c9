// Scheduling at scale over real node sessions: one manager daemon (bin/run.js daemon --executor process, its own
// node drained) and many simulated workers. Each simulated worker joins with the worker token (joinSwarm: a real
// CSR, a real certificate), then holds a Dispatcher Session stream over mutual TLS with its own certificate and
// heartbeats, as the daemon's worker does (RemoteDispatcher); it reports every task it is assigned as running at
// once and runs nothing. Several workers share a child process. Then one service with many replicas: the time from
// create until every task is delivered to a worker and until every task is reported running, and the manager's CPU
// and RSS under steady heartbeats. swarmkit's published in-memory scheduler figure is printed alongside.
//
// nodesBench() is called by bench/run.ts; `node --import tsx bench/nodes.ts` runs it alone. Scale:
// SHOAL_BENCH_NODES (default 1000), SHOAL_BENCH_TASKS (default 10000), SHOAL_BENCH_PROCS (default 4).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { joinSwarm } from '../src/agent/join';
import { RemoteDispatcher } from '../src/agent/remote-dispatcher';
import { RpcClient } from '../src/transport/client';
import { goTime } from '../src/util/time';
import type { Task } from '../src/types/swarm';
import { api, freePort, sleep, startDaemon } from './support';

const ROOT = path.resolve(__dirname, '..');
const RUN = path.join(ROOT, 'bin', 'run.js');
const SELF = __filename;

export interface NodesBenchResult {
  nodes: number;
  tasks: number;
  agentProcesses: number;
  /** Wall time for every simulated worker to join and open its session. */
  joinMs: number;
  /** Joins tried again after a connection timeout (a busy manager). */
  joinRetries: number;
  /** From `POST /services/create` until every task was delivered on some worker's session. */
  assignedMs: number;
  /** From create until every task was reported running (UpdateTaskStatus acknowledged by the manager). */
  runningMs: number;
  /** Tasks per node at the end: min and max. */
  perNodeMin: number;
  perNodeMax: number;
  /** The manager's CPU (% of one core) and RSS over 10 s of heartbeats once every task runs. */
  steadyCpuPct: number;
  steadyRssMiB: number;
  heartbeatPeriodS: number;
  /** true when run below the 1,000 nodes / 10,000 tasks of swarmkit's figure. */
  reducedScale: boolean;
}

/** swarmkit's published figure (manager/scheduler benchmark, in memory): 10,000 tasks on 1,000 nodes in 1.8 s. */
export const SWARMKIT_SCHEDULER = { nodes: 1000, tasks: 10000, seconds: 1.8 };

function shoal(sock: string, args: string[]): string {
  const r = spawnSync(process.execPath, [RUN, ...args], {
    env: { ...process.env, SHOAL_HOST: `unix://${sock}` },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`shoal ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** utime+stime (clock ticks) of a process, and its RSS in KiB. */
function procSample(pid: number): { ticks: number; rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm) ": state is index 0, so utime (14th field) is 11 and stime 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { ticks, rssKiB };
}

function clockTicks(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout.trim()) || 100;
}

// ---- the child: `count` simulated workers ----

async function agentMain(token: string, addr: string, count: number, tag: string): Promise<void> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  let assigned = 0;
  let running = 0;
  const perNode: number[] = [];
  let last = '';
  setInterval(() => {
    const line = `count ${assigned} ${running}`;
    if (line !== last) out(line);
    last = line;
  }, 100).unref();
  process.on('message', () => undefined);
  process.stdin.on('data', (d) => {
    if (String(d).includes('pernode')) out(`pernode ${perNode.join(',')}`);
  });
  process.stdin.on('end', () => process.exit(0));

  let joined = 0;
  let retries = 0;
  const one = async (i: number) => {
    // A manager busy signing others' certificates can be slow to accept a connection: try again.
    let j: Awaited<ReturnType<typeof joinSwarm>> | undefined;
    for (let attempt = 1; !j; attempt++) {
      try {
        j = await joinSwarm({ token, remoteAddr: addr, timeoutMs: 60_000, attempts: 3, retryDelayMs: 500 });
      } catch (err) {
        if (attempt >= 5) throw err;
        retries++;
        await sleep(500 * attempt);
      }
    }
    const client = new RpcClient({
      credentials: { certPem: j.certPem, keyPem: j.keyPem, rootCertPem: j.rootCertPem },
      timeoutMs: 60_000,
    });
    const seen = new Set<string>();
    perNode[i] = 0;
    const source = new RemoteDispatcher({
      client,
      managerAddr: addr,
      describe: () =>
        Promise.resolve({
          Hostname: `sim-${tag}-${i}`,
          Platform: { Architecture: 'x86_64', OS: 'linux' },
          Resources: { NanoCPUs: 2e9, MemoryBytes: 4 * 2 ** 30 },
          Engine: { EngineVersion: 'sim', Labels: { 'shoal.executor': 'sim' }, Plugins: [] },
        }),
      onRemoved: () => undefined,
    });
    source.watch(j.nodeId, (tasks: Task[]) => {
      for (const t of tasks) {
        if (t.DesiredState !== 'running' || seen.has(t.ID)) continue;
        seen.add(t.ID);
        assigned++;
        perNode[i]++;
        source.updateStatus(t.ID, { Timestamp: goTime(), State: 'running', Message: 'started', PortStatus: {} }).then(
          () => running++,
          (err: Error) => out(`error ${err.message}`),
        );
      }
    });
    joined++;
  };
  // A few joins at a time: each is a key pair, a CSR and a signature on the manager.
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) await one(next++);
    }),
  );
  out(`joined ${joined} ${retries}`);
}

// ---- the parent ----

interface Child {
  proc: ChildProcess;
  assigned: number;
  running: number;
  joined: boolean;
  joinRetries: number;
  stderrLines: number;
  firstStderr?: string;
  perNode?: number[];
  errors: string[];
}

export async function nodesBench(): Promise<NodesBenchResult> {
  const nodes = Number(process.env.SHOAL_BENCH_NODES ?? 1000);
  const tasks = Number(process.env.SHOAL_BENCH_TASKS ?? 10000);
  const procs = Number(process.env.SHOAL_BENCH_PROCS ?? 4);
  const daemon = await startDaemon('shoal-bench-nodes-');
  const { sock, proc: manager } = daemon;
  const children: Child[] = [];
  try {
    const port = await freePort();
    const addr = `127.0.0.1:${port}`;
    shoal(sock, ['swarm', 'init', '--listen-addr', addr, '--advertise-addr', addr]);
    const token = shoal(sock, ['swarm', 'join-token', '-q', 'worker']).trim();
    // Only the simulated workers take tasks.
    const self = await api<{ Swarm: { NodeID: string } }>(sock, 'GET', '/info');
    shoal(sock, ['node', 'update', '--availability', 'drain', self.Swarm.NodeID]);

    const t0 = Date.now();
    const per = Math.ceil(nodes / procs);
    for (let p = 0; p < procs; p++) {
      const count = Math.min(per, nodes - p * per);
      if (count <= 0) break;
      const proc = spawn(
        process.execPath,
        ['--import', 'tsx', SELF, '--agent', token, addr, String(count), String(p)],
        {
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      const c: Child = { proc, assigned: 0, running: 0, joined: false, joinRetries: 0, stderrLines: 0, errors: [] };
      // The agents' own complaints (a session lost, a heartbeat failure), counted, not printed.
      createInterface({ input: proc.stderr! }).on('line', (line) => {
        c.stderrLines++;
        c.firstStderr ??= line;
      });
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const [kind, a, b] = line.split(' ');
        if (kind === 'count') {
          c.assigned = Number(a);
          c.running = Number(b);
        } else if (kind === 'joined') {
          c.joined = true;
          c.joinRetries = Number(b);
        } else if (kind === 'pernode') c.perNode = a ? a.split(',').map(Number) : [];
        else if (kind === 'error') c.errors.push(line);
      });
      children.push(c);
    }
    const waitFor = async (fn: () => boolean, ms: number, what: string) => {
      const end = Date.now() + ms;
      while (!fn()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        for (const c of children)
          if (c.proc.exitCode !== null) throw new Error(`an agent process exited (${what}): ${c.errors.join('; ')}`);
        await sleep(20);
      }
    };
    await waitFor(() => children.every((c) => c.joined), 600_000, 'the joins');
    // Every node ready (its session open).
    for (;;) {
      const ns = await api<{ Status: { State: string } }[]>(sock, 'GET', '/nodes');
      if (ns.filter((n) => n.Status.State === 'ready').length >= nodes + 1) break;
      await sleep(200);
    }
    const joinMs = Date.now() - t0;

    const sum = (k: 'assigned' | 'running') => children.reduce((a, c) => a + c[k], 0);
    const created = Date.now();
    await api(sock, 'POST', '/services/create', {
      Name: 'bench',
      TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '600'] } },
      Mode: { Replicated: { Replicas: tasks } },
    });
    await waitFor(() => sum('assigned') >= tasks, 600_000, 'every task assigned');
    const assignedMs = Date.now() - created;
    await waitFor(() => sum('running') >= tasks, 600_000, 'every task running');
    const runningMs = Date.now() - created;

    // Steady load: heartbeats only (the default period), over 10 s.
    await sleep(2000);
    const hz = clockTicks();
    const a = procSample(manager.pid!);
    const ta = Date.now();
    let rssMax = a.rssKiB;
    for (let i = 0; i < 10; i++) {
      await sleep(1000);
      rssMax = Math.max(rssMax, procSample(manager.pid!).rssKiB);
    }
    const b = procSample(manager.pid!);
    const steadyCpuPct = ((b.ticks - a.ticks) / hz / ((Date.now() - ta) / 1000)) * 100;

    for (const c of children) c.proc.stdin!.write('pernode\n');
    await waitFor(() => children.every((c) => c.perNode), 10_000, 'the per-node counts');
    const counts = children.flatMap((c) => c.perNode!);
    const cluster = await api<{ Spec: { Dispatcher?: { HeartbeatPeriod?: number } } }>(sock, 'GET', '/swarm');
    const errors = children.flatMap((c) => c.errors);
    if (errors.length) console.error(`agent errors (${errors.length}), first: ${errors[0]}`);
    const lost = children.reduce((a, c) => a + c.stderrLines, 0);
    if (lost) console.error(`agent log lines (${lost}), first: ${children.find((c) => c.firstStderr)?.firstStderr}`);
    return {
      nodes,
      tasks,
      agentProcesses: children.length,
      joinMs,
      joinRetries: children.reduce((a, c) => a + c.joinRetries, 0),
      assignedMs,
      runningMs,
      perNodeMin: Math.min(...counts),
      perNodeMax: Math.max(...counts),
      steadyCpuPct: Math.round(steadyCpuPct * 10) / 10,
      steadyRssMiB: Math.round(rssMax / 1024),
      heartbeatPeriodS: (cluster.Spec.Dispatcher?.HeartbeatPeriod || 5e9) / 1e9,
      reducedScale: nodes < SWARMKIT_SCHEDULER.nodes || tasks < SWARMKIT_SCHEDULER.tasks,
    };
  } finally {
    for (const c of children) {
      c.proc.stdin!.end();
      c.proc.kill('SIGTERM');
    }
    await daemon.stop();
  }
}

export function formatNodesBench(r: NodesBenchResult): string {
  const s = SWARMKIT_SCHEDULER;
  const lines = [
    `nodes: ${r.nodes} simulated workers (${r.agentProcesses} processes, real mutual-TLS sessions) joined in ${(r.joinMs / 1000).toFixed(1)} s (${r.joinRetries} joins retried)`,
    `nodes: ${r.tasks} replicas: all assigned ${(r.assignedMs / 1000).toFixed(2)} s, all running ${(r.runningMs / 1000).toFixed(2)} s after create; ${r.perNodeMin}-${r.perNodeMax} tasks per node`,
    `nodes: swarmkit's in-memory scheduler: ${s.tasks} tasks on ${s.nodes} nodes in ${s.seconds} s (no sessions, no store writes)`,
    `nodes: manager at steady heartbeats (${r.heartbeatPeriodS} s period): ${r.steadyCpuPct}% CPU, ${r.steadyRssMiB} MiB RSS`,
  ];
  if (r.reducedScale)
    lines.push(`nodes: measured at a reduced scale (${r.nodes} nodes x ${r.tasks} tasks), not 1,000 x 10,000`);
  return lines.join('\n');
}

if (require.main === module) {
  const [, , flag, token, addr, count, tag] = process.argv;
  if (flag === '--agent') {
    agentMain(token, addr, Number(count), tag).catch((err: Error) => {
      process.stdout.write(`error ${err.message}\n`);
      process.exit(1);
    });
  } else {
    nodesBench().then(
      (r) => {
        console.log(formatNodesBench(r));
        console.log(JSON.stringify(r));
      },
      (err: Error) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
}
