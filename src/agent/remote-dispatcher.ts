// A worker's task source: a dispatcher session with a manager over mutual TLS, as swarmkit's agent/session.go. The
// session stream brings the node's tasks; heartbeats keep the node ready; status reports are batched per tick. A
// broken session is reopened after a short wait, until stop() or until the manager says the node was removed. With
// several managers the session is with the leader: a manager that is not the leader says where the leader is, and
// a manager that does not answer is replaced by the next one the last session message named.
import type { RpcClient, RpcStream } from '../transport/client';
import { isUnknownAuthority, RpcError } from '../transport/errors';
import type { Task, TaskStatus } from '../types/swarm';
import { nsToMs } from '../util/time';
import {
  DEFAULT_HEARTBEAT_PERIOD_NS,
  DISPATCHER_SERVICE,
  type AgentDescription,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ManagerPeer,
  type SessionMessage,
  type SessionRequest,
  type UpdateTaskStatusRequest,
} from '../dispatcher/protocol';
import type { TaskSource } from './task-source';
import { StatusBatch } from '../dispatcher/status-batch';

export interface RemoteDispatcherOptions {
  client: RpcClient;
  /** The manager's address, host:port: the first one tried. */
  managerAddr: string;
  /** Other managers remembered from earlier sessions, tried when the first does not answer. */
  knownManagers?: string[];
  /** The managers changed (a session message named others): for the worker to remember them. */
  onManagers?(addrs: string[]): void;
  describe(): Promise<AgentDescription>;
  /** The manager refused this node for good (removed from the swarm). The session is not reopened. */
  onRemoved(err: RpcError): void;
  /** How long to wait before reopening a broken session. */
  retryMs?: number;
  /** Every session message, before its tasks are handed on: the root CA and the certificate state it carries. */
  onMessage?(msg: SessionMessage): void;
  /** The manager at `addr` presented a certificate that does not chain to this node's trust root. */
  onUnknownAuthority?(addr: string): void;
}

const isRemoval = (err: unknown) =>
  err instanceof RpcError && err.code === 'PermissionDenied' && err.desc.includes('was removed from swarm');

export class RemoteDispatcher implements TaskSource {
  private readonly services = new Map<string, string>();
  /** The managers the last session message named. */
  managers: ManagerPeer[] = [];
  private sessionId = '';
  private stream?: RpcStream<SessionMessage>;
  private stopped = false;
  private periodMs = nsToMs(DEFAULT_HEARTBEAT_PERIOD_NS, 5000);
  private heartbeatTimer?: NodeJS.Timeout;
  private heartbeatDue = 0;
  private readonly reports = new StatusBatch((batch) => this.send(batch));
  /** The manager the session is (or will be) with. */
  private addr: string;
  /** Set by restart(): the session ending is wanted, and the next one opens at once. */
  private restarting = false;

  constructor(private readonly opts: RemoteDispatcherOptions) {
    this.addr = opts.managerAddr;
  }

  /** After a failed session: the leader if the manager named it, else the next manager known. */
  private moveOn(err: unknown): void {
    const named = /the leader is at (\S+)/.exec(err instanceof Error ? err.message : '');
    if (named) {
      this.addr = named[1];
      return;
    }
    const known = [
      ...new Set(
        [...this.managers.map((m) => m.Addr), this.opts.managerAddr, ...(this.opts.knownManagers ?? [])].filter(
          Boolean,
        ),
      ),
    ];
    this.addr = known[(known.indexOf(this.addr) + 1) % known.length] ?? this.opts.managerAddr;
  }

  serviceName(serviceId: string): string {
    return this.services.get(serviceId) ?? serviceId;
  }

  watch(_nodeId: string, onTasks: (tasks: Task[]) => void): () => void {
    void this.run(onTasks);
    return () => this.stop();
  }

  /**
   * Opens a new session, so that the manager hears this node's description anew (a renewed certificate, a new trust
   * root), as swarmkit's agent does when its TLS info changes. Tasks are not touched: the new session brings the
   * same ones.
   */
  restart(): void {
    if (this.stopped || !this.stream) return;
    this.restarting = true;
    this.stream.cancel();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.heartbeatTimer);
    this.stream?.cancel();
  }

  private async run(onTasks: (tasks: Task[]) => void): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const req: SessionRequest = { Description: await this.opts.describe() };
        const stream = this.opts.client.stream<SessionRequest, SessionMessage>(
          this.addr,
          DISPATCHER_SERVICE,
          'Session',
          req,
        );
        this.stream = stream;
        for await (const msg of stream) {
          if (this.stopped) break;
          failures = 0;
          this.opts.onMessage?.(msg);
          const fresh = msg.SessionID !== this.sessionId;
          this.sessionId = msg.SessionID;
          for (const [id, name] of Object.entries(msg.Services ?? {})) this.services.set(id, name);
          const before = this.managers.map((m) => m.Addr).join(',');
          this.managers = msg.Managers ?? this.managers;
          if (this.managers.map((m) => m.Addr).join(',') !== before)
            this.opts.onManagers?.(this.managers.map((m) => m.Addr));
          this.setPeriod(msg.HeartbeatPeriod, fresh);
          onTasks(msg.Tasks ?? []);
        }
      } catch (err) {
        if (this.stopped) break;
        if (this.restarting) {
          this.restarting = false;
          clearTimeout(this.heartbeatTimer);
          this.sessionId = '';
          continue;
        }
        if (isRemoval(err)) {
          this.stopped = true;
          clearTimeout(this.heartbeatTimer);
          this.opts.onRemoved(err as RpcError);
          break;
        }
        // One line per outage, not one per retry.
        if (failures++ === 0) console.error(`shoal agent: session with ${this.addr}: ${(err as Error).message}`);
        if (isUnknownAuthority(err)) this.opts.onUnknownAuthority?.(this.addr);
        this.moveOn(err);
      }
      clearTimeout(this.heartbeatTimer);
      this.sessionId = '';
      // 0.5 s, then longer while the manager stays away, up to 5 s.
      const wait = Math.min(5000, (this.opts.retryMs ?? 500) * 2 ** Math.min(failures, 4));
      if (!this.stopped) await new Promise((r) => setTimeout(r, failures ? wait : (this.opts.retryMs ?? 500)));
    }
  }

  /** A new session starts its heartbeats; a shorter period takes effect at once. */
  private setPeriod(periodNs: number | undefined, restart: boolean): void {
    const ms = nsToMs(periodNs || DEFAULT_HEARTBEAT_PERIOD_NS, 5000);
    const changed = ms !== this.periodMs;
    this.periodMs = ms;
    if (restart || (changed && this.heartbeatDue - Date.now() > ms)) this.scheduleHeartbeat(ms);
  }

  private scheduleHeartbeat(ms: number): void {
    clearTimeout(this.heartbeatTimer);
    if (this.stopped) return;
    this.heartbeatDue = Date.now() + ms;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), ms);
  }

  private async heartbeat(): Promise<void> {
    const sessionId = this.sessionId;
    if (!sessionId || this.stopped) return;
    try {
      const res = await this.opts.client.call<HeartbeatRequest, HeartbeatResponse>(
        this.addr,
        DISPATCHER_SERVICE,
        'Heartbeat',
        { SessionID: sessionId },
        { timeoutMs: this.periodMs },
      );
      if (sessionId !== this.sessionId) return;
      this.periodMs = nsToMs(res?.Period || DEFAULT_HEARTBEAT_PERIOD_NS, 5000);
      this.scheduleHeartbeat(this.periodMs);
    } catch (err) {
      if (this.stopped || sessionId !== this.sessionId) return;
      const code = err instanceof RpcError ? err.code : 'Unknown';
      // The manager no longer knows this session: open a new one. Otherwise try again soon.
      if (code === 'NotFound' || code === 'InvalidArgument' || isRemoval(err)) this.stream?.cancel();
      else this.scheduleHeartbeat(Math.min(1000, this.periodMs));
    }
  }

  /** Queued and sent with the other reports of this tick; retried a few times while the manager is unreachable. */
  updateStatus(taskId: string, status: TaskStatus): Promise<void> {
    return this.reports.add(taskId, status);
  }

  private async send(batch: Map<string, TaskStatus>): Promise<void> {
    const Updates = [...batch].map(([TaskID, Status]) => ({ TaskID, Status }));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.client.call<UpdateTaskStatusRequest, object>(
          this.addr,
          DISPATCHER_SERVICE,
          'UpdateTaskStatus',
          { SessionID: this.sessionId, Updates },
        );
        return;
      } catch (err) {
        if (this.stopped || attempt >= 10 || isRemoval(err)) throw err;
        const code = err instanceof RpcError ? err.code : 'Unknown';
        if (!['Unavailable', 'DeadlineExceeded', 'NotFound', 'InvalidArgument'].includes(code)) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
