import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError, MSG } from '../api/errors';
import { Manager } from '../manager/manager';
import { Agent } from '../agent/agent';
import type { Executor } from '../agent/exec/executor';
import type { ClusterObject } from '../store/objects';
import type { StoreEvent } from '../store/memory-store';
import type { ClusterInfo, InitRequest, JoinRequest, Node, SwarmInfo } from '../types/swarm';
import { newId } from '../util/ids';
import { advertiseAddr, checkListenAddr, hostOf, portOf } from './addr';
import type { NodeAvailability } from '../types/swarm';
import { goTime } from '../util/time';
import { normalizeSwarmSpec } from '../manager/controlapi/cluster-spec';
import {
  createRootCA,
  createNodeKeyAndCSR,
  generateJoinToken,
  issueNodeCertificate,
  nodeTLSInfo,
  parseNodeCertificate,
  rootCADigest,
  tlsInfoFor,
  type PemCertificate,
  type PemPrivateKey,
} from '../ca';
import { KeyReadWriter } from '../ca/key-read-writer';
import { InvalidKEKError, ManagerKeys } from '../manager/deks';
import { generateUnlockKey, parseUnlockKey } from '../manager/encryption/unlock-key';
import { DiskLogStorage } from '../log/wal/disk-storage';
import { requestRenewal } from '../agent/renewal';
import { NodeServer } from '../manager/node-server';
import { ManagerPeers, MEMBERSHIP_SERVICE, type JoinRaftRequest, type JoinRaftResponse } from '../manager/raft/peers';
import { raftTimingFromEnv } from '../manager/raft/raft-log';
import { rewriteAsSingleMember } from '../manager/raft/force-new-cluster';
import { joinSwarm, type JoinResult } from '../agent/join';
import { MANAGER_ROLE } from '../ca/node-cert';
import { ExternalCAError, ExternalCAClient } from '../ca/external-ca';
import { NodeCertificateSigner } from '../ca/node-signer';
import { managerTrustBundle } from '../ca/root-rotation';
import { CertificateRenewer, renewalClock } from '../agent/renewal';
import type { NodeCredentials } from '../transport/tls-config';
import { joinError } from './join-errors';
import { WorkerNode } from './worker';
import {
  certificatesDir,
  raftDir,
  readNodeState,
  removeSwarmFiles,
  writeNodeState,
  type NodeState,
} from './node-state';

export type LocalState = 'inactive' | 'locked' | 'active';

/**
 * This node's membership of a swarm: inactive until `swarm init`, then a manager that runs its
 * own tasks too. It owns the manager components and the agent, and the node's files under the
 * data root: certificates (with the key file that holds the Raft DEK), the encrypted Raft log,
 * and swarm-state.json. A restarted daemon resumes the swarm from them, or comes up locked when
 * autolock is on, until `swarm unlock` supplies the key.
 */
export class SwarmNode {
  manager?: Manager;
  private agent?: Agent;
  private keys?: ManagerKeys;
  nodeId = '';
  private clusterId = '';
  private addr = '';
  private locked = false;
  /** init, join, leave and unlock change the node's state one at a time. */
  private lifecycle: Promise<unknown> = Promise.resolve();
  /** Key-file rewrites after cluster changes, in commit order. */
  private kekWork: Promise<void> = Promise.resolve();
  private unwatchCluster?: () => void;
  /** A manager's port for other nodes. */
  private server?: NodeServer;
  private listenAddr = '';
  /** This node when it joined as a worker. */
  private worker?: WorkerNode;
  /** A manager's way to the other managers (Raft messages, joins). */
  private peers?: ManagerPeers;
  /** Where other nodes reach this one: ip:port. */
  private advertise = '';
  /** A manager's certificate, key and root as its node server presents them. */
  private ownCredentials?: NodeCredentials;
  /** Renews a manager's own certificate from its CA at 50–80% of its validity, as workers renew theirs. */
  private renewer?: CertificateRenewer;

  constructor(
    private readonly dataRoot: string,
    private readonly executor: Executor,
  ) {}

  get state(): LocalState {
    if (this.manager || this.worker) return 'active';
    return this.locked ? 'locked' : 'inactive';
  }

  /** One writer for the key file: its writes are serialised, so a KEK change and a key renewal cannot interleave. */
  private get keyFile(): KeyReadWriter {
    return (this.keyFileRW ??= new KeyReadWriter(join(certificatesDir(this.dataRoot), 'swarm-node.key')));
  }
  private keyFileRW?: KeyReadWriter;

  requireManager(): Manager {
    if (this.locked) throw new ApiError(503, MSG.locked);
    if (this.worker) throw new ApiError(503, MSG.worker);
    if (!this.manager) throw new ApiError(503, MSG.noSwarm);
    return this.manager;
  }

  /**
   * Before a read of the cluster's state: on a manager, resolves once its store holds every write committed before
   * the call (Raft's ReadIndex through the leader), and fails with the no-leader error when there is no quorum.
   * Elsewhere (locked, a worker, no swarm) it does nothing, and the route's requireManager answers.
   */
  async readBarrier(): Promise<void> {
    if (this.locked || this.worker || !this.manager) return;
    await this.manager.raft?.readBarrier();
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lifecycle.then(fn, fn);
    this.lifecycle = next.catch(() => undefined);
    return next;
  }

  /** At daemon start: resumes the swarm this data root belongs to, or comes up locked. */
  resume(): Promise<void> {
    return this.serially(async () => {
      const state = await readNodeState(this.dataRoot);
      if (!state) return;
      const cert = (await readFile(join(certificatesDir(this.dataRoot), 'swarm-node.crt'), 'utf8')) as PemCertificate;
      const id = parseNodeCertificate(cert);
      this.nodeId = id.nodeId;
      this.clusterId = id.clusterId;
      this.addr = hostOf(state.AdvertiseAddr);
      this.advertise = state.AdvertiseAddr;
      this.listenAddr = state.ListenAddr;
      if (state.Role === 'worker') {
        // A worker's key file holds no DEK and is never encrypted: it is never locked.
        this.worker = await WorkerNode.resume(this.dataRoot, this.executor, state);
        this.startWorker(this.worker);
        return;
      }
      if (await this.keyFile.needsKEK()) {
        this.locked = true;
        return;
      }
      await this.activate(undefined);
    });
  }

  /** `swarm unlock`: opens the key file with the unlock key and starts the manager. */
  unlock(unlockKey: string): Promise<void> {
    return this.serially(async () => {
      // Docker's order: membership, then lock state, then the key's syntax.
      if (this.state === 'inactive') throw new ApiError(503, MSG.notPartOfSwarm);
      if (!this.locked) throw new ApiError(409, 'swarm is not locked');
      let kek: Buffer;
      try {
        kek = parseUnlockKey(unlockKey);
      } catch {
        throw new ApiError(400, 'invalid key string');
      }
      try {
        await this.activate(kek);
      } catch (err) {
        if (err instanceof InvalidKEKError)
          throw new ApiError(401, 'swarm could not be unlocked: invalid key provided');
        throw new ApiError(500, `swarm component could not be started: ${(err as Error).message}`);
      }
      this.locked = false;
    });
  }

  /** Opens the key file and the log, recovers the store, and starts the manager and the agent. */
  private async activate(kek: Buffer | undefined): Promise<void> {
    const keys = await ManagerKeys.load(this.keyFile, kek);
    const peers = new ManagerPeers(await this.credentials(keys), this.nodeId, this.advertise);
    const storage = await DiskLogStorage.open(raftDir(this.dataRoot), { deks: keys.readDeks });
    let manager: Manager;
    try {
      manager = await Manager.open({
        storage,
        raft: { id: this.nodeId, transport: peers.transport, timing: raftTimingFromEnv() },
      });
    } catch (err) {
      peers.close();
      await storage.close();
      throw err;
    }
    // A rotation cut short by a crash is finished before anything else is written.
    await keys.finishRotation((dek) => manager.rekey(dek));
    await this.start(manager, keys, peers);
    // Through the leader, which may take an election to appear: not something start-up waits for.
    void this.refreshNodeDescription(manager).catch((err: Error) =>
      console.error(`shoal daemon: updating this node's description: ${err.message}`),
    );
  }

  private async start(manager: Manager, keys: ManagerKeys, peers: ManagerPeers): Promise<void> {
    this.manager = manager;
    this.keys = keys;
    this.peers = peers;
    peers.follow(manager);
    this.raftRemoved = false;
    peers.transport.onRemoved = () => this.onRemovedFromRaft(manager);
    manager.start();
    this.agent = new Agent(
      this.nodeId,
      manager.dispatcher,
      this.executor,
      (id) => manager.store.get('services', id)?.Spec.Name ?? id,
    );
    this.agent.start();
    this.watchUnlockKey(manager);
    // A change made while this node was down (or locked) is applied now.
    this.queueKEKUpdate(manager);
    this.ownCredentials = await this.credentials(keys);
    manager.tlsCredentials = () => this.ownCredentials;
    await this.listen(manager, this.ownCredentials, peers);
    // A rotation that moved on while this node was down: its trust and reported TLS info catch up.
    this.queueTrustUpdate(manager);
    this.renewer = new CertificateRenewer({
      current: () => this.ownCredentials!,
      renew: () => this.issueOwnCertificate(manager),
      // Through the key-file lane, so that a renewal and a KEK change never interleave their writes.
      onRenewed: (next) =>
        (this.kekWork = this.kekWork.then(async () => {
          // A renewal that finishes after leave or shutdown must not write into a data root being cleared.
          if (this.manager === manager) await this.useOwnCertificate(keys, next);
        })),
      onError: (err, retryInMs) =>
        console.error(`shoal daemon: renewing the node certificate (next try in ${retryInMs} ms): ${String(err)}`),
      clock: renewalClock(),
    });
    this.renewer.start();
  }

  private async credentials(keys: ManagerKeys): Promise<NodeCredentials> {
    const dir = certificatesDir(this.dataRoot);
    return {
      keyPem: keys.keyPem,
      certPem: (await readFile(join(dir, 'swarm-node.crt'), 'utf8')) as PemCertificate,
      rootCertPem: (await readFile(join(dir, 'swarm-root-ca.crt'), 'utf8')) as PemCertificate,
    };
  }

  /**
   * Opens the port other nodes join and report on. An address that cannot be bound (another daemon on 2377) leaves
   * this node a manager of its own, with one line in the log: nothing can join it until it restarts.
   */
  private async listen(manager: Manager, credentials: NodeCredentials, peers: ManagerPeers): Promise<void> {
    const addr = this.listenAddr || '0.0.0.0:2377';
    try {
      this.server = await NodeServer.start(manager, this.nodeId, credentials, addr, peers);
    } catch (err) {
      console.error(`shoal daemon: cannot listen for other nodes on ${addr}: ${(err as Error).message}`);
    }
  }

  /** The executor (and so the engine description) may differ from the last run. */
  private async refreshNodeDescription(manager: Manager): Promise<void> {
    const desc = await this.executor.describe();
    await manager.store.retryUpdate((tx) => {
      const n = tx.get('nodes', this.nodeId);
      if (!n) return;
      tx.update('nodes', {
        ...n,
        UpdatedAt: goTime(),
        Description: {
          ...n.Description,
          Hostname: desc.hostname,
          Platform: desc.platform,
          Resources: desc.resources,
          Engine: { EngineVersion: desc.engineVersion, Labels: { 'shoal.executor': desc.name }, Plugins: [] },
        },
      });
    });
  }

  private watchUnlockKey(manager: Manager): void {
    const onChange = (e: StoreEvent): void => {
      if (e.table === 'cluster') {
        this.queueKEKUpdate(manager);
        this.queueTrustUpdate(manager);
      }
      // The root rotation reconciler asks this node, as any other, to renew (ROTATE).
      if (e.table === 'nodes' && e.object.ID === this.nodeId && e.action !== 'delete') {
        if ((e.object as Node).Certificate?.Status.State === 'ROTATE') this.rotateOwnCertificate();
        if ((e.object as Node).Spec.Role === 'worker') void this.demote(manager);
      }
    };
    manager.store.on('change', onChange);
    this.unwatchCluster = () => manager.store.off('change', onChange);
  }

  /** Rewrites the key file when the cluster's unlock key changed (autolock on, off, or rotated). */
  private queueKEKUpdate(manager: Manager): void {
    this.kekWork = this.kekWork.then(async () => {
      const keys = this.keys;
      const cluster = manager.store.list('cluster')[0];
      if (!keys || !cluster || this.manager !== manager) return;
      try {
        const wasLocked = keys.locked;
        await keys.applyUnlockKey(cluster.UnlockKey, cluster.Version.Index ?? 0, (dek) => manager.rekey(dek));
        // As swarmkit does on locking: the TLS key that sat on disk in the clear is replaced.
        if (!wasLocked && keys.locked) await this.renewOwnCertificate(manager, keys);
      } catch (err) {
        console.error(`shoal daemon: updating the node key file: ${(err as Error).message}`);
      }
    });
  }

  /** A renewal the rotation asked for; one at a time. */
  private rotateOwnCertificate(): void {
    if (this.rotatingOwn || !this.renewer) return;
    this.rotatingOwn = true;
    this.renewer
      .renewNow()
      .catch(() => undefined)
      .finally(() => (this.rotatingOwn = false));
  }
  private rotatingOwn = false;

  /**
   * Keeps this manager's trust in step with the cluster's root: both roots while a rotation runs (so that nodes on
   * either certificate connect), the new one alone after; swarm-root-ca.crt and its own node's TLSInfo follow.
   */
  private queueTrustUpdate(manager: Manager): void {
    this.kekWork = this.kekWork.then(async () => {
      if (this.manager !== manager || !this.ownCredentials) return;
      try {
        await this.syncOwnTLS(manager);
      } catch (err) {
        console.error(`shoal daemon: updating the node's trust roots: ${(err as Error).message}`);
      }
    });
  }

  private async syncOwnTLS(manager: Manager): Promise<void> {
    const cluster = manager.store.list('cluster')[0];
    const own = this.ownCredentials;
    if (!cluster || !own) return;
    const bundle = managerTrustBundle(cluster.RootCA);
    if (bundle !== own.rootCertPem) {
      const rootFile = join(certificatesDir(this.dataRoot), 'swarm-root-ca.crt');
      if ((await readFile(rootFile, 'utf8').catch(() => '')) !== cluster.RootCA.CACert) {
        await writeFile(rootFile, cluster.RootCA.CACert, { mode: 0o644 });
      }
      this.ownCredentials = { ...own, rootCertPem: bundle };
      this.server?.setCredentials(this.ownCredentials);
      this.peers?.setCredentials(this.ownCredentials);
    }
    const tls = nodeTLSInfo(this.ownCredentials!.certPem, bundle);
    tls.TrustRoot = cluster.RootCA.CACert;
    await manager.store.retryUpdate((tx) => {
      const n = tx.get('nodes', this.nodeId);
      if (!n) return;
      const t = n.Description.TLSInfo ?? {};
      if (
        t.TrustRoot === tls.TrustRoot &&
        t.CertIssuerSubject === tls.CertIssuerSubject &&
        t.CertIssuerPublicKey === tls.CertIssuerPublicKey
      ) {
        return;
      }
      tx.update('nodes', { ...n, Description: { ...n.Description, TLSInfo: tls } });
    });
  }

  /** Issues this manager a certificate for a fresh key from the swarm's own CA (it is the CA). */
  private async renewOwnCertificate(manager: Manager, keys: ManagerKeys): Promise<void> {
    await this.useOwnCertificate(keys, await this.issueOwnCertificate(manager));
  }

  /**
   * Signed as any node's renewal is: by the root, or the rotation's new root with the cross-signed root after it, or
   * through the swarm's external CA. The key never leaves this node; only its CSR does, to an external CA.
   */
  private async issueOwnCertificate(manager: Manager): Promise<NodeCredentials> {
    const cluster = manager.store.list('cluster')[0];
    const { keyPem, csrPem } = await createNodeKeyAndCSR();
    this.signer ??= new NodeCertificateSigner(new ExternalCAClient(() => this.ownCredentials));
    let certPem: PemCertificate;
    try {
      certPem = await this.signer.sign(
        { rootCA: cluster.RootCA, externalCAs: cluster.Spec.CAConfig?.ExternalCAs },
        {
          csrPem,
          identity: { nodeId: this.nodeId, clusterId: this.clusterId, role: 'swarm-manager' },
          expiryNs: cluster.Spec.CAConfig?.NodeCertExpiry,
        },
      );
    } catch (err) {
      await this.setOwnCertificateStatus(manager, {
        State: err instanceof ExternalCAError && err.recoverable ? 'PENDING' : 'FAILED',
        Err: (err as Error).message,
      });
      throw err;
    }
    return { keyPem, certPem, rootCertPem: managerTrustBundle(cluster.RootCA) };
  }
  private signer?: NodeCertificateSigner;

  private async setOwnCertificateStatus(manager: Manager, status: NonNullable<Node['Certificate']>['Status']) {
    await manager.store.retryUpdate((tx) => {
      const n = tx.get('nodes', this.nodeId);
      if (n) tx.update('nodes', { ...n, Certificate: { Status: status } });
    });
  }

  /** Writes a new certificate and key and presents them from now on. */
  private async useOwnCertificate(keys: ManagerKeys, next: NodeCredentials): Promise<void> {
    // Key first: a crash between the two leaves a key without its certificate, which the next
    // renewal repairs; the other order would leave a certificate whose key is lost.
    await keys.replaceTLSKey(next.keyPem);
    await writeFile(join(certificatesDir(this.dataRoot), 'swarm-node.crt'), next.certPem, { mode: 0o644 });
    this.ownCredentials = next;
    this.server?.setCredentials(next);
    this.peers?.setCredentials(next);
    const manager = this.manager;
    if (manager) {
      await this.setOwnCertificateStatus(manager, { State: 'ISSUED' });
      await this.syncOwnTLS(manager);
    }
  }

  init(req: InitRequest): Promise<string> {
    return this.serially(() => this.doInit(req));
  }

  private async doInit(req: InitRequest): Promise<string> {
    if (this.state !== 'inactive') {
      if (req.ForceNewCluster && this.manager) return this.forceNewCluster();
      throw new ApiError(503, MSG.alreadyInSwarm);
    }
    const autolock = !!(req.AutoLockManagers || req.Spec?.EncryptionConfig?.AutoLockManagers);
    const availability = req.Availability || 'active';
    if (!['active', 'pause', 'drain'].includes(availability))
      throw new ApiError(400, `invalid Availability: "${availability}"`);
    const spec = normalizeSwarmSpec(req.Spec);
    spec.EncryptionConfig = { AutoLockManagers: autolock };
    const listenPort = portOf(req.ListenAddr) ?? 2377;
    const advertise = advertiseAddr(req.AdvertiseAddr, listenPort);
    await checkListenAddr(req.ListenAddr || `0.0.0.0:${listenPort}`);

    // Leftovers of an init that crashed halfway belong to no swarm.
    await removeSwarmFiles(this.dataRoot);
    const clusterId = newId();
    const nodeId = newId();
    const root = await createRootCA();
    const { keyPem, certPem } = await issueManagerCertificate(
      root,
      { nodeId, clusterId },
      spec.CAConfig?.NodeCertExpiry,
    );
    const unlockKey = autolock ? generateUnlockKey() : '';
    const certDir = certificatesDir(this.dataRoot);
    await mkdir(certDir, { recursive: true, mode: 0o700 });
    const keys = await ManagerKeys.create(this.keyFile, keyPem, autolock ? parseUnlockKey(unlockKey) : undefined);
    await writeFile(join(certDir, 'swarm-node.crt'), certPem, { mode: 0o644 });
    await writeFile(join(certDir, 'swarm-root-ca.crt'), root.certPem, { mode: 0o644 });

    const now = goTime();
    const tls = tlsInfoFor(root.certPem);
    const cluster: ClusterObject = {
      ID: clusterId,
      Version: {},
      CreatedAt: now,
      UpdatedAt: now,
      Spec: spec,
      TLSInfo: tls,
      RootRotationInProgress: false,
      DefaultAddrPool: req.DefaultAddrPool?.length ? req.DefaultAddrPool : ['10.0.0.0/8'],
      SubnetSize: req.SubnetSize || 24,
      DataPathPort: req.DataPathPort || 4789,
      RootCA: {
        CACert: root.certPem,
        CAKey: root.keyPem,
        CACertHash: rootCADigest(root.certPem),
        JoinTokens: { Worker: generateJoinToken(root.certPem), Manager: generateJoinToken(root.certPem) },
      },
      UnlockKey: unlockKey,
    };
    const desc = await this.executor.describe();
    const node: Node = {
      ID: nodeId,
      Version: {},
      CreatedAt: now,
      UpdatedAt: now,
      Spec: { Labels: {}, Role: 'manager', Availability: availability as Node['Spec']['Availability'] },
      Description: {
        Hostname: desc.hostname,
        Platform: desc.platform,
        Resources: desc.resources,
        Engine: { EngineVersion: desc.engineVersion, Labels: { 'shoal.executor': desc.name }, Plugins: [] },
        TLSInfo: tls,
      },
      Status: { State: 'ready', Addr: advertise.ip },
      Certificate: { Status: { State: 'ISSUED' } },
      ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: `${advertise.ip}:${advertise.port}` },
    };
    const advertised = `${advertise.ip}:${advertise.port}`;
    const peers = new ManagerPeers({ keyPem, certPem, rootCertPem: root.certPem }, nodeId, advertised);
    const storage = await DiskLogStorage.open(raftDir(this.dataRoot), { deks: keys.readDeks });
    let manager: Manager;
    try {
      manager = await Manager.open({
        storage,
        raft: { id: nodeId, transport: peers.transport, bootstrap: true, timing: raftTimingFromEnv() },
      });
    } catch (err) {
      peers.close();
      await storage.close().catch(() => undefined);
      await removeSwarmFiles(this.dataRoot);
      throw err;
    }
    try {
      await manager.store.update((tx) => {
        tx.create('cluster', cluster);
        tx.create('nodes', node);
      });
      const state: NodeState = {
        ListenAddr: req.ListenAddr || `0.0.0.0:${listenPort}`,
        AdvertiseAddr: `${advertise.ip}:${advertise.port}`,
      };
      // Last: from here on a restarted daemon resumes this swarm.
      await writeNodeState(this.dataRoot, state);
    } catch (err) {
      await manager.stop().catch(() => undefined);
      peers.close();
      await removeSwarmFiles(this.dataRoot);
      throw err;
    }
    this.nodeId = nodeId;
    this.clusterId = clusterId;
    this.addr = advertise.ip;
    this.advertise = advertised;
    this.listenAddr = req.ListenAddr || `0.0.0.0:${listenPort}`;
    await this.start(manager, keys, peers);
    return nodeId;
  }

  /**
   * `swarm init --force-new-cluster` on a manager: the same swarm (cluster, CA, services, nodes) with this manager
   * as its only Raft member, from its own log. The other managers stay in the node list, unreachable, until
   * demoted or removed.
   */
  private async forceNewCluster(): Promise<string> {
    const keys = this.keys!;
    await this.stop();
    const storage = await DiskLogStorage.open(raftDir(this.dataRoot), { deks: keys.readDeks });
    try {
      await rewriteAsSingleMember(storage, this.nodeId);
    } finally {
      await storage.close();
    }
    await this.activate(keys.kekBytes);
    await this.manager?.raft?.waitForLeader(10_000);
    return this.nodeId;
  }

  join(req: JoinRequest): Promise<void> {
    return this.serially(async () => {
      if (this.state !== 'inactive') throw new ApiError(503, MSG.alreadyInSwarm);
      if (!req.RemoteAddrs?.length) throw new ApiError(400, 'at least 1 RemoteAddr is required to join');
      if (req.Availability && !['active', 'pause', 'drain'].includes(req.Availability))
        throw new ApiError(400, `invalid Availability: "${req.Availability}"`);
      const listen = req.ListenAddr || '0.0.0.0:2377';
      // Leftovers of a join that failed halfway belong to no swarm.
      await removeSwarmFiles(this.dataRoot);
      let worker: WorkerNode;
      try {
        const joined = await joinSwarm({
          token: req.JoinToken ?? '',
          remoteAddr: req.RemoteAddrs[0],
          availability: (req.Availability || undefined) as NodeAvailability | undefined,
        });
        if (joined.role === MANAGER_ROLE) return await this.joinAsManager(req, joined, listen);
        worker = await WorkerNode.join(this.dataRoot, this.executor, req, joined);
      } catch (err) {
        await removeSwarmFiles(this.dataRoot);
        throw joinError(err);
      }
      this.worker = worker;
      this.nodeId = worker.nodeId;
      this.clusterId = worker.clusterId;
      this.startWorker(worker);
    });
  }

  /** The manager token made this node a manager. */
  private async joinAsManager(req: JoinRequest, joined: JoinResult, listen: string): Promise<void> {
    const adv = advertiseAddr(req.AdvertiseAddr, portOf(listen) ?? 2377);
    await checkListenAddr(listen);
    const creds = { keyPem: joined.keyPem, certPem: joined.certPem, rootCertPem: joined.rootCertPem };
    await this.becomeManager(creds, listen, `${adv.ip}:${adv.port}`, [req.RemoteAddrs![0]]);
  }

  /**
   * A node with a manager certificate (joined with the manager token, or a promoted worker) becomes a manager: its
   * own key file and DEK and an empty log; it listens, asks the leader (through a manager it knows) to make it a
   * voter, and then receives the log from the leader.
   */
  private async becomeManager(
    creds: NodeCredentials,
    listen: string,
    advertised: string,
    through: string[],
  ): Promise<void> {
    const id = parseNodeCertificate(creds.certPem);
    const certDir = certificatesDir(this.dataRoot);
    await mkdir(certDir, { recursive: true, mode: 0o700 });
    await rm(raftDir(this.dataRoot), { recursive: true, force: true });
    const keys = await ManagerKeys.create(this.keyFile, creds.keyPem as PemPrivateKey, undefined);
    await writeFile(join(certDir, 'swarm-node.crt'), creds.certPem, { mode: 0o644 });
    await writeFile(join(certDir, 'swarm-root-ca.crt'), creds.rootCertPem, { mode: 0o644 });
    const peers = new ManagerPeers(creds, id.nodeId, advertised);
    const storage = await DiskLogStorage.open(raftDir(this.dataRoot), { deks: keys.readDeks });
    let manager: Manager;
    try {
      manager = await Manager.open({
        storage,
        raft: { id: id.nodeId, transport: peers.transport, timing: raftTimingFromEnv() },
      });
    } catch (err) {
      peers.close();
      await storage.close().catch(() => undefined);
      throw err;
    }
    this.nodeId = id.nodeId;
    this.clusterId = id.clusterId;
    this.addr = hostOf(advertised);
    this.advertise = advertised;
    this.listenAddr = listen;
    try {
      // Listening first: the leader sends the log as soon as this node is a member.
      await this.start(manager, keys, peers);
      let res: JoinRaftResponse | undefined;
      let lastErr: unknown;
      for (const addr of through) {
        try {
          res = await peers.client.call<JoinRaftRequest, JoinRaftResponse>(
            addr,
            MEMBERSHIP_SERVICE,
            'Join',
            { Addr: advertised },
            { timeoutMs: 60_000 },
          );
          break;
        } catch (err) {
          lastErr = err;
        }
      }
      if (!res) throw lastErr;
      for (const m of res.Members ?? []) if (m.NodeID !== id.nodeId) peers.transport.setAddr(m.NodeID, m.Addr);
      await waitFor(() => !!manager.store.get('nodes', id.nodeId) && manager.store.list('cluster').length > 0, 60_000);
      await writeNodeState(this.dataRoot, { ListenAddr: listen, AdvertiseAddr: advertised, Role: 'manager' });
    } catch (err) {
      await this.stop().catch(() => undefined);
      this.nodeId = this.clusterId = this.addr = this.advertise = this.listenAddr = '';
      throw err;
    }
    void this.refreshNodeDescription(manager).catch((err: Error) =>
      console.error(`shoal daemon: updating this node's description: ${err.message}`),
    );
  }

  /** `node promote` of this worker: its renewed certificate says manager; the worker's agent makes way for a manager's. */
  private promote(worker: WorkerNode, creds: NodeCredentials): Promise<void> {
    return this.serially(async () => {
      if (this.worker !== worker) return;
      const state = worker.nodeState;
      const through = worker.managerAddrs;
      const listen = state?.ListenAddr || '0.0.0.0:2377';
      const advertised = state?.AdvertiseAddr || `${this.addr}:${portOf(listen) ?? 2377}`;
      await this.stop();
      try {
        await this.becomeManager(creds, listen, advertised, through);
        console.error('shoal daemon: this node was promoted: it is now a manager');
      } catch (err) {
        console.error(`shoal daemon: becoming a manager after promotion failed: ${(err as Error).message}`);
      }
    });
  }

  /**
   * `node demote` of this manager. The leader hands leadership on (if it is this node) and removes this node from
   * Raft; this node gets a worker certificate from the CA (the store now says worker), drops its log and DEK (a
   * worker's key file is never locked), and carries on as a worker of the managers it knew.
   */
  private demote(manager: Manager): Promise<void> {
    if (this.demoting) return Promise.resolve();
    this.demoting = true;
    return this.serially(async () => {
      const peers = this.peers;
      if (this.manager !== manager || !peers || !this.ownCredentials) return;
      try {
        // The leader's role reconciler moves leadership away first; the CA call needs a leader anyway. A member
        // that was removed while it was down hears of no leader, only that it was removed.
        await waitFor(() => this.raftRemoved || (!!manager.raft?.leader() && !manager.isLeader), 60_000);
        if (this.raftRemoved) return await this.workerFromAnyManager(manager, peers, this.ownCredentials);
        // A manager catching up (just promoted, or restarted) replays old demotions: act only on what holds now.
        await manager.raft?.readBarrier();
        if (manager.store.get('nodes', this.nodeId)?.Spec.Role !== 'worker') return;
        const leaderAddr = peers.transport.addrOf(manager.raft!.leader()!)!;
        const others = [...manager.store.peek('nodes')]
          .filter((n) => n.ID !== this.nodeId && n.Spec.Role === 'manager' && n.ManagerStatus?.Addr)
          .map((n) => n.ManagerStatus!.Addr);
        const next = await requestRenewal(peers.client, leaderAddr, this.ownCredentials);
        if (parseNodeCertificate(next.certPem).role === MANAGER_ROLE) throw new Error('the CA still signs a manager');
        await this.becomeWorker(next, [leaderAddr, ...others]);
        console.error('shoal daemon: this node was demoted: it is now a worker');
      } catch (err) {
        console.error(`shoal daemon: demoting this node: ${(err as Error).message}`);
      } finally {
        this.demoting = false;
      }
    });
  }
  private demoting = false;

  /** A peer answered that this member was removed from Raft (see onRemovedFromRaft). */
  private raftRemoved = false;

  /**
   * A peer answered that this manager is no longer a Raft member: it was demoted while it was down and its log
   * stops before its removal, so no member will send it the rest. A demotion replayed from its own log may be
   * waiting for a leader that will never answer; it takes this path instead.
   */
  private onRemovedFromRaft(manager: Manager): void {
    if (this.manager !== manager) return;
    this.raftRemoved = true;
    if (!this.demoting) void this.demote(manager);
  }

  /**
   * As swarmkit's node does when it is removed: it asks the CA (any manager it knew) for a new certificate, and
   * carries on as a worker once the CA signs one. Until then it stays as it is, and the next answer tries again.
   */
  private async workerFromAnyManager(manager: Manager, peers: ManagerPeers, current: NodeCredentials): Promise<void> {
    this.raftRemoved = false;
    const addrs = [...manager.store.peek('nodes')]
      .filter((n) => n.ID !== this.nodeId && n.ManagerStatus?.Addr)
      .map((n) => n.ManagerStatus!.Addr);
    const failures: string[] = [];
    for (const [i, addr] of addrs.entries()) {
      let next: NodeCredentials;
      try {
        next = await requestRenewal(peers.client, addr, current);
      } catch (err) {
        failures.push(`${addr}: ${(err as Error).message}`);
        continue;
      }
      if (parseNodeCertificate(next.certPem).role === MANAGER_ROLE) {
        throw new Error('removed from the raft cluster, but the CA still signs a manager');
      }
      await this.becomeWorker(next, [addr, ...addrs.filter((_, j) => j !== i)]);
      console.error('shoal daemon: this node was demoted while it was down: it is now a worker');
      return;
    }
    throw new Error(`removed from the raft cluster, and no manager renewed its certificate: ${failures.join('; ')}`);
  }

  /** Drops the manager (its log and DEK: a worker's key file is never locked) and runs as a worker with `next`. */
  private async becomeWorker(next: NodeCredentials, remoteAddrs: string[]): Promise<void> {
    const state = (await readNodeState(this.dataRoot)) ?? {
      ListenAddr: this.listenAddr,
      AdvertiseAddr: this.advertise,
    };
    await this.stop();
    await rm(raftDir(this.dataRoot), { recursive: true, force: true });
    const workerFiles = { key: this.keyFile, cert: join(certificatesDir(this.dataRoot), 'swarm-node.crt') };
    await workerFiles.key.write({ keyPem: next.keyPem }, undefined, 0);
    await writeFile(workerFiles.cert, next.certPem, { mode: 0o644 });
    const workerState: NodeState = { ...state, Role: 'worker', RemoteAddrs: remoteAddrs };
    await writeNodeState(this.dataRoot, workerState);
    this.worker = await WorkerNode.resume(this.dataRoot, this.executor, workerState);
    this.startWorker(this.worker);
  }

  private startWorker(worker: WorkerNode): void {
    worker.onPromoted = (creds) => void this.promote(worker, creds);
    worker.start();
  }

  leave(force: boolean): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'inactive') throw new ApiError(503, MSG.notPartOfSwarm);
      if (this.locked && !force) throw new ApiError(503, MSG.leaveLocked);
      if (!force && !this.worker) throw new ApiError(503, leaveManagerMessage(this.manager));
      if (this.manager)
        await this.leaveRaft(this.manager).catch((err: Error) =>
          console.error(`shoal daemon: leaving Raft: ${err.message}; the other managers still count this one`),
        );
      await this.stop();
      await removeSwarmFiles(this.dataRoot);
      this.locked = false;
      this.nodeId = '';
      this.clusterId = '';
      this.addr = '';
      this.listenAddr = '';
    });
  }

  /**
   * `swarm leave --force` on a manager with others: leadership moves away if this node has it, then the leader
   * removes this node from Raft, so that the others' quorum no longer counts it.
   */
  private async leaveRaft(manager: Manager): Promise<void> {
    const raft = manager.raft;
    const peers = this.peers;
    if (!raft || !peers || raft.voters().length <= 1 || !raft.voters().includes(this.nodeId)) return;
    if (raft.isLeader()) {
      const withinMs = raft.timing.tickMs * raft.timing.electionTick;
      const to = raft.voters().find((id) => id !== this.nodeId && peers.transport.reachable(id, withinMs));
      if (!to || !raft.transferLeadership(to)) throw new Error('no other manager to hand leadership to');
    }
    await waitFor(
      () => !!raft.leader() && raft.leader() !== this.nodeId,
      3 * raft.timing.tickMs * raft.timing.electionTick,
    );
    const leaderAddr = peers.transport.addrOf(raft.leader()!);
    if (!leaderAddr) throw new Error('the leader has no known address');
    await peers.client.call(leaderAddr, MEMBERSHIP_SERVICE, 'Leave', {}, { timeoutMs: 15_000 });
  }

  /** Stops tasks and manager components; the swarm's files stay, and the next start resumes from them. */
  shutdown(): Promise<void> {
    return this.serially(() => this.stop());
  }

  private async stop(): Promise<void> {
    this.unwatchCluster?.();
    this.unwatchCluster = undefined;
    this.renewer?.stop();
    this.renewer = undefined;
    await this.worker?.stop();
    this.worker = undefined;
    await this.server?.close();
    this.server = undefined;
    await this.agent?.stop();
    await this.kekWork;
    await this.manager?.stop();
    this.peers?.close();
    this.peers = undefined;
    this.agent = undefined;
    this.manager = undefined;
    this.keys = undefined;
  }

  info(): SwarmInfo {
    if (this.worker) return this.worker.info();
    const m = this.manager;
    if (!m) {
      const locked = this.locked;
      return {
        // Docker leaves these empty while locked; shoal gives the IDs (from the certificate, which is
        // not secret) so that a client can tell which cluster's key to use, e.g. from a keychain.
        NodeID: locked ? this.nodeId : '',
        NodeAddr: locked ? this.addr : '',
        LocalNodeState: locked ? 'locked' : 'inactive',
        ControlAvailable: false,
        Error: locked ? MSG.locked : '',
        RemoteManagers: null,
        ...(locked ? { Cluster: { ID: this.clusterId } as ClusterInfo } : {}),
      };
    }
    const nodes = m.store.list('nodes');
    const managers = nodes.filter((n) => n.Spec.Role === 'manager');
    const cluster = m.store.list('cluster')[0];
    return {
      NodeID: this.nodeId,
      NodeAddr: this.addr,
      LocalNodeState: 'active',
      ControlAvailable: true,
      Error: '',
      RemoteManagers: managers.map((n) => ({ NodeID: n.ID, Addr: n.ManagerStatus?.Addr ?? '' })),
      Nodes: nodes.length,
      Managers: managers.length,
      Cluster: cluster ? publicCluster(cluster) : undefined,
    };
  }
}

/** A manager's own certificate, for a fresh key, signed by the swarm's root (a manager is the CA). */
async function issueManagerCertificate(
  root: { certPem: string; keyPem: string },
  id: { nodeId: string; clusterId: string },
  expiryNs: number | undefined,
): Promise<{ keyPem: PemPrivateKey; certPem: PemCertificate }> {
  const { keyPem, csrPem } = await createNodeKeyAndCSR();
  const certPem = await issueNodeCertificate({
    rootCertPem: root.certPem as PemCertificate,
    rootKeyPem: root.keyPem as PemPrivateKey,
    csrPem,
    ...id,
    role: 'swarm-manager',
    expiryNs,
  });
  return { keyPem, certPem };
}

/** The cluster as the API shows it: without the CA key, join tokens, unlock key or removed-node list. */
export function publicCluster(c: ClusterObject) {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { RootCA, UnlockKey, BlacklistedCertificates, ...info } = c;
  return info;
}

/** Resolves once `ok()` holds, polling; rejects after `ms`. */
async function waitFor(ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out waiting for the swarm state from the leader');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What `swarm leave` without --force tells a manager (moby's Cluster.Leave): it always refuses, and says what leaving
 * would cost. "Reachable" counts managers as the leader last saw them, this one included.
 */
function leaveManagerMessage(manager: Manager | undefined): string {
  let msg = 'You are attempting to leave the swarm on a node that is participating as a manager. ';
  const members = manager ? [...manager.store.peek('nodes')].filter((n) => n.ManagerStatus) : [];
  const reachable = members.filter((n) => n.ManagerStatus!.Reachability === 'reachable').length;
  const unreachable = members.length - reachable;
  if (reachable - 2 <= unreachable) {
    if (reachable <= 1 && unreachable === 0) return MSG.leaveLastManager;
    msg += `Removing this node leaves ${reachable - 1} managers out of ${reachable + unreachable}. Without a Raft quorum your swarm will be inaccessible. `;
  }
  return (
    msg +
    'The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.'
  );
}
