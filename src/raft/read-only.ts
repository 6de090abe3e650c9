// Pending ReadIndex requests on a leader (etcd's "safe" read-only option). A read is served at
// the commit index the leader had when the read arrived, once a majority has answered a
// heartbeat sent after it: that proves no newer leader existed at that moment, so the index is
// at least any commit a client could have seen (linearizable).
import type { NodeId } from './types';

export interface PendingRead {
  /** Heartbeat context that tags this read's confirmation round. */
  context: string;
  /** Commit index when the read arrived. */
  index: number;
  /** Who asked: the leader itself or a follower that forwarded it. */
  from: NodeId;
  requestId: string;
  acks: Map<NodeId, boolean>;
}

export class ReadOnlyQueue {
  private pending = new Map<string, PendingRead>();
  private queue: string[] = [];

  add(read: Omit<PendingRead, 'acks'>): void {
    if (this.pending.has(read.context)) return;
    this.pending.set(read.context, { ...read, acks: new Map() });
    this.queue.push(read.context);
  }

  /** Records that `from` answered the round `context`; returns the acks so far, if still pending. */
  ack(context: string, from: NodeId): Map<NodeId, boolean> | undefined {
    const read = this.pending.get(context);
    if (!read) return undefined;
    read.acks.set(from, true);
    return read.acks;
  }

  /**
   * The round `context` reached a quorum: it and every read queued before it are confirmed
   * (a later heartbeat's acks also vouch for earlier reads).
   */
  advance(context: string): PendingRead[] {
    const at = this.queue.indexOf(context);
    if (at < 0) return [];
    const done = this.queue.splice(0, at + 1).map((c) => this.pending.get(c)!);
    for (const r of done) this.pending.delete(r.context);
    return done;
  }

  get size(): number {
    return this.queue.length;
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
