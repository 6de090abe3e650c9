// Certificate renewal between real daemons: a worker and its manager renew their certificates over mutual TLS at
// 50–80% of validity, with a fresh key each time, while tasks keep running and the session holds; `--cert-expiry`
// applies to the certificates issued after it. Time is shortened only through the debug-only
// SHOAL_DEBUG_RENEWAL_SPEEDUP (waits 360× shorter: a 1 h certificate renews within seconds); validity, the
// 1 h minimum expiry and every default stay as they are.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { TestDaemon, eventually, freePort } from './harness';
import type { Node, SwarmInfo, Task } from '../../src/types/swarm';

const DEBUG = { SHOAL_DEBUG_RENEWAL_SPEEDUP: '360' };
const manager = new TestDaemon([], DEBUG);
const worker = new TestDaemon([], DEBUG);
let addr = '';

const certFile = (d: TestDaemon, name: string) => join(d.dataRoot, 'certificates', name);
const cert = (d: TestDaemon) => new X509Certificate(readFileSync(certFile(d, 'swarm-node.crt')));
const keyDigest = (d: TestDaemon) =>
  createHash('sha256')
    .update(readFileSync(certFile(d, 'swarm-node.key')))
    .digest('hex');
const validityHours = (c: X509Certificate) => (Date.parse(c.validTo) - Date.parse(c.validFrom)) / 3600_000;
const info = async (d: TestDaemon) => (await d.json<{ Swarm: SwarmInfo }>('GET', '/info')).Swarm;
const tasks = () => manager.json<Task[]>('GET', '/tasks');

/** Waits until `d`'s certificate on disk is not one of `seen`, and returns it. */
async function nextCertificate(d: TestDaemon, seen: Set<string>): Promise<X509Certificate> {
  return (await eventually(
    () => {
      try {
        const c = cert(d);
        return seen.has(c.serialNumber) ? undefined : c;
      } catch {
        return undefined; // between the key's and the certificate's writes
      }
    },
    30_000,
    'a renewed certificate',
  ))!;
}

/** The certificate the manager's node port presents now, seen over mutual TLS with the worker's credentials. */
function presentedByManager(): Promise<X509Certificate> {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const s = connect({
      host,
      port: Number(port),
      servername: 'swarm-manager',
      ALPNProtocols: ['h2'],
      ca: readFileSync(certFile(worker, 'swarm-root-ca.crt')),
      cert: readFileSync(certFile(worker, 'swarm-node.crt')),
      // The key file's PEM carries swarmkit's headers (kek-version), which OpenSSL does not take: drop them.
      key: readFileSync(certFile(worker, 'swarm-node.key'), 'utf8').replace(/^[\w-]+: .*\n/gm, ''),
    });
    s.once('secureConnect', () => {
      const peer = s.getPeerX509Certificate();
      s.destroy();
      if (peer) resolve(peer);
      else reject(new Error('no peer certificate'));
    });
    s.once('error', reject);
  });
}

before(async () => {
  await Promise.all([manager.start(), worker.start()]);
  addr = `127.0.0.1:${await freePort()}`;
  const init = manager.shoal([
    'swarm',
    'init',
    '--cert-expiry',
    '1h',
    '--advertise-addr',
    '127.0.0.1',
    '--listen-addr',
    addr,
  ]);
  assert.equal(init.code, 0, init.stderr);
  const token = manager.shoal(['swarm', 'join-token', '-q', 'worker']).stdout.trim();
  const j = worker.shoal(['swarm', 'join', '--token', token, addr]);
  assert.equal(j.code, 0, j.stderr);
});
after(() => Promise.all([manager.stop(), worker.stop()]));

test('a worker and its manager renew their certificates with fresh keys while their tasks keep running', async () => {
  const c = manager.shoal(['service', 'create', '--name', 'steady', '--replicas', '2', 'busybox', 'sleep', '600']);
  assert.equal(c.code, 0, c.stderr);
  const running = await eventually(async () => {
    const ts = (await tasks()).filter((t) => t.Status.State === 'running');
    return ts.length === 2 && new Set(ts.map((t) => t.NodeID)).size === 2 ? ts : undefined;
  });
  const workerId = (await info(worker)).NodeID;
  const root = new X509Certificate(readFileSync(certFile(manager, 'swarm-root-ca.crt')));

  const initialManagerSerials = new Set([cert(manager).serialNumber]);
  for (const d of [worker, manager]) {
    const first = cert(d);
    const firstKey = keyDigest(d);
    const seen = new Set([first.serialNumber]);
    // Two renewals in a row: the renewer schedules the next one after each.
    const second = await nextCertificate(d, seen);
    seen.add(second.serialNumber);
    const third = await nextCertificate(d, seen);
    for (const next of [second, third]) {
      assert.ok(next.checkIssued(root) && next.verify(root.publicKey), 'the renewed certificate chains to the root');
      assert.equal(next.subject, first.subject, 'same node ID, role and cluster');
      // 1 h of --cert-expiry plus swarmkit's 1 h backdate.
      assert.equal(validityHours(next), 2);
    }
    await eventually(() => keyDigest(d) !== firstKey || undefined, 10_000, 'a new key');
    assert.equal(statSync(certFile(d, 'swarm-node.key')).mode & 0o777, 0o600);
  }
  assert.match(cert(worker).subject, new RegExp(`CN=${workerId}`));

  // The manager's port presents a renewed certificate, and accepts the worker's renewed one. (The worker renews
  // every few seconds, so its key and certificate may be caught between their two writes: try again.)
  const presented = await eventually(() => presentedByManager().catch(() => undefined), 10_000, 'a TLS handshake');
  assert.ok(presented!.checkIssued(root));
  assert.ok(!initialManagerSerials.has(presented!.serialNumber), 'the node port presents a renewed certificate');

  // Nothing was restarted: the same two tasks run, both nodes stay Ready, and the session still carries work.
  const now = (await tasks()).filter((t) => t.Status.State === 'running');
  assert.deepEqual(now.map((t) => t.ID).sort(), running!.map((t) => t.ID).sort());
  const ns = await manager.json<Node[]>('GET', '/nodes');
  assert.deepEqual(
    ns.map((n) => n.Status.State),
    ['ready', 'ready'],
  );
  assert.equal(manager.shoal(['service', 'scale', '-d', 'steady=4']).code, 0);
  await eventually(async () => {
    const ts = (await tasks()).filter((t) => t.Status.State === 'running' && t.NodeID === workerId);
    return ts.length === 2 || undefined;
  });
});

test('swarm update --cert-expiry applies to the certificates renewed after it', async () => {
  const u = manager.shoal(['swarm', 'update', '--cert-expiry', '3h']);
  assert.equal(u.code, 0, u.stderr);
  for (const d of [worker, manager]) {
    const longer = await eventually(
      () => {
        try {
          const c = cert(d);
          return validityHours(c) === 4 ? c : undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
      'a certificate with the new expiry',
    );
    assert.ok(longer);
  }
  // Below the minimum is refused as Docker refuses it, and changes nothing.
  const bad = manager.shoal(['swarm', 'update', '--cert-expiry', '30m']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /minimum certificate expiry time is: 1h0m0s/);
});
