// Raft among managers over the node-to-node transport (mutual TLS, HTTP/2): swarmkit's Raft service. A member's
// messages to a peer go out as one call at a time per peer, with what queued meanwhile in the next call; a call
// that fails is dropped (Raft sends again) and marks the peer unreachable until one succeeds.
//
// A message is accepted only from the member its certificate names: a manager cannot speak for another.
import type { Message, NodeId, ProposeResult } from '../../raft';
import type { RpcClient } from '../../transport/client';
import { RpcError } from '../../transport/errors';
import type { CallContext, RpcServer } from '../../transport/server';
import type { RaftLog, RaftTransport } from './raft-log';
import { fromWire, toWire } from './wire';

export const RAFT_SERVICE = 'Raft';

export interface ProcessRaftMessageRequest {
  /** Where the sender listens, so that a member that does not know it yet (a new one) can answer. */
  FromAddr: string;
  Messages: unknown[];
}

export interface ForwardProposalRequest {
  Data: unknown;
}

/** swarmkit's membership.ErrMemberRemoved: a member answers it to a node that was taken out of Raft. */
export const ERR_MEMBER_REMOVED = 'raft: member has been removed';

/** Most messages queued for one peer while a call to it is in flight; beyond, the oldest are dropped. */
const MAX_QUEUED = 4096;

interface Peer {
  queue: Message[];
  busy: boolean;
  /** When a call to it last succeeded. */
  lastOk: number;
  lastFailure: number;
}

export class PeerTransport implements RaftTransport {
  private readonly peers = new Map<NodeId, Peer>();
  /** Peers' addresses: from the store (ManagerStatus.Addr), from join answers and from their own messages. */
  private readonly addrs = new Map<NodeId, string>();
  private closed = false;
  /**
   * A peer answered that this member was removed from Raft: it was demoted (or left) while it was down and missed
   * its own removal, so its log still names it a member. Called once per answer.
   */
  onRemoved?: () => void;

  constructor(
    private readonly client: RpcClient,
    /** This member's address for the others. */
    private readonly selfAddr: string,
    private readonly callTimeoutMs = 2000,
  ) {}

  setAddr(id: NodeId, addr: string): void {
    if (addr) this.addrs.set(id, addr);
  }

  addrOf(id: NodeId): string | undefined {
    return this.addrs.get(id);
  }

  /** Whether the last call to `id` succeeded within `withinMs` (a member's own status counts as reachable). */
  reachable(id: NodeId, withinMs: number, now = Date.now()): boolean {
    const p = this.peers.get(id);
    return !!p && p.lastOk >= p.lastFailure && now - p.lastOk <= withinMs;
  }

  send(messages: Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      const p = this.peer(m.to);
      p.queue.push(m);
      if (p.queue.length > MAX_QUEUED) p.queue.splice(0, p.queue.length - MAX_QUEUED);
    }
    for (const id of new Set(messages.map((m) => m.to))) this.flush(id);
  }

  forward(to: NodeId, data: Buffer): Promise<ProposeResult> {
    const addr = this.addrs.get(to);
    if (!addr) return Promise.reject(new Error(`no address for the leader ${to}`));
    return this.client.call<ForwardProposalRequest, ProposeResult>(
      addr,
      RAFT_SERVICE,
      'ForwardProposal',
      { Data: toWire(data) },
      { timeoutMs: 5000 },
    );
  }

  private peer(id: NodeId): Peer {
    let p = this.peers.get(id);
    if (!p) {
      p = { queue: [], busy: false, lastOk: 0, lastFailure: 0 };
      this.peers.set(id, p);
    }
    return p;
  }

  private flush(id: NodeId): void {
    const p = this.peer(id);
    const addr = this.addrs.get(id);
    if (p.busy || p.queue.length === 0 || this.closed) return;
    if (!addr) {
      p.queue = [];
      p.lastFailure = Date.now();
      return;
    }
    const batch = p.queue;
    p.queue = [];
    p.busy = true;
    const req: ProcessRaftMessageRequest = { FromAddr: this.selfAddr, Messages: batch.map(toWire) };
    this.client
      .call(addr, RAFT_SERVICE, 'ProcessRaftMessage', req, { timeoutMs: this.callTimeoutMs })
      .then(
        () => (p.lastOk = Date.now()),
        (err: unknown) => {
          p.lastFailure = Date.now();
          if (err instanceof RpcError && err.code === 'NotFound' && err.desc === ERR_MEMBER_REMOVED) this.onRemoved?.();
        },
      )
      .finally(() => {
        p.busy = false;
        this.flush(id);
      });
  }

  close(): void {
    this.closed = true;
    this.peers.clear();
  }
}

/**
 * The server side: messages into this member's Raft, and proposals forwarded to it as leader. `isRemoved(id)` says
 * whether `id` was a member that has been taken out of Raft; its messages are answered with ERR_MEMBER_REMOVED, as
 * swarmkit answers them, so that it learns what it missed.
 */
export function registerRaftService(
  server: RpcServer,
  log: () => RaftLog | undefined,
  transport: PeerTransport,
  isRemoved: (id: NodeId) => boolean,
): void {
  server.unary<ProcessRaftMessageRequest, object>(RAFT_SERVICE, 'ProcessRaftMessage', (req, ctx) => {
    const raft = live(log);
    const from = caller(ctx);
    if (isRemoved(from)) throw new RpcError('NotFound', ERR_MEMBER_REMOVED);
    const messages = (Array.isArray(req?.Messages) ? req.Messages : []).map(fromWire) as Message[];
    for (const m of messages) {
      if (!m || typeof m !== 'object' || m.from !== from || m.to !== raft.id) {
        throw new RpcError('PermissionDenied', `raft message from ${String(m?.from)} sent by ${from}`);
      }
    }
    if (typeof req.FromAddr === 'string' && req.FromAddr) transport.setAddr(from, req.FromAddr);
    raft.receive(messages);
    return {};
  });
  server.unary<ForwardProposalRequest, ProposeResult>(RAFT_SERVICE, 'ForwardProposal', (req) => {
    const raft = live(log);
    const data = fromWire(req?.Data);
    if (!Buffer.isBuffer(data)) throw new RpcError('InvalidArgument', 'a forwarded proposal needs Data');
    if (!raft.isLeader()) return { accepted: false, reason: 'not-leader' };
    return raft.proposeForwarded(data);
  });
}

function live(log: () => RaftLog | undefined): RaftLog {
  const raft = log();
  if (!raft) throw new RpcError('Unavailable', 'raft: this manager is not running');
  return raft;
}

function caller(ctx: CallContext): NodeId {
  if (!ctx.peer) throw new RpcError('Unauthenticated', 'no client certificate');
  return ctx.peer.nodeId;
}
