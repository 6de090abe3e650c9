// The pieces of a root rotation: the cross-signed root, chains through it, validateCAConfig's decisions and refusals,
// and the reconciler that tells nodes to renew and finishes the rotation once they all did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createNodeKeyAndCSR, createRootCA, nodeTLSInfo, parseNodeCertificate, verifyChain } from '../../src/ca';
import { crossSignRootCA } from '../../src/ca/cross-sign';
import { NodeCertificateSigner } from '../../src/ca/node-signer';
import { RootCA } from '../../src/ca/root-ca';
import { clusterTLSInfo, managerTrustBundle } from '../../src/ca/root-rotation';
import { joinTokenPinsRoot, parseJoinToken } from '../../src/ca/join-token';
import { ApiError } from '../../src/api/errors';
import { validateCAConfig } from '../../src/manager/controlapi/ca-rotation';
import { RootRotationReconciler } from '../../src/manager/ca-reconciler';
import { makeSwarm } from '../transport/fixtures';
import type { ClusterRootCA } from '../../src/store/objects';

const noCreds = { credentials: () => undefined };

async function leafFrom(rootCA: ClusterRootCA, nodeId = 'node0000000000000000000001') {
  const { keyPem, csrPem } = await createNodeKeyAndCSR();
  const certPem = await new NodeCertificateSigner(undefined).sign(
    { rootCA, externalCAs: undefined },
    { csrPem, identity: { nodeId, role: 'swarm-worker', clusterId: 'cluster0' }, expiryNs: undefined },
  );
  return { certPem, keyPem };
}

test('the cross-signed root has the new root’s subject, key and validity, issued by the old root', async () => {
  const oldRoot = await createRootCA();
  const newRoot = await createRootCA();
  const cross = await crossSignRootCA(await RootCA.load(oldRoot.certPem, oldRoot.keyPem), newRoot.certPem);
  const c = new X509Certificate(cross);
  const n = new X509Certificate(newRoot.certPem);
  const o = new X509Certificate(oldRoot.certPem);
  assert.equal(c.subject, n.subject);
  assert.ok(c.publicKey.equals(n.publicKey));
  assert.equal(c.validTo, n.validTo);
  assert.ok(c.ca);
  assert.ok(c.checkIssued(o) && c.verify(o.publicKey));
  await assert.rejects(
    crossSignRootCA(await RootCA.load(oldRoot.certPem, oldRoot.keyPem), (await leafFrom(rootOf(oldRoot))).certPem),
    /certificate not a CA/,
  );
});

const rootOf = (r: { certPem: string; keyPem: string }): ClusterRootCA => ({
  CACert: r.certPem,
  CAKey: r.keyPem,
  JoinTokens: { Worker: '', Manager: '' },
});

test('during a rotation leaves chain to the old root through the cross-signed root, and to the new root alone', async () => {
  const s = await makeSwarm();
  const c = s.store.list('cluster')[0];
  const rotating = await validateCAConfig(c, { CAConfig: { ForceRotate: 1 } }, noCreds);
  assert.ok(rotating.RootRotation);
  assert.equal(rotating.LastForcedRotation, 1);
  const { certPem, keyPem } = await leafFrom(rotating);
  const newRoot = rotating.RootRotation.CACert;
  assert.ok(verifyChain(certPem, c.RootCA.CACert), 'old-root trusters accept it');
  assert.ok(verifyChain(certPem, newRoot), 'new-root trusters accept it');
  assert.ok(
    !verifyChain((await leafFrom(c.RootCA)).certPem, newRoot),
    'an old-root leaf does not chain to the new root',
  );
  // What the node reports: issued by the new root, whichever root it trusts.
  const info = nodeTLSInfo(certPem, c.RootCA.CACert);
  assert.equal(info.CertIssuerPublicKey, clusterTLSInfo(rotating).CertIssuerPublicKey);
  assert.equal(clusterTLSInfo(rotating).TrustRoot, c.RootCA.CACert);
  assert.equal(parseNodeCertificate(certPem).nodeId, 'node0000000000000000000001');
  assert.equal(managerTrustBundle(rotating), c.RootCA.CACert + newRoot);
  void keyPem;
  // Nothing asked: the same state back; the same ForceRotate again does not start another.
  assert.equal(await validateCAConfig({ ...c, RootCA: rotating }, { CAConfig: { ForceRotate: 1 } }, noCreds), rotating);
});

test('validateCAConfig refuses what swarmkit refuses', async () => {
  const s = await makeSwarm();
  const c = s.store.list('cluster')[0];
  const other = await createRootCA();
  const third = await createRootCA();
  const refuses = async (CAConfig: object, msg: string) => {
    const err = await validateCAConfig(c, { CAConfig }, noCreds).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError, `expected a refusal: ${msg}`);
    assert.equal(err.message, `rpc error: code = InvalidArgument desc = ${msg}`);
    assert.equal(err.status, 400);
  };
  await refuses(
    { SigningCAKey: other.keyPem },
    'if a signing CA key is provided, the signing CA cert must also be provided',
  );
  await refuses({ SigningCACert: other.certPem, SigningCAKey: third.keyPem }, 'certificate key mismatch');
  await refuses(
    { SigningCACert: other.certPem + third.certPem, SigningCAKey: other.keyPem },
    'the desired CA certificate cannot contain multiple certificates',
  );
  const short = await createRootCA({ expiryNs: 30 * 24 * 3600e9 });
  await refuses({ SigningCACert: short.certPem, SigningCAKey: short.keyPem }, 'CA certificate expires too soon');
  await refuses(
    { SigningCACert: other.certPem },
    'there must be at least one valid, reachable external CA corresponding to the desired CA certificate',
  );
  // The current root given again with its key: no rotation, any rotation called off.
  const same = await validateCAConfig(
    c,
    { CAConfig: { SigningCACert: c.RootCA.CACert, SigningCAKey: c.RootCA.CAKey } },
    noCreds,
  );
  assert.equal(same.RootRotation, undefined);
  // A new root with a key starts a rotation to it.
  const byo = await validateCAConfig(
    c,
    { CAConfig: { SigningCACert: other.certPem, SigningCAKey: other.keyPem } },
    noCreds,
  );
  assert.equal(byo.RootRotation?.CACert, other.certPem);
  assert.equal(byo.RootRotation?.CAKey, other.keyPem);
});

test('the reconciler marks unconverged nodes ROTATE, then switches roots and tokens once all converged', async () => {
  const s = await makeSwarm();
  const c = s.store.list('cluster')[0];
  const rotating = await validateCAConfig(c, { CAConfig: { ForceRotate: 1 } }, noCreds);
  const reconciler = new RootRotationReconciler(s.store, { intervalMs: 50, batchSize: 1 });
  reconciler.start();
  try {
    await s.store.update((tx) =>
      tx.update('cluster', { ...c, RootCA: rotating, TLSInfo: clusterTLSInfo(rotating), RootRotationInProgress: true }),
    );
    const ids = s.store.list('nodes').map((n) => n.ID);
    // One node per tick: all of them end up told to renew.
    await waitFor(() => s.store.list('nodes').every((n) => n.Certificate?.Status.State === 'ROTATE'));
    assert.equal(s.store.list('cluster')[0].RootRotationInProgress, true);
    // Each node renews (reports a certificate from the new root); the last one completes the rotation.
    const issued = await leafFrom(rotating);
    const tls = nodeTLSInfo(issued.certPem, c.RootCA.CACert);
    for (const id of ids) {
      await s.store.update((tx) => {
        const n = tx.get('nodes', id)!;
        tx.update('nodes', {
          ...n,
          Description: { ...n.Description, TLSInfo: tls },
          Certificate: { Status: { State: 'ISSUED' } },
        });
      });
    }
    await waitFor(() => !s.store.list('cluster')[0].RootRotationInProgress);
    const done = s.store.list('cluster')[0];
    assert.equal(done.RootCA.CACert, rotating.RootRotation!.CACert);
    assert.equal(done.RootCA.CAKey, rotating.RootRotation!.CAKey);
    assert.equal(done.RootCA.RootRotation, undefined);
    assert.equal(done.TLSInfo.TrustRoot, rotating.RootRotation!.CACert);
    assert.ok(joinTokenPinsRoot(parseJoinToken(done.RootCA.JoinTokens.Worker), done.RootCA.CACert));
    assert.ok(joinTokenPinsRoot(parseJoinToken(done.RootCA.JoinTokens.Manager), done.RootCA.CACert));
    // After the switch, leaves carry no intermediate and chain to the new root.
    const after = await leafFrom(done.RootCA);
    assert.equal((after.certPem.match(/BEGIN CERTIFICATE/g) ?? []).length, 1);
    assert.ok(verifyChain(after.certPem, done.RootCA.CACert));
  } finally {
    await reconciler.stop();
  }
});

async function waitFor(fn: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
