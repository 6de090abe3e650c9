// A node that joined a swarm as a worker: its key (no Raft DEK, so never locked), certificate and the swarm's root
// under certificates/, and swarm-state.json with role worker and the manager's address. It runs the tasks a manager
// assigns through a dispatcher session over mutual TLS, and keeps its certificate renewed.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../agent/agent';
import type { Executor } from '../agent/exec/executor';
import { fetchRootUnverified, joinSwarm, type JoinResult } from '../agent/join';
import { RemoteDispatcher } from '../agent/remote-dispatcher';
import { CertificateRenewer, renewalClock, requestRenewal } from '../agent/renewal';
import { nodeTLSInfo, parseNodeCertificate, verifyChain } from '../ca/certificate-info';
import { checkRootBundle } from '../ca/issued';
import { KeyReadWriter } from '../ca/key-read-writer';
import { MANAGER_ROLE } from '../ca/node-cert';
import type { PemCertificate } from '../ca/pem';
import type { AgentDescription, SessionMessage } from '../dispatcher/protocol';
import { RpcClient } from '../transport/client';
import { isUnknownAuthority } from '../transport/errors';
import type { NodeCredentials } from '../transport/tls-config';
import type { JoinRequest, NodeAvailability, SwarmInfo } from '../types/swarm';
import { advertiseAddr, hostOf } from './addr';
import { certificatesDir, writeNodeState, type NodeState } from './node-state';

/** How often a worker asks one manager for the swarm's root again when what it gets does not fit. */
const REFETCH_INTERVAL_MS = 30_000;

const files = (dataRoot: string) => {
  const dir = certificatesDir(dataRoot);
  return {
    dir,
    key: new KeyReadWriter(join(dir, 'swarm-node.key')),
    cert: join(dir, 'swarm-node.crt'),
    root: join(dir, 'swarm-root-ca.crt'),
  };
};

export class WorkerNode {
  readonly nodeId: string;
  readonly clusterId: string;
  /** Set when the manager refused this node for good (`node rm`): its tasks are stopped. */
  error = '';
  private client?: RpcClient;
  private source?: RemoteDispatcher;
  private agent?: Agent;
  private renewer?: CertificateRenewer;
  /** What swarm-state.json says; its RemoteAddrs follow the managers the sessions name. */
  private state?: NodeState;
  /** A renewal the manager asked for (ROTATE, or a promotion) is under way. */
  private rotating = false;
  /**
   * Called once this node holds a manager certificate (`node promote`): the daemon turns it into a manager. Until
   * it does, the worker carries on.
   */
  onPromoted?: (credentials: NodeCredentials) => void;
  /** Changes of credentials (a renewal, a new root), one at a time. */
  private credentialWork: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dataRoot: string,
    private readonly executor: Executor,
    private credentials: NodeCredentials,
    private readonly managerAddr: string,
    private readonly addr: string,
  ) {
    const id = parseNodeCertificate(credentials.certPem);
    this.nodeId = id.nodeId;
    this.clusterId = id.clusterId;
  }

  /** Joins through the manager at RemoteAddrs[0] and writes the node's files; swarm-state.json last. */
  static async join(dataRoot: string, executor: Executor, req: JoinRequest, joined?: JoinResult): Promise<WorkerNode> {
    const managerAddr = req.RemoteAddrs![0];
    const res =
      joined ??
      (await joinSwarm({
        token: req.JoinToken ?? '',
        remoteAddr: managerAddr,
        availability: (req.Availability || undefined) as NodeAvailability | undefined,
      }));
    const f = files(dataRoot);
    await mkdir(f.dir, { recursive: true, mode: 0o700 });
    await f.key.write({ keyPem: res.keyPem }, undefined, 0);
    await writeFile(f.cert, res.certPem, { mode: 0o644 });
    await writeFile(f.root, res.rootCertPem, { mode: 0o644 });
    const listen = req.ListenAddr || '0.0.0.0:2377';
    const adv = advertiseAddr(req.AdvertiseAddr, Number(/:(\d+)$/.exec(listen)?.[1] ?? 2377));
    const state: NodeState = {
      ListenAddr: listen,
      AdvertiseAddr: `${adv.ip}:${adv.port}`,
      Role: 'worker',
      RemoteAddrs: [managerAddr],
    };
    await writeNodeState(dataRoot, state);
    const creds = { keyPem: res.keyPem, certPem: res.certPem, rootCertPem: res.rootCertPem };
    const w = new WorkerNode(dataRoot, executor, creds, managerAddr, adv.ip);
    w.state = state;
    return w;
  }

  /** A restarted worker: its files, as join left them (or a renewal since). */
  static async resume(dataRoot: string, executor: Executor, state: NodeState): Promise<WorkerNode> {
    const f = files(dataRoot);
    const { material } = await f.key.read();
    const creds: NodeCredentials = {
      keyPem: material.keyPem,
      certPem: (await readFile(f.cert, 'utf8')) as PemCertificate,
      rootCertPem: (await readFile(f.root, 'utf8')) as PemCertificate,
    };
    const w = new WorkerNode(dataRoot, executor, creds, state.RemoteAddrs?.[0] ?? '', hostOf(state.AdvertiseAddr));
    w.state = state;
    return w;
  }

  start(): void {
    const client = new RpcClient({ credentials: this.credentials });
    this.client = client;
    const source = new RemoteDispatcher({
      client,
      managerAddr: this.managerAddr,
      knownManagers: this.state?.RemoteAddrs,
      onManagers: (addrs) => {
        if (!this.state || addrs.length === 0) return;
        // Remembered for the next start, so that a worker whose first manager is gone finds the others.
        this.state = { ...this.state, RemoteAddrs: addrs };
        void writeNodeState(this.dataRoot, this.state).catch(() => undefined);
      },
      describe: () => this.describe(),
      onRemoved: (err) => {
        this.error = err.message;
        console.error(`shoal daemon: this node was removed from the swarm: ${err.message}`);
        void this.agent?.stop();
      },
      onMessage: (msg) => this.onSessionMessage(msg),
      onUnknownAuthority: (addr) => void this.refetchRoot(addr),
    });
    this.source = source;
    this.agent = new Agent(this.nodeId, source, this.executor, (id) => source.serviceName(id));
    this.agent.start();
    this.renewer = new CertificateRenewer({
      current: () => this.credentials,
      renew: (current) =>
        requestRenewal(client, this.managerAddr, current).catch(async (err: unknown) => {
          if (!isUnknownAuthority(err)) throw err;
          await this.refetchRoot(this.managerAddr);
          return requestRenewal(client, this.managerAddr, this.credentials);
        }),
      onRenewed: (next) => this.renewed(next),
      clock: renewalClock(),
      onError: (err, retryInMs) =>
        console.error(`shoal daemon: renewing the node certificate (next try in ${retryInMs} ms): ${String(err)}`),
    });
    this.renewer.start();
  }

  private renewed(next: NodeCredentials): Promise<void> {
    return this.serially(async () => {
      const f = files(this.dataRoot);
      // Key first, as the manager's renewal: a key without its certificate is repaired by the next renewal.
      await f.key.write({ keyPem: next.keyPem }, undefined, 0);
      await writeFile(f.cert, next.certPem, { mode: 0o644 });
      // A new root may have been taken while the renewal was on its way.
      this.credentials = { ...next, rootCertPem: this.credentials.rootCertPem };
      this.client?.setCredentials(this.credentials);
      if (parseNodeCertificate(next.certPem).role === MANAGER_ROLE && this.onPromoted) {
        this.onPromoted(this.credentials);
        return;
      }
      // The manager learns the new certificate's issuer from the next session's description.
      this.source?.restart();
    });
  }

  /** The managers this worker knows, for a promoted node to join through. */
  get managerAddrs(): string[] {
    const known = (this.source?.managers ?? []).map((m) => m.Addr);
    return [...new Set([...known, ...(this.state?.RemoteAddrs ?? []), this.managerAddr].filter(Boolean))];
  }

  /** swarm-state.json as this worker keeps it: its listen and advertise addresses. */
  get nodeState(): NodeState | undefined {
    return this.state;
  }

  private serially(fn: () => Promise<void>): Promise<void> {
    const run = this.credentialWork.then(fn);
    this.credentialWork = run.catch(() => undefined);
    return run;
  }

  /** What a session message asks of the node's credentials: a new trust root, a renewal now (ROTATE). */
  private onSessionMessage(msg: SessionMessage): void {
    if (msg.RootCA && msg.RootCA !== this.credentials.rootCertPem) {
      const root = msg.RootCA;
      void this.serially(() => this.adoptRoot(root)).catch((err: Error) =>
        console.error(`shoal daemon: not taking the swarm's new root CA: ${err.message}`),
      );
    }
    // swarmkit's node.go: a desired role that differs from the certificate's asks for a renewal, which the CA
    // signs with the role the store now gives the node.
    const promoted = msg.NodeRole === 'manager' && parseNodeCertificate(this.credentials.certPem).role !== MANAGER_ROLE;
    if ((msg.CertificateState === 'ROTATE' || promoted) && !this.rotating && this.renewer) {
      this.rotating = true;
      this.renewer
        .renewNow()
        .catch(() => undefined)
        .finally(() => (this.rotating = false));
    }
  }

  /**
   * The swarm's root changed (a root rotation finished): trust it from now on, if this node's certificate chains to
   * it (swarmkit's validateRootCAAndTLSCert), and save it as swarm-root-ca.crt.
   */
  private async adoptRoot(root: PemCertificate): Promise<void> {
    if (root === this.credentials.rootCertPem) return;
    checkRootBundle(root);
    if (!verifyChain(this.credentials.certPem, root))
      throw new Error('new root CA does not match existing TLS credentials');
    await writeFile(files(this.dataRoot).root, root, { mode: 0o644 });
    this.credentials = { ...this.credentials, rootCertPem: root };
    this.client?.setCredentials(this.credentials);
    this.source?.restart();
  }

  private refetching?: Promise<void>;
  private readonly lastRefetch = new Map<string, number>();

  /**
   * swarmkit's updateRootThenUpdateCert: the manager's certificate does not chain to this node's root, as after a
   * root rotation that finished while this node was away, once the managers renewed theirs. The swarm's root is
   * fetched again without verifying the manager (the old root cannot) and taken only if this node's own certificate
   * chains to it, which a stranger's root cannot make happen.
   */
  private refetchRoot(addr: string): Promise<void> {
    // A manager that keeps failing the check is asked again at most every half minute, not at every retry.
    const last = this.lastRefetch.get(addr) ?? 0;
    if (!this.refetching && Date.now() - last < REFETCH_INTERVAL_MS) return Promise.resolve();
    this.lastRefetch.set(addr, Date.now());
    this.refetching ??= this.serially(async () => {
      const root = await fetchRootUnverified(addr);
      if (root === this.credentials.rootCertPem) return;
      await this.adoptRoot(root);
      console.error(`shoal daemon: took the swarm's current root CA from ${addr}: this node had missed a rotation`);
    })
      .catch((err: Error) => console.error(`shoal daemon: fetching the swarm's root CA from ${addr}: ${err.message}`))
      .finally(() => (this.refetching = undefined));
    return this.refetching;
  }

  private async describe(): Promise<AgentDescription> {
    const d = await this.executor.describe();
    return {
      Hostname: d.hostname,
      Platform: d.platform,
      Resources: d.resources,
      Engine: { EngineVersion: d.engineVersion, Labels: { 'shoal.executor': d.name }, Plugins: [] },
      TLSInfo: nodeTLSInfo(this.credentials.certPem, this.credentials.rootCertPem),
    };
  }

  async stop(): Promise<void> {
    this.renewer?.stop();
    this.source?.stop();
    await this.agent?.stop();
    this.client?.close();
  }

  info(): SwarmInfo {
    const known = this.source?.managers ?? [];
    return {
      NodeID: this.nodeId,
      NodeAddr: this.addr,
      LocalNodeState: this.error ? 'error' : 'active',
      ControlAvailable: false,
      Error: this.error,
      RemoteManagers: known.length ? known : [{ NodeID: '', Addr: this.managerAddr }],
    };
  }
}
