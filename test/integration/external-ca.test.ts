// Signing through an external CA: a real `cfssl serve` over HTTPS on 127.0.0.1, requiring client certificates from
// the swarm (mutual TLS), with its own root. The swarm rotates to that root with `swarm ca --rotate --ca-cert
// --external-ca` (no key: the root's key stays with cfssl), so every certificate from then on — workers', joins',
// the manager's own — is signed by cfssl. A signer that is down leaves a join refused with the reason, never a
// certificate from another CA. cfssl comes from Debian's golang-cfssl, which .ci/run installs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyChain } from '../../src/ca/certificate-info';
import { Cluster, ok, readCert } from './cluster';
import { TestDaemon, eventually, freePort, sleep } from './harness';

const cluster = new Cluster(3);
const { manager } = cluster;
const tmp = mkdtempSync(join(tmpdir(), 'shoal-extca-'));
const f = (name: string) => join(tmp, name);
let cfssl: ChildProcess | undefined;
let cfsslLog = '';
let url = '';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** The external CA's root, and cfssl's own server certificate for 127.0.0.1 issued by it. */
function makeExternalPki(): void {
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ext.key')].concat([
      '-out',
      f('ext.crt'),
      '-days',
      '3650',
      '-subj',
      '/CN=external-root/O=example',
    ]),
  );
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('tls.key')].concat([
      '-out',
      f('tls.csr'),
      '-subj',
      '/CN=127.0.0.1',
    ]),
  );
  writeFileSync(f('tls.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(
    ['x509', '-req', '-in', f('tls.csr'), '-CA', f('ext.crt'), '-CAkey', f('ext.key'), '-CAcreateserial'].concat([
      '-out',
      f('tls.crt'),
      '-days',
      '365',
      '-extfile',
      f('tls.ext'),
    ]),
  );
  writeFileSync(
    f('config.json'),
    JSON.stringify({
      signing: {
        default: { usages: ['signing', 'key encipherment', 'server auth', 'client auth'], expiry: '2160h' },
        // swarmkit's ExternalCrossSignProfile, for cross-signing a new root when moving away from this one.
        profiles: { CA: { usages: ['cert sign', 'crl sign'], expiry: '87600h', ca_constraint: { is_ca: true } } },
      },
    }),
  );
}

/** `cfssl serve` with TLS, signing with the external root, admitting only clients certified by `clientRoots`. */
async function startCfssl(port: number, clientRoots: string): Promise<void> {
  writeFileSync(f('clients.crt'), clientRoots);
  cfsslLog = '';
  cfssl = spawn(
    'cfssl',
    ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', f('ext.crt'), '-ca-key', f('ext.key')].concat([
      '-config',
      f('config.json'),
      '-tls-cert',
      f('tls.crt'),
      '-tls-key',
      f('tls.key'),
      '-mutual-tls-ca',
      f('clients.crt'),
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cfssl.stdout!.on('data', (d) => (cfsslLog += d));
  cfssl.stderr!.on('data', (d) => (cfsslLog += d));
  await eventually(() => /Now listening|listening on/i.test(cfsslLog) || cfssl!.exitCode !== null, 10_000, 'cfssl up');
  if (cfssl.exitCode !== null) throw new Error(`cfssl exited: ${cfsslLog}`);
  await sleep(200);
}

async function stopCfssl(): Promise<void> {
  const p = cfssl;
  cfssl = undefined;
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

before(async () => {
  if (spawnSync('cfssl', ['version']).error) {
    throw new Error('cfssl is not installed: run .ci/run (it installs Debian’s golang-cfssl)');
  }
  makeExternalPki();
  await cluster.start();
  ok(manager.shoal(['service', 'create', '--name', 'steady', '--replicas', '4', 'busybox', 'sleep', '3603']));
  await eventually(
    async () => (await cluster.tasks()).filter((t) => t.Status.State === 'running').length === 4,
    20_000,
    '4 running tasks',
  );
});
after(async () => {
  await stopCfssl();
  await cluster.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('swarm update --external-ca stores the CA, its cert defaulting to the current root', async () => {
  const sw = await cluster.swarm();
  ok(manager.shoal(['swarm', 'update', '--external-ca', 'protocol=cfssl,url=https://127.0.0.1:1/api/v1/cfssl/sign']));
  const after = await cluster.swarm();
  assert.deepEqual(
    after.Spec.CAConfig?.ExternalCAs?.map((c) => [c.Protocol, c.URL, c.CACert]),
    [['cfssl', 'https://127.0.0.1:1/api/v1/cfssl/sign', sw.TLSInfo.TrustRoot]],
  );
  // Cleared again: the root has its key, nothing else changes.
  const spec = { ...after.Spec, CAConfig: { ...after.Spec.CAConfig, ExternalCAs: [] } };
  const r = await manager.api('POST', `/swarm/update?version=${after.Version.Index}`, spec);
  assert.equal(r.status, 200, r.body);
});

test('rotating to an external root: every certificate is signed by cfssl over mutual TLS', async () => {
  const port = await freePort();
  url = `https://127.0.0.1:${port}/api/v1/cfssl/sign`;
  const oldRoot = (await cluster.swarm()).TLSInfo.TrustRoot!;
  // cfssl admits the swarm's managers: certificates from the current root, and from the new (its own) root.
  await startCfssl(port, oldRoot + readFileSync(f('ext.crt'), 'utf8'));

  // Unreachable: refused, nothing changes.
  const bad = manager.shoal([
    'swarm',
    'ca',
    '--rotate',
    '--ca-cert',
    f('ext.crt'),
    '--external-ca',
    `protocol=cfssl,url=https://127.0.0.1:1/x`,
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.stderr,
    /there must be at least one valid, reachable external CA corresponding to the desired CA certificate/,
  );

  const before = new Map((await cluster.tasks()).map((t) => [t.ID, t.Status.State]));
  const r = manager.shoal([
    'swarm',
    'ca',
    '--rotate',
    '--ca-cert',
    f('ext.crt'),
    '--external-ca',
    `protocol=cfssl,url=${url}`,
  ]);
  ok(r);
  const sw = await cluster.swarm();
  const ext = readFileSync(f('ext.crt'), 'utf8');
  assert.equal(sw.TLSInfo.TrustRoot!.trim(), ext.trim());
  assert.equal(sw.RootRotationInProgress, false);
  for (const d of cluster.all) {
    await eventually(() => readCert(d, 'swarm-root-ca.crt').trim() === ext.trim(), 10_000, 'root file updated');
    const pem = readCert(d);
    assert.ok(verifyChain(pem, ext), 'chains to the external root');
    const leaf = new X509Certificate(pem);
    assert.match(leaf.issuer, /CN=external-root/);
    const id = cluster.ids.get(d)!;
    assert.match(leaf.subject, new RegExp(`CN=${id}`));
    assert.match(leaf.subject, new RegExp(`OU=${d === manager ? 'swarm-manager' : 'swarm-worker'}`));
    assert.match(leaf.subject, new RegExp(`O=${sw.ID}`));
    assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${id}`));
  }
  assert.deepEqual(new Map((await cluster.tasks()).map((t) => [t.ID, t.Status.State])), before, 'tasks untouched');
  assert.match(cfsslLog, /sign/i);

  // With no key for the root, a join is signed by cfssl too.
  const late = new TestDaemon();
  await late.start();
  try {
    await cluster.join(late, sw.JoinTokens.Worker);
    assert.ok(verifyChain(readCert(late), ext));
    assert.match(new X509Certificate(readCert(late)).issuer, /CN=external-root/);
    ok(late.shoal(['swarm', 'leave']));
    // Gone for good, so that it holds up no later rotation.
    const lateId = cluster.ids.get(late)!;
    await eventually(
      async () => (await cluster.nodes()).find((n) => n.ID === lateId)?.Status.State === 'down',
      15_000,
      'the late node down',
    );
    ok(manager.shoal(['node', 'rm', lateId]));
  } finally {
    await late.stop();
  }

  // cfssl down: a join is refused with the reason, and no node is created for it.
  await stopCfssl();
  await refusedWhileDown(sw.JoinTokens.Worker);
});

test('rotating away from the external root: cfssl cross-signs the new root (profile CA)', async () => {
  const port = Number(new URL(url).port);
  const ext = readFileSync(f('ext.crt'), 'utf8');
  await startCfssl(port, ext);
  const before = new Map((await cluster.tasks()).map((t) => [t.ID, t.Status.State]));
  const r = manager.shoal(['swarm', 'ca', '--rotate']);
  ok(r);
  const sw = await cluster.swarm();
  assert.notEqual(sw.TLSInfo.TrustRoot!.trim(), ext.trim());
  assert.equal(sw.RootRotationInProgress, false);
  for (const d of cluster.all) {
    await eventually(() => readCert(d, 'swarm-root-ca.crt') === sw.TLSInfo.TrustRoot, 10_000, 'root file updated');
    assert.ok(verifyChain(readCert(d), sw.TLSInfo.TrustRoot!));
    assert.doesNotMatch(new X509Certificate(readCert(d)).issuer, /external-root/);
  }
  assert.deepEqual(new Map((await cluster.tasks()).map((t) => [t.ID, t.Status.State])), before, 'tasks untouched');
});

async function refusedWhileDown(token: string) {
  const sw = { JoinTokens: { Worker: token } };
  const count = (await cluster.nodes()).length;
  const late2 = new TestDaemon();
  await late2.start();
  try {
    const p = await freePort();
    const j = late2.shoal([
      'swarm',
      'join',
      '--token',
      sw.JoinTokens.Worker,
      '--listen-addr',
      `127.0.0.1:${p}`,
      cluster.addr,
    ]);
    assert.notEqual(j.code, 0);
    assert.match(j.stderr, /certificate signing request is pending: the external CA could not sign it/);
    assert.equal((await cluster.nodes()).length, count);
  } finally {
    await late2.stop();
  }
}
