// Root CA rotation at scale over real node sessions: one manager daemon and many simulated workers. Each simulated
// worker joins with the worker token (a real CSR, a real certificate), holds a Dispatcher Session over mutual TLS
// and reports its TLS info, as the daemon's worker does; when its session says ROTATE it renews for real (a fresh
// key and CSR over mutual TLS with its current certificate), reopens its session to report the new issuer, and
// takes the new root when the session brings it, after checking its certificate chains to it. Then
// `swarm ca --rotate`: the time until the swarm switched to the new root and every node trusts it, printed next to
// swarmkit's pace (its reconciler tells at most 30 unconverged nodes to renew every 3 s).
//
// caRotationBench() is for bench/run.ts; `node --import tsx bench/ca-rotation.ts` runs it alone. Scale:
// SHOAL_BENCH_CA_NODES (default 50), SHOAL_BENCH_CA_PROCS (default 2).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { joinSwarm } from '../src/agent/join';
import { RemoteDispatcher } from '../src/agent/remote-dispatcher';
import { requestRenewal } from '../src/agent/renewal';
import { nodeTLSInfo, verifyChain } from '../src/ca/certificate-info';
import { checkRootBundle } from '../src/ca/issued';
import { RpcClient } from '../src/transport/client';
import type { NodeCredentials } from '../src/transport/tls-config';
import type { Node, Swarm } from '../src/types/swarm';
import { ROOT_RECONCILIATION_INTERVAL_MS, ROTATE_MAX_BATCH_SIZE } from '../src/manager/ca-reconciler';
import { api, freePort, sleep, startDaemon } from './support';

const SELF = __filename;

export interface CARotationBenchResult {
  /** Simulated workers, plus the manager's own node. */
  nodes: number;
  agentProcesses: number;
  joinMs: number;
  /** From the update that starts the rotation until the swarm's root is the new one (the old root dropped). */
  completedMs: number;
  /** Until every node also reports the new root as its trust root (what `docker swarm ca --rotate` waits for). */
  convergedMs: number;
  /** Renewals the simulated workers made (at least one each). */
  renewals: number;
  /**
   * swarmkit's pace for this many nodes: batches of 30 on a 3 s ticker, so the last batch is asked between
   * (batches - 1) x 3 s and batches x 3 s after the rotation starts, before any renewal time.
   */
  swarmkitLastAskedMs: [number, number];
}

// ---- the child: `count` simulated workers ----

/** One simulated worker: the daemon worker's certificate handling (worker.ts) without an executor. */
class SimWorker {
  private creds: NodeCredentials;
  private readonly client: RpcClient;
  private source?: RemoteDispatcher;
  private rotating = false;
  private work: Promise<void> = Promise.resolve();

  constructor(
    creds: NodeCredentials,
    private readonly addr: string,
    private readonly name: string,
    private readonly onRenewed: () => void,
  ) {
    this.creds = creds;
    this.client = new RpcClient({ credentials: creds, timeoutMs: 60_000 });
  }

  start(nodeId: string): void {
    this.source = new RemoteDispatcher({
      client: this.client,
      managerAddr: this.addr,
      describe: () =>
        Promise.resolve({
          Hostname: this.name,
          Platform: { Architecture: 'x86_64', OS: 'linux' },
          Resources: { NanoCPUs: 2e9, MemoryBytes: 4 * 2 ** 30 },
          Engine: { EngineVersion: 'sim', Labels: { 'shoal.executor': 'sim' }, Plugins: [] },
          TLSInfo: nodeTLSInfo(this.creds.certPem, this.creds.rootCertPem),
        }),
      onRemoved: () => undefined,
      onMessage: (msg) => {
        if (msg.RootCA && msg.RootCA !== this.creds.rootCertPem) {
          const root = msg.RootCA;
          this.serially(async () => {
            checkRootBundle(root);
            if (!verifyChain(this.creds.certPem, root))
              throw new Error('new root CA does not match existing TLS credentials');
            this.use({ ...this.creds, rootCertPem: root });
          });
        }
        if (msg.CertificateState === 'ROTATE' && !this.rotating) {
          this.rotating = true;
          this.serially(async () => {
            try {
              const next = await requestRenewal(this.client, this.addr, this.creds);
              this.use({ ...next, rootCertPem: this.creds.rootCertPem });
              this.onRenewed();
            } finally {
              this.rotating = false;
            }
          });
        }
      },
    });
    this.source.watch(nodeId, () => undefined);
  }

  private use(next: NodeCredentials): void {
    this.creds = next;
    this.client.setCredentials(next);
    this.source?.restart();
  }

  private serially(fn: () => Promise<void>): void {
    this.work = this.work.then(fn).catch((err: Error) => {
      process.stdout.write(`error ${err.message}\n`);
    });
  }
}

async function agentMain(token: string, addr: string, count: number, tag: string): Promise<void> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  let renewals = 0;
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  setInterval(() => out(`renewals ${renewals}`), 200).unref();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const i = next++;
        const j = await joinSwarm({ token, remoteAddr: addr, timeoutMs: 60_000, attempts: 3, retryDelayMs: 500 });
        const w = new SimWorker(
          { certPem: j.certPem, keyPem: j.keyPem, rootCertPem: j.rootCertPem },
          addr,
          `sim-${tag}-${i}`,
          () => renewals++,
        );
        w.start(j.nodeId);
      }
    }),
  );
  out('joined');
}

// ---- the parent ----

export async function caRotationBench(): Promise<CARotationBenchResult> {
  const workers = Number(process.env.SHOAL_BENCH_CA_NODES ?? 50);
  const procs = Number(process.env.SHOAL_BENCH_CA_PROCS ?? 2);
  const daemon = await startDaemon('shoal-bench-ca-');
  const { sock } = daemon;
  const children: { proc: ChildProcess; joined: boolean; renewals: number; errors: string[] }[] = [];
  try {
    const addr = `127.0.0.1:${await freePort()}`;
    await api(sock, 'POST', '/swarm/init', { ListenAddr: addr, AdvertiseAddr: addr });
    const token = (await api<Swarm>(sock, 'GET', '/swarm')).JoinTokens.Worker;

    const t0 = Date.now();
    const per = Math.ceil(workers / procs);
    for (let p = 0; p < procs; p++) {
      const count = Math.min(per, workers - p * per);
      if (count <= 0) break;
      const proc = spawn(
        process.execPath,
        ['--import', 'tsx', SELF, '--agent', token, addr, String(count), String(p)],
        {
          stdio: ['pipe', 'pipe', 'ignore'],
        },
      );
      const c = { proc, joined: false, renewals: 0, errors: [] as string[] };
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const [kind, n] = line.split(' ');
        if (kind === 'joined') c.joined = true;
        else if (kind === 'renewals') c.renewals = Number(n);
        else if (kind === 'error') c.errors.push(line);
      });
      children.push(c);
    }
    const waitFor = async (fn: () => Promise<boolean> | boolean, ms: number, what: string) => {
      const end = Date.now() + ms;
      while (!(await fn())) {
        if (Date.now() > end)
          throw new Error(`timed out waiting for ${what}: ${children.flatMap((c) => c.errors).join('; ')}`);
        if (children.some((c) => c.proc.exitCode !== null)) throw new Error(`an agent process exited (${what})`);
        await sleep(20);
      }
    };
    await waitFor(() => children.every((c) => c.joined), 300_000, 'the joins');
    await waitFor(
      async () => {
        const ns = await api<Node[]>(sock, 'GET', '/nodes');
        return (
          ns.filter((n) => n.Status.State === 'ready' && n.Description.TLSInfo.CertIssuerPublicKey).length >=
          workers + 1
        );
      },
      120_000,
      'every node ready',
    );
    const joinMs = Date.now() - t0;

    // `swarm ca --rotate`: the spec back with ForceRotate + 1.
    const sw = await api<Swarm>(sock, 'GET', '/swarm');
    const spec = {
      ...sw.Spec,
      CAConfig: { ...sw.Spec.CAConfig, ForceRotate: (sw.Spec.CAConfig?.ForceRotate ?? 0) + 1 },
    };
    const start = Date.now();
    await api(sock, 'POST', `/swarm/update?version=${sw.Version.Index}`, spec);
    let completedMs = 0;
    let newRoot = '';
    await waitFor(
      async () => {
        const s = await api<Swarm>(sock, 'GET', '/swarm');
        if (s.RootRotationInProgress || s.TLSInfo.TrustRoot === sw.TLSInfo.TrustRoot) return false;
        completedMs ||= Date.now() - start;
        newRoot = s.TLSInfo.TrustRoot!;
        return true;
      },
      300_000,
      'the rotation to complete',
    );
    await waitFor(
      async () => (await api<Node[]>(sock, 'GET', '/nodes')).every((n) => n.Description.TLSInfo.TrustRoot === newRoot),
      120_000,
      'every node to trust the new root',
    );
    const convergedMs = Date.now() - start;
    await sleep(300);
    const nodes = workers + 1;
    return {
      nodes,
      agentProcesses: children.length,
      joinMs,
      completedMs,
      convergedMs,
      renewals: children.reduce((a, c) => a + c.renewals, 0),
      swarmkitLastAskedMs: [
        (Math.ceil(nodes / ROTATE_MAX_BATCH_SIZE) - 1) * ROOT_RECONCILIATION_INTERVAL_MS,
        Math.ceil(nodes / ROTATE_MAX_BATCH_SIZE) * ROOT_RECONCILIATION_INTERVAL_MS,
      ],
    };
  } finally {
    for (const c of children) {
      c.proc.stdin!.end();
      c.proc.kill('SIGTERM');
    }
    await daemon.stop();
  }
}

export function formatCARotationBench(r: CARotationBenchResult): string {
  return [
    `ca rotation: ${r.nodes} nodes (${r.nodes - 1} simulated workers in ${r.agentProcesses} processes, real mutual-TLS sessions and renewals) joined in ${(r.joinMs / 1000).toFixed(1)} s`,
    `ca rotation: swarm ca --rotate completed (new root in use, old root dropped) in ${(r.completedMs / 1000).toFixed(2)} s; every node trusting the new root in ${(r.convergedMs / 1000).toFixed(2)} s; ${r.renewals} renewals`,
    `ca rotation: swarmkit's pace for ${r.nodes} nodes: ${ROTATE_MAX_BATCH_SIZE} nodes told to renew per ${ROOT_RECONCILIATION_INTERVAL_MS / 1000} s tick, so the last ones are asked ${r.swarmkitLastAskedMs[0] / 1000}-${r.swarmkitLastAskedMs[1] / 1000} s after the start (shoal keeps that pace, its first batch at once)`,
  ].join('\n');
}

if (require.main === module) {
  const [, , flag, token, addr, count, tag] = process.argv;
  if (flag === '--agent') {
    agentMain(token, addr, Number(count), tag).catch((err: Error) => {
      process.stdout.write(`error ${err.message}\n`);
      process.exit(1);
    });
  } else {
    caRotationBench().then(
      (r) => {
        console.log(formatCARotationBench(r));
        console.log(JSON.stringify(r));
      },
      (err: Error) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
}
