// The root rotation reconciler, after swarmkit's ca/reconciler.go: while the cluster's RootCA has a RootRotation,
// every 3 s up to 30 nodes whose certificates are not yet issued by the new root are told to renew (their
// certificate state becomes ROTATE, which their session carries to them); when every registered node reports a
// certificate from the new root, the swarm switches to it: new root and key, new join tokens, the old root dropped.
// A node that is down holds completion until it comes back or is removed. All of its state is in the replicated
// cluster and node objects, so any manager can carry on a rotation another started.
import { clusterTLSInfo, desiredIssuer, finishedRootCA, hasIssuer } from '../ca/root-rotation';
import type { MemoryStore, StoreEvent } from '../store/memory-store';
import type { IssuanceState } from '../types/swarm';
import { goTime } from '../util/time';

/** swarmkit's defaultRootReconciliationInterval. */
export const ROOT_RECONCILIATION_INTERVAL_MS = 3000;
/** swarmkit's IssuanceStateRotateMaxBatchSize. */
export const ROTATE_MAX_BATCH_SIZE = 30;

/** States in which a node is already renewing: it is not told again. */
const RENEWING: readonly IssuanceState[] = ['RENEW', 'PENDING', 'ROTATE'];

export interface RotationReconcilerOptions {
  intervalMs?: number;
  batchSize?: number;
}

export class RootRotationReconciler {
  private timer?: NodeJS.Timeout;
  private checkQueued = false;
  private working: Promise<void> = Promise.resolve();
  private stopped = true;
  /** The rotation (its new root) the last batch was for: a new one gets its first batch at once. */
  private lastRotation = '';
  private readonly intervalMs: number;
  private readonly batchSize: number;

  constructor(
    private readonly store: MemoryStore,
    opts: RotationReconcilerOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? ROOT_RECONCILIATION_INTERVAL_MS;
    this.batchSize = opts.batchSize ?? ROTATE_MAX_BATCH_SIZE;
  }

  private readonly onCommit = (events: StoreEvent[]) => {
    if (events.some((e) => e.table === 'cluster' || e.table === 'nodes')) this.queueCheck();
  };

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.store.on('commit', this.onCommit);
    this.timer = setInterval(() => this.run(() => this.markBatch()), this.intervalMs);
    this.timer.unref();
    this.queueCheck();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.store.off('commit', this.onCommit);
    clearInterval(this.timer);
    await this.working;
  }

  /** A node reported new TLS info, a node left, or a rotation started: see whether it is done. */
  private queueCheck(): void {
    if (this.checkQueued || this.stopped) return;
    this.checkQueued = true;
    setImmediate(() => {
      this.checkQueued = false;
      this.run(async () => {
        const r = this.rotation();
        if (!r) return;
        if (r.newRoot !== this.lastRotation) await this.markBatch();
        else await this.finishIfConverged();
      });
    });
  }

  /** One piece of work at a time, in order; a failure is logged and the next tick tries again. */
  private run(fn: () => Promise<void>): void {
    this.working = this.working
      .then(() => (this.stopped ? undefined : fn()))
      .catch((err: Error) => console.error(`shoal manager: root rotation: ${err.message}`));
  }

  private rotation() {
    const cluster = this.store.list('cluster')[0];
    const r = cluster?.RootCA.RootRotation;
    if (!r) return undefined;
    return { cluster, newRoot: r.CACert, issuer: desiredIssuer(cluster.RootCA) };
  }

  /** The nodes whose certificates are not issued by the new root yet (swarmkit's unconverged nodes). */
  private unconverged(issuer: ReturnType<typeof desiredIssuer>) {
    return [...this.store.peek('nodes')].filter((n) => !hasIssuer(n.Description?.TLSInfo, issuer));
  }

  /** Up to batchSize unconverged nodes that are not renewing already are told to (ROTATE). */
  private async markBatch(): Promise<void> {
    const r = this.rotation();
    if (!r) return;
    this.lastRotation = r.newRoot;
    const pending = this.unconverged(r.issuer);
    if (pending.length === 0) return this.finishIfConverged();
    const batch = pending
      .filter((n) => !RENEWING.includes(n.Certificate?.Status.State ?? 'ISSUED'))
      .slice(0, this.batchSize)
      .map((n) => n.ID);
    if (batch.length === 0) return;
    await this.store.retryUpdate((tx) => {
      const now = tx.get('cluster', r.cluster.ID);
      if (now?.RootCA.RootRotation?.CACert !== r.newRoot) return;
      for (const id of batch) {
        const n = tx.get('nodes', id);
        if (!n || RENEWING.includes(n.Certificate?.Status.State ?? 'ISSUED')) continue;
        tx.update('nodes', { ...n, Certificate: { Status: { State: 'ROTATE' } } });
      }
    });
  }

  /** swarmkit's finishRootRotation: only for the very rotation that converged, in one transaction. */
  private async finishIfConverged(): Promise<void> {
    const r = this.rotation();
    if (!r || this.unconverged(r.issuer).length > 0) return;
    const done = await this.store.retryUpdate((tx) => {
      const c = tx.get('cluster', r.cluster.ID);
      if (!c || c.RootCA.RootRotation?.CACert !== r.newRoot || c.RootCA.CACert !== r.cluster.RootCA.CACert) {
        console.error('shoal manager: root rotation: target root rotation has changed');
        return false;
      }
      // Still converged inside the transaction: a node may have joined with an old-root certificate meanwhile.
      for (const n of tx.list('nodes')) if (!hasIssuer(n.Description?.TLSInfo, r.issuer)) return false;
      const rootCA = finishedRootCA(c.RootCA);
      tx.update('cluster', {
        ...c,
        UpdatedAt: goTime(),
        RootCA: rootCA,
        TLSInfo: clusterTLSInfo(rootCA),
        RootRotationInProgress: false,
      });
      return true;
    });
    if (done) console.error('shoal manager: completed root rotation');
  }
}
