// The leader's view of each follower (etcd's tracker.Progress).
//
// probe: we do not know where the follower's log matches ours; send one append at a time and
//   wait for its answer (or a heartbeat response) before sending another.
// replicate: the follower is keeping up; stream appends optimistically, at most
//   `inflights.capacity` unacknowledged ones at a time (pipelining with flow control).
// snapshot: the follower needs entries we compacted; send the snapshot in chunks, stop-and-wait,
//   and append nothing until it acknowledges the snapshot's index.
import type { RaftSnapshot } from './types';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Last indexes of appends sent in replicate state and not yet acknowledged, ascending. */
export class Inflights {
  private queue: number[] = [];

  constructor(readonly capacity: number) {}

  add(lastIndex: number): void {
    this.queue.push(lastIndex);
  }

  full(): boolean {
    return this.queue.length >= this.capacity;
  }

  get count(): number {
    return this.queue.length;
  }

  /** Frees the appends acknowledged by an ack of `index`. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.queue.length && this.queue[n] <= index) n++;
    if (n > 0) this.queue.splice(0, n);
  }

  /** Frees one slot, so a window full of lost appends cannot stall the follower forever. */
  freeFirstOne(): void {
    this.queue.shift();
  }

  reset(): void {
    this.queue = [];
  }
}

export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is out and unanswered. */
  probeSent = false;
  /** Heard from since the last check-quorum round. */
  recentActive: boolean;
  readonly inflights: Inflights;
  /** In snapshot state: the snapshot being sent, its index, and the offset acknowledged so far. */
  snapshot: RaftSnapshot | undefined;
  pendingSnapshot = 0;
  snapshotOffset = 0;

  constructor(next: number, maxInflight: number, recentActive = false) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.recentActive = recentActive;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.state = state;
    this.inflights.reset();
    this.snapshot = undefined;
    this.pendingSnapshot = 0;
    this.snapshotOffset = 0;
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it even if the follower has not acknowledged it yet.
    const next = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.resetState('probe');
    this.next = next;
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshot: RaftSnapshot): void {
    this.resetState('snapshot');
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot.meta.index;
  }

  /** An accepted append up to n. Returns whether match moved (a stale ack does not). */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Replicate state: entries up to n are on their way. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * A rejected append at `rejected`; `matchHint` is where the logs may match. Returns false for
   * a stale rejection (one answering an append we have since moved past).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
