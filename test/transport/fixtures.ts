// A swarm's PKI and state for transport, CA and join tests: a root CA, a cluster object in a real MemoryStore,
// and node certificates of every kind a test throws at a manager.
import {
  createNodeKeyAndCSR,
  createRootCA,
  generateJoinToken,
  issueNodeCertificate,
  tlsInfoFor,
  type NodeRole,
  type RootCAMaterial,
} from '../../src/ca';
import { MemoryStore } from '../../src/store/memory-store';
import type { ClusterObject } from '../../src/store/objects';
import type { LogEntry, ReplicatedLog } from '../../src/log/replicated-log';
import type { Node } from '../../src/types/swarm';
import type { NodeCredentials } from '../../src/transport';
import { withRemovedNode } from '../../src/ca/ca-store';

/** A log of one member that commits at once: enough for the store's transactions. */
export function openStore(): MemoryStore {
  const store = new MemoryStore();
  let index = 0;
  const log: ReplicatedLog = {
    propose: async (data) => store.apply({ index: ++index, term: 1, data } satisfies LogEntry),
    appliedIndex: () => index,
    close: async () => undefined,
  };
  store.attach(log);
  return store;
}

export interface IssueOptions {
  clusterId?: string;
  now?: Date;
  expiryNs?: number;
}

export async function issueCredentials(
  root: RootCAMaterial,
  role: NodeRole,
  nodeId: string,
  opts: IssueOptions = {},
): Promise<NodeCredentials & { nodeId: string }> {
  const { keyPem, csrPem } = await createNodeKeyAndCSR();
  const certPem = await issueNodeCertificate({
    rootCertPem: root.certPem,
    rootKeyPem: root.keyPem,
    csrPem,
    nodeId,
    role,
    clusterId: opts.clusterId ?? 'cluster0',
    now: opts.now,
    expiryNs: opts.expiryNs,
  });
  return { certPem, keyPem, rootCertPem: root.certPem, nodeId };
}

export function nodeRecord(id: string, role: 'worker' | 'manager'): Node {
  return {
    ID: id,
    Version: {},
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Labels: {}, Role: role, Availability: 'active' },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 0, MemoryBytes: 0 },
      Engine: { EngineVersion: 'test' },
      TLSInfo: {},
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
  };
}

const DAY_MS = 86_400_000;

/** A swarm: its root, its state, and certificates for a manager, a worker and every kind of intruder. */
export async function makeSwarm(opts: { clusterId?: string; nodeCertExpiryNs?: number } = {}) {
  const clusterId = opts.clusterId ?? 'cluster0';
  const root = await createRootCA();
  const otherRoot = await createRootCA();
  const store = openStore();
  const cluster: ClusterObject = {
    ID: clusterId,
    Version: {},
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Labels: {}, CAConfig: { NodeCertExpiry: opts.nodeCertExpiryNs } },
    TLSInfo: tlsInfoFor(root.certPem),
    RootRotationInProgress: false,
    DefaultAddrPool: [],
    SubnetSize: 24,
    DataPathPort: 4789,
    RootCA: {
      CACert: root.certPem,
      CAKey: root.keyPem,
      JoinTokens: { Worker: generateJoinToken(root.certPem), Manager: generateJoinToken(root.certPem) },
    },
    UnlockKey: '',
  };
  const ids = {
    manager: 'manager0000000000000000001',
    worker: 'worker00000000000000000001',
    removed: 'removed0000000000000000001',
    expired: 'expired0000000000000000001',
    foreign: 'foreign0000000000000000001',
    otherCluster: 'othercluster0000000000001',
  };
  await store.update((tx) => {
    tx.create('cluster', cluster);
    tx.create('nodes', nodeRecord(ids.manager, 'manager'));
    tx.create('nodes', nodeRecord(ids.worker, 'worker'));
    tx.create('nodes', nodeRecord(ids.expired, 'worker'));
  });
  // `node rm` of a worker: its record goes, its ID is remembered.
  await store.update((tx) => {
    tx.create('nodes', nodeRecord(ids.removed, 'worker'));
  });
  await store.update((tx) => {
    tx.delete('nodes', ids.removed);
    tx.update('cluster', withRemovedNode(tx.list('cluster')[0], ids.removed));
  });

  const creds = {
    manager: await issueCredentials(root, 'swarm-manager', ids.manager, { clusterId }),
    worker: await issueCredentials(root, 'swarm-worker', ids.worker, { clusterId }),
    removed: await issueCredentials(root, 'swarm-worker', ids.removed, { clusterId }),
    removedManager: await issueCredentials(root, 'swarm-manager', ids.removed, { clusterId }),
    // Issued 100 days ago for 1 h: expired long since.
    expired: await issueCredentials(root, 'swarm-worker', ids.expired, {
      clusterId,
      now: new Date(Date.now() - 100 * DAY_MS),
      expiryNs: 3600e9,
    }),
    expiredManager: await issueCredentials(root, 'swarm-manager', ids.manager, {
      clusterId,
      now: new Date(Date.now() - 100 * DAY_MS),
      expiryNs: 3600e9,
    }),
    // Another swarm's CA, with the same cluster ID in its certificates so that only the CA differs.
    foreign: await issueCredentials(otherRoot, 'swarm-worker', ids.foreign, { clusterId }),
    foreignManager: await issueCredentials(otherRoot, 'swarm-manager', ids.manager, { clusterId }),
    // Our CA, but the O of another cluster.
    otherCluster: await issueCredentials(root, 'swarm-manager', ids.otherCluster, { clusterId: 'cluster1' }),
  };
  return { clusterId, root, otherRoot, store, cluster, ids, creds };
}

export type Swarm = Awaited<ReturnType<typeof makeSwarm>>;

export function tokens(store: MemoryStore): { worker: string; manager: string } {
  const c = store.list('cluster')[0];
  return { worker: c.RootCA.JoinTokens.Worker, manager: c.RootCA.JoinTokens.Manager };
}

/** `host:port` of a listening server. */
export const addrOf = (a: { port: number }) => `127.0.0.1:${a.port}`;
