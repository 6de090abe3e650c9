// The dispatcher as other nodes reach it over mutual TLS, after swarmkit's manager/dispatcher: a node opens a
// session (its description in, its tasks out on every change), sends heartbeats, and reports task status. A node
// is known only by its certificate (ctx.peer); one whose heartbeats stop for GRACE_PERIOD_MULTIPLIER periods is
// marked down, and the orchestrator replaces its tasks elsewhere.
import type { MemoryStore } from '../store/memory-store';
import { RpcError } from '../transport/errors';
import type { CallContext, RpcServer, StreamSink } from '../transport/server';
import { TASK_STATES, type Node, type TLSInfo } from '../types/swarm';
import { newId } from '../util/ids';
import { goTime, nsToMs } from '../util/time';
import type { Dispatcher } from './dispatcher';
import {
  DEFAULT_HEARTBEAT_PERIOD_NS,
  DISPATCHER_SERVICE,
  GRACE_PERIOD_MULTIPLIER,
  MSG_NODE_NOT_REGISTERED,
  MSG_NOT_LEADER,
  MSG_SESSION_INVALID,
  MSG_TASK_NOT_ASSIGNED,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type SessionMessage,
  type SessionRequest,
  type UpdateTaskStatusRequest,
} from './protocol';

interface Session {
  id: string;
  /** Ends the session's stream, with an error for the caller if given. */
  end(err?: RpcError): void;
}

const removed = (id: string) =>
  new RpcError('PermissionDenied', `Permission denied: unauthorized peer role: node ${id} was removed from swarm`);

export class DispatcherService {
  private readonly sessions = new Map<string, Session>();
  /** When each remote node is declared down unless it is heard from first. */
  private readonly deadlines = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  /** Only the leader holds sessions and watches heartbeats; other managers send workers to it. A lone one leads. */
  private leading = true;

  constructor(
    private readonly store: MemoryStore,
    private readonly dispatcher: Dispatcher,
    /** This manager's node: its agent uses the dispatcher directly and has no heartbeats. */
    private readonly selfId: string,
    /** Where the leader is, for the workers this manager sends there. */
    private readonly leaderAddr: () => string | undefined = () => undefined,
  ) {}

  /** The leader starts the heartbeat deadlines; a manager that stops leading ends its sessions. */
  setLeading(leading: boolean): void {
    if (leading === this.leading || this.stopped) return;
    this.leading = leading;
    if (leading) {
      this.start();
      return;
    }
    for (const t of this.deadlines.values()) clearTimeout(t);
    this.deadlines.clear();
    for (const s of this.sessions.values()) s.end(this.notLeader());
    this.sessions.clear();
  }

  private notLeader(): RpcError {
    const addr = this.leaderAddr();
    return new RpcError('Unavailable', `${MSG_NOT_LEADER}${addr ? `; the leader is at ${addr}` : ''}`);
  }

  register(server: RpcServer): void {
    server.serverStream<SessionRequest, SessionMessage>(DISPATCHER_SERVICE, 'Session', (req, sink, ctx) =>
      this.session(req, sink, ctx),
    );
    server.unary<HeartbeatRequest, HeartbeatResponse>(DISPATCHER_SERVICE, 'Heartbeat', (req, ctx) =>
      this.heartbeat(req, ctx),
    );
    server.unary<UpdateTaskStatusRequest, object>(DISPATCHER_SERVICE, 'UpdateTaskStatus', (req, ctx) =>
      this.updateTaskStatus(req, ctx),
    );
  }

  /** A manager that (re)starts gives every other node that is not down a grace period to open its session. */
  start(): void {
    this.leading = true;
    for (const n of this.store.list('nodes')) {
      // Managers are watched through Raft (see manager/raft/peers.ts), not heartbeats.
      if (n.ID !== this.selfId && n.Spec.Role !== 'manager' && n.Status.State !== 'down') {
        this.expect(n.ID, this.graceMs());
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.deadlines.values()) clearTimeout(t);
    this.deadlines.clear();
    for (const s of this.sessions.values()) s.end(new RpcError('Unavailable', 'dispatcher is stopped'));
    this.sessions.clear();
  }

  private periodNs(): number {
    return this.store.list('cluster')[0]?.Spec.Dispatcher?.HeartbeatPeriod || DEFAULT_HEARTBEAT_PERIOD_NS;
  }

  private graceMs(): number {
    return nsToMs(this.periodNs(), 5000) * GRACE_PERIOD_MULTIPLIER;
  }

  private caller(ctx: CallContext): string {
    if (!this.leading) throw this.notLeader();
    const id = ctx.peer?.nodeId;
    if (!id) throw new RpcError('PermissionDenied', 'no verified caller');
    if (!this.store.get('nodes', id)) throw removed(id);
    return id;
  }

  /** (Re)arms the node's deadline: down unless heard from within `ms`. */
  private expect(nodeId: string, ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.deadlines.get(nodeId));
    const t = setTimeout(() => void this.expire(nodeId), ms);
    t.unref();
    this.deadlines.set(nodeId, t);
  }

  private async expire(nodeId: string): Promise<void> {
    this.deadlines.delete(nodeId);
    this.sessions.get(nodeId)?.end(new RpcError('Unavailable', 'heartbeat failure'));
    this.sessions.delete(nodeId);
    await this.setNodeStatus(nodeId, 'down', 'heartbeat failure').catch((err: Error) => {
      if (!this.stopped) console.error(`shoal dispatcher: marking node ${nodeId} down: ${err.message}`);
    });
  }

  private setNodeStatus(
    nodeId: string,
    state: Node['Status']['State'],
    message: string,
    change: (n: Node) => Partial<Node> = () => ({}),
  ): Promise<void> {
    return this.store.retryUpdate((tx) => {
      const n = tx.get('nodes', nodeId);
      if (!n) return;
      tx.update('nodes', {
        ...n,
        ...change(n),
        UpdatedAt: goTime(),
        Status: { ...n.Status, ...change(n).Status, State: state, Message: message },
      });
    });
  }

  private async session(req: SessionRequest, sink: StreamSink<SessionMessage>, ctx: CallContext): Promise<void> {
    const nodeId = this.caller(ctx);
    const d = req?.Description;
    await this.setNodeStatus(nodeId, 'ready', '', (n) => ({
      Description: d
        ? {
            Hostname: String(d.Hostname ?? ''),
            Platform: d.Platform ?? n.Description.Platform,
            Resources: d.Resources ?? n.Description.Resources,
            Engine: d.Engine ?? n.Description.Engine,
            TLSInfo: d.TLSInfo && typeof d.TLSInfo === 'object' ? pickTLSInfo(d.TLSInfo) : n.Description.TLSInfo,
          }
        : n.Description,
      Status: { ...n.Status, Addr: ctx.remoteAddress || n.Status.Addr },
    }));
    // A node has one session: a new one replaces the old.
    this.sessions.get(nodeId)?.end(new RpcError('Aborted', MSG_SESSION_INVALID));
    const id = newId();
    let finish!: (err?: RpcError) => void;
    const ended = new Promise<void>((resolve, reject) => {
      finish = (err) => (err ? reject(err) : resolve());
    });
    this.sessions.set(nodeId, { id, end: (err) => finish(err) });
    this.expect(nodeId, this.graceMs());

    // Only the latest state is worth sending: while one message waits for the peer, newer ones replace it.
    let pending: SessionMessage | undefined;
    let sending = false;
    const pump = async () => {
      sending = true;
      try {
        while (pending) {
          const msg = pending;
          pending = undefined;
          await sink.send(msg);
        }
      } catch (err) {
        finish(err as RpcError);
      } finally {
        sending = false;
      }
    };
    const unwatch = this.dispatcher.watch(nodeId, (tasks) => {
      if (!this.store.get('nodes', nodeId)) return finish(removed(nodeId));
      pending = this.message(id, nodeId, tasks);
      if (!sending) void pump();
    });
    const onAbort = () => finish();
    ctx.signal.addEventListener('abort', onAbort);
    try {
      await ended;
    } finally {
      unwatch();
      ctx.signal.removeEventListener('abort', onAbort);
      if (this.sessions.get(nodeId)?.id === id) {
        this.sessions.delete(nodeId);
        // The connection is gone (a crash closes it at once): the node has one period to come back.
        this.expect(nodeId, nsToMs(this.periodNs(), 5000));
      }
    }
  }

  private message(sessionId: string, nodeId: string, tasks: SessionMessage['Tasks']): SessionMessage {
    const services: Record<string, string> = {};
    for (const t of tasks) services[t.ServiceID] ??= this.store.get('services', t.ServiceID)?.Spec.Name ?? t.ServiceID;
    // peek: list() would copy every node, for every session message.
    const managers = [...this.store.peek('nodes')]
      .filter((n) => n.Spec.Role === 'manager' && n.ManagerStatus)
      .map((n) => ({ NodeID: n.ID, Addr: n.ManagerStatus!.Addr }));
    let rootCA: string | undefined;
    for (const c of this.store.peek('cluster')) rootCA = c.RootCA.CACert;
    return {
      SessionID: sessionId,
      Tasks: tasks,
      Services: services,
      Managers: managers,
      HeartbeatPeriod: this.periodNs(),
      RootCA: rootCA,
      CertificateState: this.store.get('nodes', nodeId)?.Certificate?.Status.State,
      NodeRole: this.store.get('nodes', nodeId)?.Spec.Role,
    };
  }

  private heartbeat(req: HeartbeatRequest, ctx: CallContext): HeartbeatResponse {
    const nodeId = this.caller(ctx);
    const s = this.sessions.get(nodeId);
    if (!s) throw new RpcError('NotFound', MSG_NODE_NOT_REGISTERED);
    if (req?.SessionID !== s.id) throw new RpcError('InvalidArgument', MSG_SESSION_INVALID);
    this.expect(nodeId, this.graceMs());
    return { Period: this.periodNs() };
  }

  private async updateTaskStatus(req: UpdateTaskStatusRequest, ctx: CallContext): Promise<object> {
    const nodeId = this.caller(ctx);
    const s = this.sessions.get(nodeId);
    if (!s) throw new RpcError('NotFound', MSG_NODE_NOT_REGISTERED);
    if (req?.SessionID !== s.id) throw new RpcError('InvalidArgument', MSG_SESSION_INVALID);
    const updates = Array.isArray(req.Updates) ? req.Updates : [];
    for (const u of updates) {
      const t = this.store.get('tasks', String(u?.TaskID));
      if (!t || t.NodeID !== nodeId) throw new RpcError('PermissionDenied', MSG_TASK_NOT_ASSIGNED);
      if (!u.Status || !(TASK_STATES as readonly string[]).includes(u.Status.State))
        throw new RpcError('InvalidArgument', 'invalid task status');
    }
    await Promise.all(updates.map((u) => this.dispatcher.updateStatus(u.TaskID, u.Status)));
    return {};
  }
}

/** The three TLSInfo strings an agent reports, and nothing else it may have sent. */
function pickTLSInfo(t: TLSInfo): TLSInfo {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    TrustRoot: str(t.TrustRoot),
    CertIssuerSubject: str(t.CertIssuerSubject),
    CertIssuerPublicKey: str(t.CertIssuerPublicKey),
  };
}
