// What the CA server reads and writes in the cluster's state, as an interface, and its form over the MemoryStore.
import { ExistsError } from '../store/errors';
import type { MemoryStore } from '../store/memory-store';
import type { ClusterObject, ClusterRootCA } from '../store/objects';
import type { ExternalCA, Node, NodeAvailability } from '../types/swarm';
import { goTime } from '../util/time';
import { DEFAULT_NODE_CERT_EXPIRY_NS, MANAGER_ROLE, WORKER_ROLE, type NodeRole } from './node-cert';
import type { PemCertificate, PemPrivateKey } from './pem';

export interface CACluster {
  id: string;
  /** The root bundle exactly as stored (join tokens pin its digest). */
  caCert: PemCertificate;
  caKey: PemPrivateKey;
  /** The whole root state: a rotation in progress, if any, decides what signs. */
  rootCA: ClusterRootCA;
  /** Spec.CAConfig.ExternalCAs. */
  externalCAs: ExternalCA[] | undefined;
  joinTokens: { worker: string; manager: string };
  /** Spec.CAConfig.NodeCertExpiry: the lifetime of certificates issued from now on. */
  nodeCertExpiryNs: number | undefined;
  /** The unlock key while autolock is on, else ''. */
  unlockKey: string;
  version: number;
}

export interface CANode {
  id: string;
  /** The role its next certificate carries (the store's, never the old certificate's). */
  role: NodeRole;
}

export interface NewCANode {
  id: string;
  role: NodeRole;
  availability: NodeAvailability;
  /** The address the node called from. */
  addr: string;
}

/** Thrown by createNode when the ID is taken. */
export class NodeIdTakenError extends Error {
  constructor(id: string) {
    super(`node ${id} already exists`);
  }
}

export interface CAStore {
  cluster(): CACluster | undefined;
  node(id: string): CANode | undefined;
  /** Adds the record of a node that just joined. Throws NodeIdTakenError if a node has this ID. */
  createNode(node: NewCANode): Promise<void>;
  /** Whether `node rm` removed this node: its certificate, though valid, no longer admits it. */
  isRemoved(nodeId: string): boolean;
  /** Records where the node's certificate stands (issued; pending or failed with why). */
  setCertificateStatus(nodeId: string, status: NonNullable<Node['Certificate']>['Status']): Promise<void>;
}

// ---- removed nodes ---------------------------------------------------------

/** swarmkit's Cluster.BlacklistedCertificates entry: kept until a week after the node's certificate expired. */
export interface RemovedNodeEntry {
  /** RFC 3339: when the removed node's last certificate expires at the latest. */
  Expiry: string;
}

/**
 * The cluster object with swarmkit's list of removed nodes. It is not (yet) part of ClusterObject; it must stay
 * out of what the API returns, like RootCA and UnlockKey.
 */
export type ClusterWithRemovedNodes = ClusterObject & { BlacklistedCertificates?: Record<string, RemovedNodeEntry> };

/** swarmkit's expiredCertGrace: an entry is dropped this long after the certificate it stops has expired. */
export const REMOVED_NODE_GRACE_MS = 7 * 24 * 3600_000;

/**
 * The cluster after `node rm` of `nodeId`, to write in the same transaction that deletes the node. Without the
 * node's certificate at hand, its expiry is bounded by now + the certificate lifetime + swarmkit's 1 h margin.
 */
export function withRemovedNode(cluster: ClusterObject, nodeId: string, now = new Date()): ClusterWithRemovedNodes {
  const c = cluster as ClusterWithRemovedNodes;
  const lifetimeMs = Math.floor((c.Spec.CAConfig?.NodeCertExpiry || DEFAULT_NODE_CERT_EXPIRY_NS) / 1e6) + 3600_000;
  const expiry = goTime(new Date(now.getTime() + lifetimeMs));
  return { ...c, BlacklistedCertificates: { ...(c.BlacklistedCertificates ?? {}), [nodeId]: { Expiry: expiry } } };
}

/** The cluster without the removed-node entries whose certificates expired over a week ago (swarmkit's GC). */
export function withoutExpiredRemovals(cluster: ClusterObject, now = new Date()): ClusterWithRemovedNodes {
  const c = cluster as ClusterWithRemovedNodes;
  const kept: Record<string, RemovedNodeEntry> = {};
  for (const [id, e] of Object.entries(c.BlacklistedCertificates ?? {})) {
    if (now.getTime() - REMOVED_NODE_GRACE_MS <= Date.parse(e.Expiry)) kept[id] = e;
  }
  return { ...c, BlacklistedCertificates: kept };
}

// ---- over the MemoryStore --------------------------------------------------

const certRole = (n: Node): NodeRole => (n.Spec.Role === 'manager' ? MANAGER_ROLE : WORKER_ROLE);

/** The CA's view of a MemoryStore: the one cluster object, the nodes table. */
export class MemoryCAStore implements CAStore {
  constructor(
    private readonly store: MemoryStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private clusterObject(): ClusterWithRemovedNodes | undefined {
    for (const c of this.store.peek('cluster')) return c as ClusterWithRemovedNodes;
    return undefined;
  }

  cluster(): CACluster | undefined {
    const c = this.clusterObject();
    if (!c) return undefined;
    return {
      id: c.ID,
      caCert: c.RootCA.CACert,
      caKey: c.RootCA.CAKey,
      rootCA: c.RootCA,
      externalCAs: c.Spec.CAConfig?.ExternalCAs,
      joinTokens: { worker: c.RootCA.JoinTokens.Worker, manager: c.RootCA.JoinTokens.Manager },
      nodeCertExpiryNs: c.Spec.CAConfig?.NodeCertExpiry,
      unlockKey: c.Spec.EncryptionConfig?.AutoLockManagers ? c.UnlockKey : '',
      version: c.Version.Index ?? 0,
    };
  }

  node(id: string): CANode | undefined {
    const n = this.store.get('nodes', id);
    return n ? { id: n.ID, role: certRole(n) } : undefined;
  }

  isRemoved(nodeId: string): boolean {
    const c = this.clusterObject();
    return !!c?.BlacklistedCertificates && Object.prototype.hasOwnProperty.call(c.BlacklistedCertificates, nodeId);
  }

  async setCertificateStatus(nodeId: string, status: NonNullable<Node['Certificate']>['Status']): Promise<void> {
    await this.store.retryUpdate((tx) => {
      const n = tx.get('nodes', nodeId);
      if (!n) return;
      const cur = n.Certificate?.Status;
      if (cur?.State === status.State && cur.Err === status.Err) return;
      tx.update('nodes', { ...n, Certificate: { Status: status } });
    });
  }

  async createNode(n: NewCANode): Promise<void> {
    const now = goTime(this.clock());
    const create = this.store.update((tx) => {
      if (tx.get('nodes', n.id)) throw new NodeIdTakenError(n.id);
      const cluster = tx.list('cluster')[0];
      const node: Node = {
        ID: n.id,
        Version: {},
        CreatedAt: now,
        UpdatedAt: now,
        Spec: { Labels: {}, Role: n.role === MANAGER_ROLE ? 'manager' : 'worker', Availability: n.availability },
        // The agent reports its description when its dispatcher session starts.
        Description: {
          Hostname: '',
          Platform: { Architecture: '', OS: '' },
          Resources: { NanoCPUs: 0, MemoryBytes: 0 },
          Engine: { EngineVersion: '' },
          TLSInfo: cluster?.TLSInfo ?? {},
        },
        Status: { State: 'unknown', Addr: n.addr },
        Certificate: { Status: { State: 'ISSUED' } },
      };
      tx.create('nodes', node);
    });
    // Two creations of one ID can both pass the check above; applying the second fails.
    await create.catch((err: unknown) => {
      throw err instanceof ExistsError ? new NodeIdTakenError(n.id) : err;
    });
  }
}
