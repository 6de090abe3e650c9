// A manager's port for other nodes (swarm init --listen-addr, 2377 by default): one RpcServer on mutual TLS with the
// node's own credentials, serving the CA (join, renewal) and the dispatcher (sessions, heartbeats, task status),
// each call checked by clusterAuthorizer; and, with several managers, Raft and RaftMembership.
import { registerLeaveService, registerMembershipService, type ManagerPeers } from './raft/peers';
import { registerRaftService } from './raft/transport';
import { CAServer } from '../ca/ca-server';
import { parseNodeCertificate } from '../ca/certificate-info';
import { ExternalCAClient } from '../ca/external-ca';
import { MemoryCAStore } from '../ca/ca-store';
import { DispatcherService } from '../dispatcher/rpc-service';
import { RpcServer } from '../transport/server';
import type { NodeCredentials } from '../transport/tls-config';
import { clusterAuthorizer } from './authz';
import type { Manager } from './manager';

export class NodeServer {
  private constructor(
    private readonly server: RpcServer,
    private readonly dispatcher: DispatcherService,
    private readonly unwatch: () => void,
  ) {}

  /** Listens on `listenAddr` (host:port, [v6]:port). Rejects if the address cannot be bound. */
  static async start(
    manager: Manager,
    nodeId: string,
    credentials: NodeCredentials,
    listenAddr: string,
    peers?: ManagerPeers,
  ) {
    const caStore = new MemoryCAStore(manager.store);
    // From this node's own certificate: a manager that just joined has no store yet to read it from.
    const clusterId = parseNodeCertificate(credentials.certPem).clusterId;
    const server = new RpcServer({
      credentials,
      authorize: clusterAuthorizer({ clusterId, isRemoved: (id) => caStore.isRemoved(id) }),
    });
    // External CAs are signed through with this manager's certificate as it stands (renewed, rotated).
    new CAServer(caStore, {
      externalCA: new ExternalCAClient(() => manager.tlsCredentials?.() ?? credentials),
    }).register(server);
    const leaderAddr = () => {
      const leader = manager.raft?.leader();
      return leader ? manager.store.get('nodes', leader)?.ManagerStatus?.Addr : undefined;
    };
    const dispatcher = new DispatcherService(manager.store, manager.dispatcher, nodeId, leaderAddr);
    dispatcher.register(server);
    if (peers) {
      // A node that is no longer a voter and that the store calls a worker was demoted: if it still speaks Raft, it
      // missed its removal while it was down, and the answer tells it so.
      const isRemoved = (id: string) =>
        !!manager.raft && !manager.raft.voters().includes(id) && manager.store.get('nodes', id)?.Spec.Role === 'worker';
      registerRaftService(server, () => manager.raft, peers.transport, isRemoved);
      registerMembershipService(server, () => manager, peers);
      registerLeaveService(server, () => manager, peers);
    }
    const { host, port } = splitHostPort(listenAddr);
    await server.listen(port, host);
    if (manager.isLeader) dispatcher.start();
    else dispatcher.setLeading(false);
    const unwatch = manager.onLeadership((leading) => dispatcher.setLeading(leading));
    return new NodeServer(server, dispatcher, unwatch);
  }

  get port(): number | undefined {
    return this.server.address()?.port;
  }

  /** A renewed certificate or key. */
  setCredentials(credentials: NodeCredentials): void {
    this.server.setCredentials(credentials);
  }

  async close(): Promise<void> {
    this.unwatch();
    this.dispatcher.stop();
    await this.server.close();
  }
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) return { host: addr || '0.0.0.0', port: 2377 };
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}
