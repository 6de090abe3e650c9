// A worker that was away when a root rotation finished, and whose managers have renewed their certificates since,
// no longer trusts what they present: its saved root is the old one. As swarmkit's updateRootThenUpdateCert does,
// it fetches the swarm's root again and takes it because its own certificate chains to it. The manager renews
// every few seconds here (SHOAL_DEBUG_RENEWAL_SPEEDUP with 1 h certificates), so that it soon presents a
// certificate from the new root alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, certFile, ok, readCert } from './cluster';
import { TestDaemon, eventually, freePort } from './harness';

const cluster = new Cluster(1, { SHOAL_DEBUG_RENEWAL_SPEEDUP: '360' });
const { manager, workers } = cluster;
const [worker] = workers;
const certificates = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
/** A manager of a swarm of its own, which the worker is pointed at in the last test. */
const stranger = new TestDaemon();

before(() => cluster.start(['--cert-expiry', '1h']));
after(() => Promise.all([cluster.stop(), stranger.stop()]));

test('a worker that missed a root rotation fetches the new root, checks it against its certificate, and rejoins', async () => {
  const oldRoot = readCert(manager, 'swarm-root-ca.crt');
  ok(manager.shoal(['swarm', 'ca', '--rotate', '-q']));
  const newRoot = readCert(manager, 'swarm-root-ca.crt');
  assert.notEqual(newRoot, oldRoot);
  await eventually(() => readCert(worker, 'swarm-root-ca.crt') === newRoot, 20_000, 'the worker to take the new root');

  // The worker is away, and comes back with the root it had before the rotation.
  await worker.halt('SIGTERM');
  writeFileSync(certFile(worker, 'swarm-root-ca.crt'), oldRoot);
  // Meanwhile the manager renews: its certificate is now from the new root alone, with no cross-signed
  // intermediate that the old root could verify.
  const before = readCert(manager);
  await eventually(
    () => {
      const now = readCert(manager);
      return now !== before && certificates(now) === 1;
    },
    30_000,
    'the manager to renew into a certificate without the cross-signed root',
  );

  const workerId = cluster.ids.get(worker)!;
  await worker.start();
  await eventually(() => readCert(worker, 'swarm-root-ca.crt') === newRoot, 30_000, 'the worker to fetch the new root');
  // The root file is written before the line reaches the daemon's stderr: wait for the line too.
  await eventually(
    () => /took the swarm's current root CA from 127\.0\.0\.1:\d+: this node had missed a rotation/.test(worker.log),
    10_000,
    'the worker to say why it took the root',
  );
  // Its session is back: the manager hears its heartbeats and gives it work.
  await eventually(
    async () => ((await cluster.nodes()).find((n) => n.ID === workerId)?.Status.State === 'ready' ? true : undefined),
    20_000,
    'the worker to be ready again',
  );
  ok(manager.shoal(['service', 'create', '-d', '--name', 'after', '--replicas', '2', 'busybox', 'sleep', '600']));
  await eventually(
    async () =>
      (await cluster.tasks()).some((t) => t.NodeID === workerId && t.Status.State === 'running') ? true : undefined,
    20_000,
    'a task running on the worker',
  );
});

test("a stranger's root is fetched but not taken: the worker's certificate does not chain to it", async () => {
  await stranger.start();
  const addr = `127.0.0.1:${await freePort()}`;
  ok(stranger.shoal(['swarm', 'init', '--listen-addr', addr, '--advertise-addr', addr]));
  const ours = readCert(worker, 'swarm-root-ca.crt');
  // The worker comes back to find another swarm's manager where it expects its own.
  await worker.halt('SIGTERM');
  const stateFile = join(worker.dataRoot, 'swarm-state.json');
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { RemoteAddrs?: string[] };
  writeFileSync(stateFile, JSON.stringify({ ...state, RemoteAddrs: [addr] }));
  await worker.start();
  await eventually(
    () =>
      /fetching the swarm's root CA from 127\.0\.0\.1:\d+: new root CA does not match existing TLS credentials/.test(
        worker.log,
      ),
    30_000,
    "the worker to refuse the stranger's root",
  );
  assert.equal(readCert(worker, 'swarm-root-ca.crt'), ours);
});
