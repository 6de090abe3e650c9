// Certificate renewal: when (50–80% of validity, at once if expired, backoff after failures), on a fake clock;
// and a real renewal over mutual TLS against the CA.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNodeCertificate, verifyChain } from '../../src/ca';
import { CAServer } from '../../src/ca/ca-server';
import { MemoryCAStore } from '../../src/ca/ca-store';
import {
  CertificateRenewer,
  MAX_TIMER_MS,
  RENEW_BACKOFF,
  renewalBackoffMs,
  renewalDelayMs,
  requestRenewal,
  type Clock,
} from '../../src/agent/renewal';
import { clusterAuthorizer } from '../../src/manager/authz';
import { RpcClient, RpcError, RpcServer, type NodeCredentials } from '../../src/transport';
import { addrOf, issueCredentials, makeSwarm, type Swarm } from '../transport/fixtures';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

class FakeClock implements Clock {
  private seq = 0;
  private timers: { id: number; at: number; fn: () => void }[] = [];
  readonly delays: number[] = [];
  constructor(public t: number) {}
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.seq;
    this.delays.push(ms);
    this.timers.push({ id, at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown) {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  get pending() {
    return this.timers.length;
  }
  /** Moves time forward, firing due timers in order and letting what they start settle. */
  async advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('when to renew', () => {
  const nb = new Date('2030-01-01T00:00:00Z');
  const na = new Date(nb.getTime() + 100 * HOUR);

  test('between 50% and 80% of the validity, counted from NotBefore, to the minute', () => {
    assert.equal(
      renewalDelayMs(nb, na, nb.getTime(), () => 0),
      50 * HOUR,
    );
    assert.equal(
      renewalDelayMs(nb, na, nb.getTime(), () => 0.999999),
      80 * HOUR - 60_000,
    );
    for (let i = 0; i < 500; i++) {
      const d = renewalDelayMs(nb, na, nb.getTime());
      assert.ok(d >= 50 * HOUR && d < 80 * HOUR, String(d));
      assert.equal(d % 60_000, 0);
    }
    // Later on, the same point is simply nearer.
    assert.equal(
      renewalDelayMs(nb, na, nb.getTime() + 10 * HOUR, () => 0),
      40 * HOUR,
    );
  });

  test('at once once the point has passed, or the certificate has expired', () => {
    assert.equal(renewalDelayMs(nb, na, nb.getTime() + 90 * HOUR), 0);
    assert.equal(renewalDelayMs(nb, na, na.getTime() + DAY), 0);
  });

  test('a 90-day certificate renews between day 45 and day 72', () => {
    const end = new Date(nb.getTime() + 90 * DAY);
    assert.equal(
      renewalDelayMs(nb, end, nb.getTime(), () => 0),
      45 * DAY,
    );
    assert.equal(
      renewalDelayMs(nb, end, nb.getTime(), () => 0.9999999),
      72 * DAY - 60_000,
    );
  });

  test("backoff after failures: uniform below swarmkit's base + factor·2^(n−1), capped at an hour", () => {
    assert.equal(renewalBackoffMs(0), 0);
    assert.equal(
      renewalBackoffMs(1, () => 0.999999),
      Math.floor(0.999999 * 10_000),
    );
    assert.equal(
      renewalBackoffMs(3, () => 0.5),
      0.5 * (5_000 + 5_000 * 4),
    );
    assert.equal(
      renewalBackoffMs(100, () => 0.5),
      0.5 * RENEW_BACKOFF.maxMs,
    );
  });
});

describe('the renewer on a fake clock', () => {
  let swarm: Swarm;
  const T0 = Date.parse('2030-06-01T12:00:00Z');
  before(async () => {
    swarm = await makeSwarm();
  });

  /** Credentials valid from T0 − 1 h to T0 + `hours`. */
  const credsAt = (nowMs: number, hours: number) =>
    issueCredentials(swarm.root, 'swarm-worker', swarm.ids.worker, { now: new Date(nowMs), expiryNs: hours * 3600e9 });

  test('renews at the chosen point, hands over the new certificate, then schedules from it', async () => {
    const clock = new FakeClock(T0);
    let current = await credsAt(T0, 10); // validity 11 h: renewal at 5.5 h (to the minute) after NotBefore
    const issued: NodeCredentials[] = [];
    const renewer = new CertificateRenewer({
      current: () => current,
      renew: async () => {
        const next = await credsAt(clock.now(), 10);
        issued.push(next);
        return next;
      },
      onRenewed: (next) => {
        current = next as typeof current;
      },
      clock,
      random: () => 0,
    });
    renewer.start();
    const nb = parseNodeCertificate(current.certPem).notBefore.getTime();
    assert.equal(renewer.nextRenewalAt, nb + 330 * 60_000);
    await clock.advance(renewer.nextRenewalAt! - clock.now() - 1000);
    assert.equal(issued.length, 0);
    await clock.advance(1000);
    await until(() => issued.length === 1);
    await settle();
    assert.equal(current, issued[0]);
    const nb2 = parseNodeCertificate(current.certPem).notBefore.getTime();
    assert.equal(renewer.nextRenewalAt, nb2 + 330 * 60_000);
    renewer.stop();
    assert.equal(clock.pending, 0);
  });

  test('an expired certificate is renewed at once', async () => {
    const clock = new FakeClock(T0);
    const expired = await credsAt(T0 - 30 * DAY, 2);
    let renewed = 0;
    const renewer = new CertificateRenewer({
      current: () => expired,
      renew: async (c) => {
        renewed++;
        return c;
      },
      onRenewed: () => undefined,
      clock,
      random: () => 0.5,
    });
    renewer.start();
    assert.equal(renewer.nextRenewalAt, T0);
    await clock.advance(0);
    assert.equal(renewed, 1);
    // Still expired after that (this stub hands back the same certificate): the next try backs off.
    assert.ok(renewer.nextRenewalAt! > clock.now());
    renewer.stop();
  });

  test('a failure is retried with backoff, and reported', async () => {
    const clock = new FakeClock(T0);
    let creds = await credsAt(T0, 10);
    let attempts = 0;
    const errors: [string, number][] = [];
    const renewer = new CertificateRenewer({
      current: () => creds,
      renew: async () => {
        if (++attempts <= 2) throw new RpcError('Unavailable', 'connection error: refused');
        return credsAt(clock.now(), 10);
      },
      onRenewed: (next) => {
        creds = next as typeof creds;
      },
      onError: (err, retryIn) => errors.push([(err as Error).message, retryIn]),
      clock,
      random: () => 0.5,
    });
    renewer.start();
    await clock.advance(renewer.nextRenewalAt! - clock.now());
    assert.equal(attempts, 1);
    assert.deepEqual(errors[0], ['rpc error: code = Unavailable desc = connection error: refused', 5_000]);
    assert.equal(renewer.nextRenewalAt, clock.now() + 5_000);
    await clock.advance(5_000);
    assert.equal(attempts, 2);
    assert.equal(errors[1][1], 7_500);
    await clock.advance(7_500);
    await until(() => renewer.nextRenewalAt !== undefined);
    assert.equal(attempts, 3);
    // Success: back to the 50–80% schedule of the certificate.
    assert.ok(renewer.nextRenewalAt! - clock.now() > HOUR);
    renewer.stop();
  });

  test('a 90-day wait is taken in steps setTimeout can hold', async () => {
    const clock = new FakeClock(T0);
    const creds = await credsAt(T0, 2160);
    let renewed = 0;
    const renewer: CertificateRenewer = new CertificateRenewer({
      current: () => creds,
      renew: async (c) => {
        renewed++;
        return c;
      },
      onRenewed: (): void => renewer.stop(),
      clock,
      random: () => 0,
    });
    renewer.start();
    const due = renewer.nextRenewalAt!;
    assert.ok(due - T0 > 40 * DAY);
    await clock.advance(due - T0 - 1);
    assert.equal(renewed, 0);
    await clock.advance(1);
    assert.equal(renewed, 1);
    assert.ok(clock.delays.every((d) => d <= MAX_TIMER_MS));
    assert.ok(clock.delays.length >= 2);
  });

  test('renewNow renews at once (role change) and reports a failure to its caller', async () => {
    const clock = new FakeClock(T0);
    const creds = await credsAt(T0, 10);
    let fail = true;
    let renewed = 0;
    const renewer = new CertificateRenewer({
      current: () => creds,
      renew: async (c) => {
        if (fail) throw new Error('no manager');
        renewed++;
        return c;
      },
      onRenewed: () => undefined,
      clock,
    });
    renewer.start();
    await assert.rejects(renewer.renewNow(), /no manager/);
    fail = false;
    await renewer.renewNow();
    assert.equal(renewed, 1);
    renewer.stop();
    assert.equal(clock.pending, 0);
  });
});

describe('renewal over mutual TLS', () => {
  let swarm: Swarm;
  let server: RpcServer;
  let addr: string;
  before(async () => {
    swarm = await makeSwarm();
    const caStore = new MemoryCAStore(swarm.store);
    server = new RpcServer({
      credentials: swarm.creds.manager,
      authorize: clusterAuthorizer({ clusterId: swarm.clusterId, isRemoved: (id) => caStore.isRemoved(id) }),
    });
    new CAServer(caStore).register(server);
    server.unary('Dispatcher', 'Heartbeat', (_req, ctx) => ({
      notAfter: ctx.auth.state === 'verified' ? ctx.auth.notAfter : null,
    }));
    addr = addrOf(await server.listen(0, '127.0.0.1'));
  });
  after(async () => {
    await server.close();
  });

  test('requestRenewal: a new key and certificate for the same node, then used for the next connections', async () => {
    let current: NodeCredentials = await issueCredentials(swarm.root, 'swarm-worker', swarm.ids.worker, {
      expiryNs: 48 * 3600e9,
    });
    const original = current;
    const client = new RpcClient({ credentials: current });
    try {
      const clock = new FakeClock(Date.now());
      const renewer = new CertificateRenewer({
        current: () => current,
        renew: (c) => requestRenewal(client, addr, c),
        onRenewed: (next) => {
          current = next;
          client.setCredentials(next);
        },
        clock,
        random: () => 0,
      });
      const first = await client.call<object, { notAfter: string }>(addr, 'Dispatcher', 'Heartbeat', {});
      await renewer.renewNow();
      renewer.stop();
      assert.notEqual(current.keyPem, original.keyPem);
      assert.ok(verifyChain(current.certPem, swarm.root.certPem));
      const info = parseNodeCertificate(current.certPem);
      assert.deepEqual([info.nodeId, info.role, info.clusterId], [swarm.ids.worker, 'swarm-worker', swarm.clusterId]);
      const second = await client.call<object, { notAfter: string }>(addr, 'Dispatcher', 'Heartbeat', {});
      assert.notEqual(first.notAfter, second.notAfter);
      assert.equal(second.notAfter, info.notAfter.toISOString());
    } finally {
      client.close();
    }
  });

  test('an expired certificate cannot renew itself (the node must join again)', async () => {
    const creds = { ...swarm.creds.expired, rootCertPem: swarm.root.certPem };
    const client = new RpcClient({ credentials: creds });
    try {
      await assert.rejects(
        requestRenewal(client, addr, creds),
        (e: unknown) => e instanceof RpcError && e.code === 'InvalidArgument',
      );
    } finally {
      client.close();
    }
  });
});
