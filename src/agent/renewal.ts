// Certificate renewal, after swarmkit's ca/renewer.go and RenewTLSConfigNow: at a random point between 50% and 80%
// of the certificate's validity (at once if it has expired), a new key and CSR go to a manager over mutual TLS with
// the current certificate; the manager signs the caller's own node ID with the role the store gives it.
import { NODE_CA_SERVICE, type IssueNodeCertificateRequest, type IssueNodeCertificateResponse } from '../ca/ca-server';
import { parseNodeCertificate } from '../ca/certificate-info';
import { checkIssuedCertificate } from '../ca/issued';
import { createNodeKeyAndCSR } from '../ca/node-cert';
import type { RpcClient } from '../transport/client';
import type { NodeCredentials } from '../transport/tls-config';

/** swarmkit's CertLowerRotationRange and CertUpperRotationRange. */
export const RENEW_LOWER_FRACTION = 0.5;
export const RENEW_UPPER_FRACTION = 0.8;
/** swarmkit's RenewTLSExponentialBackoff. */
export const RENEW_BACKOFF = { baseMs: 5_000, factorMs: 5_000, maxMs: 3600_000 } as const;
/** setTimeout's largest delay; longer waits are taken in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Time as the renewer sees it; tests pass a fake one. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * A clock whose waits are `factor` times shorter while its time stays real: for tests that watch real daemons renew
 * (a 1 h certificate renews every few seconds at factor 360) without touching certificates' validity or the
 * defaults. Daemons take it only from the debug-only environment variable SHOAL_DEBUG_RENEWAL_SPEEDUP.
 */
export function acceleratedClock(factor: number): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms / factor),
    clearTimeout: (h) => systemClock.clearTimeout(h),
  };
}

/** The renewal clock a daemon uses: the system's, or an accelerated one when SHOAL_DEBUG_RENEWAL_SPEEDUP is set. */
export function renewalClock(env: NodeJS.ProcessEnv = process.env): Clock {
  const factor = Number(env.SHOAL_DEBUG_RENEWAL_SPEEDUP);
  return Number.isFinite(factor) && factor > 1 ? acceleratedClock(factor) : systemClock;
}

/**
 * How long from `nowMs` until the renewal, as swarmkit's calculateRandomExpiry: a whole number of minutes after
 * NotBefore, uniformly between 50% and 80% of the validity; 0 if that point has passed.
 */
export function renewalDelayMs(notBefore: Date, notAfter: Date, nowMs: number, random: () => number = Math.random) {
  const minutes = (notAfter.getTime() - notBefore.getTime()) / 60_000;
  const lo = Math.floor(minutes * RENEW_LOWER_FRACTION);
  const hi = Math.floor(minutes * RENEW_UPPER_FRACTION);
  const pick = hi - lo < 1 ? lo : lo + Math.floor(random() * (hi - lo));
  return Math.max(0, notBefore.getTime() + pick * 60_000 - nowMs);
}

/** The wait after `failures` failed renewals in a row: uniform in [0, min(max, base + factor·2^(failures−1))). */
export function renewalBackoffMs(failures: number, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const { baseMs, factorMs, maxMs } = RENEW_BACKOFF;
  const bound = Math.min(maxMs, baseMs + factorMs * 2 ** Math.min(failures - 1, 40));
  return Math.floor(random() * bound);
}

/**
 * One renewal over mutual TLS: a fresh key and CSR, sent with no token by `client` (which presents the current
 * certificate) to the manager at `addr`. The new certificate must chain to the current roots, certify the new key
 * and keep the node and cluster IDs; the role may change (promotion, demotion).
 */
export async function requestRenewal(
  client: RpcClient,
  addr: string,
  current: NodeCredentials,
  now: Date = new Date(),
): Promise<NodeCredentials> {
  const before = parseNodeCertificate(current.certPem);
  const { keyPem, csrPem } = await createNodeKeyAndCSR();
  const req: IssueNodeCertificateRequest = { CSR: csrPem };
  const res = await client.call<IssueNodeCertificateRequest, IssueNodeCertificateResponse>(
    addr,
    NODE_CA_SERVICE,
    'IssueNodeCertificate',
    req,
  );
  const certPem = typeof res?.Certificate === 'string' ? res.Certificate : '';
  const after = checkIssuedCertificate(certPem, keyPem, current.rootCertPem, now);
  if (after.nodeId !== before.nodeId || after.clusterId !== before.clusterId) {
    throw new Error(
      `the renewed certificate is for node ${after.nodeId} of cluster ${after.clusterId}, not ${before.nodeId} of ${before.clusterId}`,
    );
  }
  return { certPem, keyPem, rootCertPem: current.rootCertPem };
}

export interface RenewerOptions {
  /** The credentials in use now. */
  current(): NodeCredentials;
  /** Obtains new credentials (e.g. requestRenewal against a manager). */
  renew(current: NodeCredentials): Promise<NodeCredentials>;
  /** Takes the new credentials into use: write them to disk, swap them into servers and clients. */
  onRenewed(next: NodeCredentials): void | Promise<void>;
  /** A failed attempt, and when the next one is. */
  onError?(err: unknown, retryInMs: number): void;
  clock?: Clock;
  random?: () => number;
}

/** Keeps a node's certificate renewed: schedules, retries with backoff, and renews on demand. */
export class CertificateRenewer {
  private timer: unknown;
  private dueAt: number | undefined;
  private running = false;
  private stopped = true;
  private failures = 0;
  private immediateTries = 0;
  private attempt?: Promise<void>;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(private readonly opts: RenewerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer();
    this.dueAt = undefined;
  }

  /** When the next attempt is due (clock milliseconds), if one is scheduled. */
  get nextRenewalAt(): number | undefined {
    return this.dueAt;
  }

  /** Renews now (a role change, a CA rotation), after any attempt in progress; rejects if this attempt fails. */
  async renewNow(): Promise<void> {
    while (this.attempt) await this.attempt.catch(() => undefined);
    this.cancelTimer();
    this.dueAt = undefined;
    await this.run(true);
  }

  /**
   * The delay before the next attempt: backoff after failures, at once when expired or past the chosen point, else
   * 50–80% of validity. "At once" is at once the first time only: if the certificate in use is still past its
   * point after that (a renewal that brought no newer certificate), the waits grow as after failures.
   */
  private nextDelay(): number {
    if (this.failures > 0) return renewalBackoffMs(this.failures, this.random);
    const info = parseNodeCertificate(this.opts.current().certPem);
    const now = this.clock.now();
    const delay = info.notAfter.getTime() < now ? 0 : renewalDelayMs(info.notBefore, info.notAfter, now, this.random);
    if (delay > 0) {
      this.immediateTries = 0;
      return delay;
    }
    return renewalBackoffMs(this.immediateTries++, this.random);
  }

  /** Arms the timer for the next attempt, `delay` from now if given (a retry), else as nextDelay says. */
  private schedule(delay?: number): void {
    if (this.stopped) return;
    try {
      delay ??= this.nextDelay();
    } catch (err) {
      // The certificate cannot be read: try again in 5 minutes, as swarmkit does.
      delay = 5 * 60_000;
      this.opts.onError?.(err, delay);
    }
    this.dueAt = this.clock.now() + delay;
    this.arm();
  }

  /** Waits until dueAt in steps no longer than setTimeout allows. */
  private arm(): void {
    this.cancelTimer();
    const due = this.dueAt;
    if (this.stopped || due === undefined) return;
    const left = due - this.clock.now();
    if (left > MAX_TIMER_MS) {
      this.timer = this.clock.setTimeout(() => this.arm(), MAX_TIMER_MS);
      return;
    }
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        void this.run(false).catch(() => undefined);
      },
      Math.max(0, left),
    );
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(forced: boolean): Promise<void> {
    if (this.running) return this.attempt ?? Promise.resolve();
    this.running = true;
    this.dueAt = undefined;
    const attempt = (async () => {
      let retryIn: number | undefined;
      try {
        const next = await this.opts.renew(this.opts.current());
        await this.opts.onRenewed(next);
        this.failures = 0;
      } catch (err) {
        this.failures++;
        retryIn = renewalBackoffMs(this.failures, this.random);
        if (!this.stopped) this.opts.onError?.(err, retryIn);
        if (forced) throw err;
      } finally {
        this.running = false;
        this.attempt = undefined;
        this.schedule(retryIn);
      }
    })();
    this.attempt = attempt;
    return attempt;
  }
}
