// A manager's view of the other managers: how to reach them (addresses from the store's ManagerStatus, kept in
// the transport), the RaftMembership service a joining manager calls, and, on the leader, the managers' status in
// the store (Leader, Reachable/Unreachable, Ready/Down) as `node ls` shows it.
import type { NodeRole } from '../../ca/node-cert';
import type { Node } from '../../types/swarm';
import { RpcClient } from '../../transport/client';
import { RpcError } from '../../transport/errors';
import type { CallContext, RpcServer } from '../../transport/server';
import type { NodeCredentials } from '../../transport/tls-config';
import { goTime } from '../../util/time';
import type { Manager } from '../manager';
import { PeerTransport } from './transport';

export const MEMBERSHIP_SERVICE = 'RaftMembership';

export interface JoinRaftRequest {
  /** The joining manager's address for the others (its advertise address, ip:port). */
  Addr: string;
  /** Set by a manager that passes a join on to the leader: whose join it is. */
  NodeID?: string;
}

export interface RaftMember {
  NodeID: string;
  Addr: string;
}

export interface JoinRaftResponse {
  Members: RaftMember[];
}

const MANAGER: NodeRole = 'swarm-manager';

export class ManagerPeers {
  readonly client: RpcClient;
  readonly transport: PeerTransport;
  private timer?: NodeJS.Timeout;
  private unwatch?: () => void;

  constructor(
    credentials: NodeCredentials,
    private readonly selfId: string,
    readonly selfAddr: string,
  ) {
    this.client = new RpcClient({ credentials });
    this.transport = new PeerTransport(this.client, selfAddr);
  }

  setCredentials(credentials: NodeCredentials): void {
    this.client.setCredentials(credentials);
  }

  /** Keeps the transport's addresses in step with the store, and the managers' status with Raft while leading. */
  follow(manager: Manager): void {
    const sync = () => {
      for (const n of manager.store.peek('nodes')) {
        if (n.ID !== this.selfId && n.ManagerStatus?.Addr) this.transport.setAddr(n.ID, n.ManagerStatus.Addr);
      }
    };
    sync();
    const onCommit = (events: { table: string }[]) => {
      if (events.some((e) => e.table === 'nodes')) sync();
    };
    manager.store.on('commit', onCommit);
    this.unwatch = () => manager.store.off('commit', onCommit);
    const raft = manager.raft;
    if (!raft) return;
    const periodMs = raft.timing.tickMs;
    this.timer = setInterval(() => {
      if (!manager.isLeader) return;
      void this.reconcileStatus(manager).catch(() => undefined);
      void this.reconcileRoles(manager).catch((err: Error) =>
        console.error(`shoal daemon: raft: demoting a manager: ${err.message}`),
      );
    }, periodMs);
    this.timer.unref();
  }

  /**
   * The leader writes what it knows of each manager: itself the leader, the others reachable while their Raft
   * calls succeed (within an election timeout), else unreachable and, like a worker without heartbeats, down.
   */
  private async reconcileStatus(manager: Manager): Promise<void> {
    const raft = manager.raft!;
    const withinMs = raft.timing.tickMs * raft.timing.electionTick;
    const voters = new Set(raft.voters());
    const want = (n: Node): Pick<Node, 'ManagerStatus' | 'Status'> | undefined => {
      if (n.Spec.Role !== 'manager' || !n.ManagerStatus) return undefined;
      const self = n.ID === this.selfId;
      const reachable = self || (voters.has(n.ID) && this.transport.reachable(n.ID, withinMs));
      return {
        ManagerStatus: { ...n.ManagerStatus, Leader: self, Reachability: reachable ? 'reachable' : 'unreachable' },
        Status: { ...n.Status, State: reachable ? 'ready' : 'down' },
      };
    };
    const changed = [...manager.store.peek('nodes')].filter((n) => {
      const w = want(n);
      return (
        w &&
        (w.ManagerStatus!.Leader !== !!n.ManagerStatus!.Leader ||
          w.ManagerStatus!.Reachability !== n.ManagerStatus!.Reachability ||
          w.Status.State !== n.Status.State)
      );
    });
    if (changed.length === 0) return;
    await manager.store.retryUpdate((tx) => {
      for (const c of changed) {
        const n = tx.get('nodes', c.ID);
        const w = n && want(n);
        if (n && w) tx.update('nodes', { ...n, ...w, UpdatedAt: goTime() });
      }
    });
  }

  private demoting = false;

  /**
   * swarmkit's role manager, for demotions: a node the store now calls a worker leaves Raft (after this leader hands
   * leadership to another reachable manager, if the node is this one) and loses its ManagerStatus.
   */
  private async reconcileRoles(manager: Manager): Promise<void> {
    const raft = manager.raft!;
    if (this.demoting) return;
    const voters = raft.voters();
    const node = [...manager.store.peek('nodes')].find((n) => n.Spec.Role === 'worker' && voters.includes(n.ID));
    if (!node) return;
    this.demoting = true;
    try {
      if (node.ID === this.selfId) {
        const withinMs = raft.timing.tickMs * raft.timing.electionTick;
        const to = voters.find((id) => id !== this.selfId && this.transport.reachable(id, withinMs));
        if (to) raft.transferLeadership(to);
        return;
      }
      await raft.changeMembership({ type: 'remove-member', nodeId: node.ID });
      await manager.store.retryUpdate((tx) => {
        const n = tx.get('nodes', node.ID);
        if (!n) return;
        // eslint-disable-next-line @typescript-eslint/no-unused-vars
        const { ManagerStatus, ...rest } = n;
        tx.update('nodes', { ...rest, UpdatedAt: goTime() } as Node);
      });
    } finally {
      this.demoting = false;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.unwatch?.();
    this.transport.close();
    this.client.close();
  }
}

/**
 * RaftMembership/Join: a manager that joined with the manager token (and so holds a manager certificate) asks to
 * become a voter. A follower passes the call on to the leader, which records the address, adds the member once
 * the configuration allows, and answers with every member's address.
 */
export function registerMembershipService(
  server: RpcServer,
  manager: () => Manager | undefined,
  peers: ManagerPeers,
): void {
  server.unary<JoinRaftRequest, JoinRaftResponse>(MEMBERSHIP_SERVICE, 'Join', async (req, ctx) => {
    const m = manager();
    const raft = m?.raft;
    if (!m || !raft) throw new RpcError('Unavailable', 'raft: this manager is not running');
    const nodeId = joiningNode(req, ctx);
    const addr = typeof req?.Addr === 'string' ? req.Addr : '';
    if (!/^.+:\d+$/.test(addr))
      throw new RpcError('InvalidArgument', 'a join needs the address of the joining manager');
    if (!raft.isLeader()) {
      const leader = raft.leader();
      const leaderAddr = leader && peers.transport.addrOf(leader);
      if (!leaderAddr) throw new RpcError('Unavailable', 'raft: no elected cluster leader');
      return peers.client.call<JoinRaftRequest, JoinRaftResponse>(
        leaderAddr,
        MEMBERSHIP_SERVICE,
        'Join',
        { Addr: addr, NodeID: nodeId },
        { timeoutMs: 30_000 },
      );
    }
    const node = m.store.get('nodes', nodeId);
    if (!node || node.Spec.Role !== 'manager') {
      throw new RpcError('FailedPrecondition', `node ${nodeId} is not a manager of this swarm`);
    }
    await m.store.retryUpdate((tx) => {
      const n = tx.get('nodes', nodeId);
      if (!n) return;
      tx.update('nodes', {
        ...n,
        UpdatedAt: goTime(),
        Status: { ...n.Status, State: 'ready' },
        ManagerStatus: { Leader: false, Reachability: 'reachable', Addr: addr },
      });
    });
    peers.transport.setAddr(nodeId, addr);
    if (!raft.voters().includes(nodeId)) {
      try {
        await raft.changeMembership({ type: 'add-member', nodeId });
      } catch (err) {
        throw new RpcError('Unavailable', (err as Error).message);
      }
    }
    return {
      Members: raft.voters().map((id) => ({
        NodeID: id,
        Addr: id === raft.id ? peers.selfAddr : (peers.transport.addrOf(id) ?? ''),
      })),
    };
  });
}

/**
 * RaftMembership/Leave: a manager leaving the swarm (`swarm leave --force`) asks the leader to take it out of Raft;
 * its node stays, down and no longer a member, until `node rm`.
 */
export function registerLeaveService(server: RpcServer, manager: () => Manager | undefined, peers: ManagerPeers): void {
  server.unary<JoinRaftRequest, object>(MEMBERSHIP_SERVICE, 'Leave', async (req, ctx) => {
    const m = manager();
    const raft = m?.raft;
    if (!m || !raft) throw new RpcError('Unavailable', 'raft: this manager is not running');
    const nodeId = joiningNode(req, ctx);
    if (!raft.isLeader()) {
      const leader = raft.leader();
      const leaderAddr = leader && peers.transport.addrOf(leader);
      if (!leaderAddr) throw new RpcError('Unavailable', 'raft: no elected cluster leader');
      return peers.client.call(leaderAddr, MEMBERSHIP_SERVICE, 'Leave', { NodeID: nodeId }, { timeoutMs: 15_000 });
    }
    if (nodeId === raft.id) throw new RpcError('FailedPrecondition', 'the leader cannot remove itself');
    if (raft.voters().includes(nodeId)) {
      try {
        await raft.changeMembership({ type: 'remove-member', nodeId });
      } catch (err) {
        throw new RpcError('Unavailable', (err as Error).message);
      }
    }
    await m.store.retryUpdate((tx) => {
      const n = tx.get('nodes', nodeId);
      if (!n) return;
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      const { ManagerStatus, ...rest } = n;
      tx.update('nodes', { ...rest, UpdatedAt: goTime(), Status: { ...n.Status, State: 'down' } } as Node);
    });
    return {};
  });
}

/** The caller, or for a join passed on by another manager, the node it names. */
function joiningNode(req: JoinRaftRequest, ctx: CallContext): string {
  const peer = ctx.peer;
  if (!peer || peer.role !== MANAGER) throw new RpcError('PermissionDenied', 'a manager certificate is needed');
  return typeof req?.NodeID === 'string' && req.NodeID ? req.NodeID : peer.nodeId;
}
