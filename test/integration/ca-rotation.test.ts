// Root CA rotation across real daemons: one manager and three workers on 127.0.0.1 with a service running.
// `swarm ca --rotate` (a fresh root, then bring-your-own ECDSA and RSA roots), the docker CLI's own
// `docker swarm ca --rotate`, a node down holding completion until it is removed, and every invalid input refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyChain } from '../../src/ca/certificate-info';
import { DISPATCHER_SERVICE } from '../../src/dispatcher/protocol';
import { RpcClient } from '../../src/transport/client';
import { Cluster, ok, readCert, readKey } from './cluster';
import { TestDaemon, eventually, freePort, sleep } from './harness';
import type { Swarm } from '../../src/types/swarm';

const cluster = new Cluster(3);
const { manager, workers } = cluster;
const tmp = mkdtempSync(join(tmpdir(), 'shoal-ca-'));

/** Writes a self-signed CA (openssl req -x509 adds basicConstraints CA:TRUE) and its key; returns their paths. */
function openSslRoot(name: string, keyArgs: string[], extra: string[] = [], days = 3650) {
  const cert = join(tmp, `${name}.crt`);
  const key = join(tmp, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...keyArgs,
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      String(days),
      '-subj',
      `/CN=${name}`,
      ...extra,
    ],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

/** Every running task of the cluster, by ID, with when it started. */
async function runningTasks(): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const t of await cluster.tasks()) {
    if (t.DesiredState === 'running' && t.Status.State === 'running') m.set(t.ID, t.Status.Timestamp);
  }
  return m;
}

/** Watches that every node stays ready while `fn` runs; returns the states seen other than ready. */
async function whileWatchingNodes<T>(fn: () => Promise<T>): Promise<{ result: T; notReady: string[] }> {
  const notReady: string[] = [];
  let done = false;
  const watch = (async () => {
    while (!done) {
      for (const n of await cluster.nodes().catch(() => [])) {
        if (n.Status.State !== 'ready') notReady.push(`${n.ID}:${n.Status.State}`);
      }
      await sleep(200);
    }
  })();
  try {
    return { result: await fn(), notReady };
  } finally {
    done = true;
    await watch;
  }
}

/** After a rotation: the new root everywhere, every node's certificate from it, each node trusting it alone. */
async function assertRotatedTo(sw: Swarm) {
  assert.equal(sw.RootRotationInProgress, false);
  const root = sw.TLSInfo.TrustRoot!;
  for (const n of await cluster.nodes()) {
    assert.equal(n.Description.TLSInfo.TrustRoot, root, `node ${n.ID} trust root`);
    assert.equal(n.Description.TLSInfo.CertIssuerPublicKey, sw.TLSInfo.CertIssuerPublicKey, `node ${n.ID} issuer`);
  }
  for (const d of cluster.all) {
    await eventually(() => readCert(d, 'swarm-root-ca.crt') === root, 10_000, 'swarm-root-ca.crt updated');
    assert.ok(verifyChain(readCert(d), root), 'the node certificate chains to the new root alone');
  }
}

before(async () => {
  await cluster.start();
  ok(manager.shoal(['service', 'create', '--name', 'steady', '--replicas', '4', 'busybox', 'sleep', '3602']));
  await eventually(async () => (await runningTasks()).size === 4, 20_000, '4 running tasks');
});
after(async () => {
  await cluster.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('swarm ca prints the current root', async () => {
  const r = manager.shoal(['swarm', 'ca']);
  ok(r);
  assert.equal(r.stdout.trim(), (await cluster.swarm()).TLSInfo.TrustRoot!.trim());
});

test('invalid CA material is refused with swarmkit’s messages, and nothing changes', async () => {
  const before = await cluster.swarm();
  const update = async (CAConfig: object) => {
    const sw = await cluster.swarm();
    const spec = { ...sw.Spec, CAConfig: { ...sw.Spec.CAConfig, ...CAConfig } };
    return manager.api('POST', `/swarm/update?version=${sw.Version.Index}`, spec);
  };
  const refused = async (CAConfig: object, message: string, status = 400) => {
    const r = await update(CAConfig);
    assert.equal(r.status, status, r.body);
    assert.equal(JSON.parse(r.body).message, message);
  };
  const good = openSslRoot('good', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const other = openSslRoot('other', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const soon = openSslRoot('soon', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], [], 300);
  const leaf = openSslRoot(
    'leaf',
    ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    ['-addext', 'basicConstraints=critical,CA:FALSE'],
  );
  const pem = (p: string) => readFileSync(p, 'utf8');
  const rpc = (desc: string) => `rpc error: code = InvalidArgument desc = ${desc}`;

  await refused(
    { SigningCAKey: pem(good.key) },
    rpc('if a signing CA key is provided, the signing CA cert must also be provided'),
  );
  await refused({ SigningCACert: pem(good.cert), SigningCAKey: pem(other.key) }, rpc('certificate key mismatch'));
  await refused({ SigningCACert: pem(soon.cert), SigningCAKey: pem(soon.key) }, rpc('CA certificate expires too soon'));
  await refused(
    { SigningCACert: pem(good.cert) + pem(other.cert), SigningCAKey: pem(good.key) },
    rpc('the desired CA certificate cannot contain multiple certificates'),
  );
  await refused(
    { SigningCACert: pem(leaf.cert), SigningCAKey: pem(leaf.key) },
    'rpc error: code = Internal desc = unable to generate a cross-signed certificate for root rotation',
    500,
  );
  // Without a key, an external CA is needed for the new root.
  await refused(
    { SigningCACert: pem(good.cert) },
    rpc('there must be at least one valid, reachable external CA corresponding to the desired CA certificate'),
  );
  // The CLI's own checks (docker's texts).
  for (const [args, msg] of [
    [['--ca-cert', good.cert], '`--ca-cert` flag requires the `--rotate` flag to update the CA'],
    [['--ca-key', good.key], '`--ca-key` flag requires the `--rotate` flag to update the CA'],
    [['--cert-expiry', '2h'], '`--cert-expiry` flag requires the `--rotate` flag to update the CA'],
    [
      ['--rotate', '--ca-cert', good.cert],
      'the --ca-cert flag requires that a --ca-key flag and/or --external-ca flag be provided as well',
    ],
  ] as const) {
    const r = manager.shoal(['swarm', 'ca', ...args]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  }
  const r = manager.shoal(['swarm', 'ca', '--rotate', '--ca-cert', good.cert, '--ca-key', other.key]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /certificate key mismatch/);

  const after = await cluster.swarm();
  assert.equal(after.Version.Index, before.Version.Index, 'no refused update changed the swarm');
  assert.equal(after.TLSInfo.TrustRoot, before.TLSInfo.TrustRoot);
  assert.equal(after.RootRotationInProgress, false);
});

test('swarm ca --rotate: a new root, every node renews, tasks keep running, old certificates and tokens refused', async () => {
  const before = await cluster.swarm();
  const oldRoot = before.TLSInfo.TrustRoot!;
  const tasksBefore = await runningTasks();
  const w1 = workers[0];
  const oldCreds = { certPem: readCert(w1), keyPem: readKey(w1) };

  const t0 = Date.now();
  const { result: r, notReady } = await whileWatchingNodes(async () => manager.shoal(['swarm', 'ca', '--rotate']));
  ok(r);
  const took = Date.now() - t0;
  const sw = await cluster.swarm();
  assert.notEqual(sw.TLSInfo.TrustRoot, oldRoot);
  assert.ok(r.stdout.includes(sw.TLSInfo.TrustRoot!.trim()), 'prints the new root');
  assert.match(r.stdout, /desired root digest: sha256:[0-9a-f]{64}/);
  assert.match(r.stdout, /rotated TLS certificates/);
  await assertRotatedTo(sw);
  assert.deepEqual(notReady, [], 'every node stayed ready');
  assert.deepEqual(await runningTasks(), tasksBefore, 'the same tasks run, none restarted');
  assert.ok(took < 30_000, `rotation took ${took} ms`);

  // A certificate from the old root no longer opens a session.
  const client = new RpcClient({ credentials: { ...oldCreds, rootCertPem: sw.TLSInfo.TrustRoot! }, timeoutMs: 5000 });
  try {
    await assert.rejects(
      client.call(cluster.addr, DISPATCHER_SERVICE, 'Heartbeat', { SessionID: 'x' }),
      /PermissionDenied/,
    );
  } finally {
    client.close();
  }

  // The old join tokens pin the old root: refused. The new ones work.
  const late = new TestDaemon();
  await late.start();
  try {
    const p = await freePort();
    const j = late.shoal([
      'swarm',
      'join',
      '--token',
      before.JoinTokens.Worker,
      '--listen-addr',
      `127.0.0.1:${p}`,
      cluster.addr,
    ]);
    assert.notEqual(j.code, 0);
    assert.match(j.stderr, /remote CA does not match fingerprint/);
    assert.notEqual(sw.JoinTokens.Worker, before.JoinTokens.Worker);
    assert.notEqual(sw.JoinTokens.Manager, before.JoinTokens.Manager);
    const j2 = late.shoal([
      'swarm',
      'join',
      '--token',
      sw.JoinTokens.Worker,
      '--listen-addr',
      `127.0.0.1:${p}`,
      cluster.addr,
    ]);
    ok(j2);
    assert.ok(verifyChain(readCert(late), sw.TLSInfo.TrustRoot!));
    ok(late.shoal(['swarm', 'leave']));
    const lateId = [...(await cluster.nodes())].find((n) => !cluster.all.some((d) => cluster.ids.get(d) === n.ID))?.ID;
    await eventually(
      async () => (await cluster.nodes()).find((n) => n.ID === lateId)?.Status.State === 'down',
      15_000,
      'the late node down',
    );
    ok(manager.shoal(['node', 'rm', lateId!]));
  } finally {
    await late.stop();
  }
});

for (const [name, keyArgs] of [
  ['ECDSA P-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']],
  ['RSA 2048', ['-newkey', 'rsa:2048']],
] as const) {
  test(`bring your own root (${name}): swarm ca --rotate --ca-cert --ca-key`, async () => {
    const tasksBefore = await runningTasks();
    const root = openSslRoot(`byo-${name.split(' ')[0].toLowerCase()}`, [...keyArgs]);
    const r = manager.shoal(['swarm', 'ca', '--rotate', '--ca-cert', root.cert, '--ca-key', root.key]);
    ok(r);
    const sw = await cluster.swarm();
    assert.equal(sw.TLSInfo.TrustRoot!.trim(), readFileSync(root.cert, 'utf8').trim());
    assert.ok(r.stdout.includes(sw.TLSInfo.TrustRoot!.trim()));
    await assertRotatedTo(sw);
    assert.deepEqual(await runningTasks(), tasksBefore);

    // The same key under another certificate is refused.
    const again = join(tmp, `again-${name.split(' ')[0]}.crt`);
    execFileSync('openssl', ['req', '-x509', '-key', root.key, '-out', again, '-days', '3650', '-subj', '/CN=again'], {
      stdio: 'pipe',
    });
    const r2 = manager.shoal(['swarm', 'ca', '--rotate', '--ca-cert', again, '--ca-key', root.key, '-d']);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /Cannot update to a cert with an identical key/);
  });
}

test('the docker CLI’s own `docker swarm ca --rotate` runs against shoal to the end', async () => {
  const before = (await cluster.swarm()).TLSInfo.TrustRoot;
  const r = manager.docker(['swarm', 'ca', '--rotate']);
  ok(r);
  const sw = await cluster.swarm();
  assert.notEqual(sw.TLSInfo.TrustRoot, before);
  assert.ok(r.stdout.includes(sw.TLSInfo.TrustRoot!.trim()), r.stdout);
  assert.match(r.stdout + r.stderr, /rotated TLS certificates/);
  await assertRotatedTo(sw);
  const shown = manager.docker(['swarm', 'ca']);
  ok(shown);
  assert.equal(shown.stdout.trim(), sw.TLSInfo.TrustRoot!.trim());
});

test('a node that is down holds the rotation until it is removed (node rm --force)', async () => {
  const w3 = workers[2];
  const w3id = cluster.ids.get(w3)!;
  await w3.halt();
  await eventually(
    async () => (await cluster.nodes()).find((n) => n.ID === w3id)?.Status.State === 'down',
    15_000,
    'w3 down',
  );
  ok(manager.shoal(['swarm', 'ca', '--rotate', '-d']));
  // The others converge; w3 cannot.
  await eventually(
    async () => {
      const sw = await cluster.swarm();
      const ns = await cluster.nodes();
      return (
        ns.filter((n) => n.Description.TLSInfo.CertIssuerPublicKey === sw.TLSInfo.CertIssuerPublicKey).length === 3
      );
    },
    20_000,
    'three nodes on the new root',
  );
  await sleep(4000);
  assert.equal((await cluster.swarm()).RootRotationInProgress, true, 'still rotating while w3 is down');
  ok(manager.shoal(['node', 'rm', '--force', w3id]));
  const sw: Swarm = (await eventually(
    async () => {
      const s = await cluster.swarm();
      return s.RootRotationInProgress ? undefined : s;
    },
    15_000,
    'the rotation to complete',
  ))!;
  for (const d of [manager, workers[0], workers[1]]) {
    await eventually(() => readCert(d, 'swarm-root-ca.crt') === sw.TLSInfo.TrustRoot, 10_000, 'root file updated');
    assert.ok(verifyChain(readCert(d), sw.TLSInfo.TrustRoot!));
  }
});
