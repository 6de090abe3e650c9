import { mkdir, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { ApiError, MSG } from '../api/errors';
import { Manager } from '../manager/manager';
import { Agent } from '../agent/agent';
import type { Executor } from '../agent/exec/executor';
import type { ClusterObject } from '../store/objects';
import type { InitRequest, Node, SwarmInfo } from '../types/swarm';
import { newId } from '../util/ids';
import { goTime } from '../util/time';
import { normalizeSwarmSpec } from '../manager/controlapi/cluster-spec';
import {
  createRootCA,
  createNodeKeyAndCSR,
  generateJoinToken,
  issueNodeCertificate,
  tlsInfoFor,
  writeKeyFile,
} from '../ca';

/**
 * This node's membership of a swarm: inactive until `swarm init`, then a manager that runs its
 * own tasks too. It owns the manager components and the agent, and the node's certificates
 * under <data root>/certificates.
 */
export class SwarmNode {
  manager?: Manager;
  private agent?: Agent;
  nodeId = '';
  private addr = '';

  constructor(
    private readonly dataRoot: string,
    private readonly executor: Executor,
  ) {}

  get state(): 'inactive' | 'active' {
    return this.manager ? 'active' : 'inactive';
  }

  requireManager(): Manager {
    if (!this.manager) throw new ApiError(503, MSG.noSwarm);
    return this.manager;
  }

  async init(req: InitRequest): Promise<string> {
    if (this.manager) throw new ApiError(503, MSG.alreadyInSwarm);
    const autolock = !!(req.AutoLockManagers || req.Spec?.EncryptionConfig?.AutoLockManagers);
    if (autolock) {
      throw new ApiError(501, 'autolock needs the encrypted Raft log, which this version of shoal does not have yet');
    }
    const availability = req.Availability || 'active';
    if (!['active', 'pause', 'drain'].includes(availability))
      throw new ApiError(400, `invalid Availability: "${availability}"`);
    const spec = normalizeSwarmSpec(req.Spec);
    const listenPort = portOf(req.ListenAddr) ?? 2377;
    const advertise = advertiseAddr(req.AdvertiseAddr, listenPort);

    const clusterId = newId();
    const nodeId = newId();
    const root = await createRootCA();
    const { keyPem, csrPem } = await createNodeKeyAndCSR();
    const certPem = await issueNodeCertificate({
      rootCertPem: root.certPem,
      rootKeyPem: root.keyPem,
      csrPem,
      nodeId,
      role: 'swarm-manager',
      clusterId,
      expiryNs: spec.CAConfig?.NodeCertExpiry,
    });
    const certDir = join(this.dataRoot, 'certificates');
    await mkdir(certDir, { recursive: true, mode: 0o700 });
    await writeKeyFile(join(certDir, 'swarm-node.key'), keyPem);
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
        JoinTokens: { Worker: generateJoinToken(root.certPem), Manager: generateJoinToken(root.certPem) },
      },
      UnlockKey: '',
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
      ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: `${advertise.ip}:${advertise.port}` },
    };
    const manager = await Manager.open();
    await manager.store.update((tx) => {
      tx.create('cluster', cluster);
      tx.create('nodes', node);
    });
    this.manager = manager;
    this.nodeId = nodeId;
    this.addr = advertise.ip;
    manager.start();
    this.agent = new Agent(
      nodeId,
      manager.dispatcher,
      this.executor,
      (id) => manager.store.get('services', id)?.Spec.Name ?? id,
    );
    this.agent.start();
    return nodeId;
  }

  async leave(force: boolean): Promise<void> {
    if (!this.manager) throw new ApiError(503, MSG.notPartOfSwarm);
    if (!force) throw new ApiError(503, MSG.leaveLastManager);
    await this.shutdown();
    await rm(join(this.dataRoot, 'certificates'), { recursive: true, force: true });
  }

  /** Stops tasks and manager components; the swarm state (in memory) goes with them. */
  async shutdown(): Promise<void> {
    await this.agent?.stop();
    await this.manager?.stop();
    this.agent = undefined;
    this.manager = undefined;
    this.nodeId = '';
    this.addr = '';
  }

  info(): SwarmInfo {
    const m = this.manager;
    if (!m) {
      return {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
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

/** The cluster as the API shows it: without the CA key, join tokens or unlock key. */
export function publicCluster(c: ClusterObject) {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { RootCA, UnlockKey, ...info } = c;
  return info;
}

function portOf(addr: string | undefined): number | undefined {
  const m = /:(\d+)$/.exec(addr ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The address other nodes reach this one at: as given (IP, IP:port or interface name), else the first external IPv4. */
function advertiseAddr(given: string | undefined, port: number): { ip: string; port: number } {
  const ifs = networkInterfaces();
  if (given) {
    const p = portOf(given) ?? port;
    const host = given.replace(/:(\d+)$/, '');
    const iface = ifs[host]?.find((a) => a.family === 'IPv4');
    if (iface) return { ip: iface.address, port: p };
    if (!/^[\d.]+$|^[0-9a-f:]+$/i.test(host))
      throw new ApiError(
        400,
        `advertise address must be a non-zero IP address or network interface (with optional port number)`,
      );
    return { ip: host, port: p };
  }
  for (const list of Object.values(ifs)) {
    const a = list?.find((x) => x.family === 'IPv4' && !x.internal);
    if (a) return { ip: a.address, port };
  }
  return { ip: '127.0.0.1', port };
}
