import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createRootCA, parseNodeCertificate, tlsInfoFor, verifyChain } from '../../src/ca';
import { issueNode } from './fixtures';

const spkiOf = (pem: string): Buffer => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });

test('parseNodeCertificate reads CN/OU/O and dates, and the issuer key when the root is supplied', async () => {
  const root = await createRootCA();
  const node = await issueNode(root, 'swarm-worker', 'abcdefghijklmnopqrstuvwxy', 'clusterxyz');
  const info = parseNodeCertificate(node.certPem, root.certPem);
  assert.equal(info.nodeId, 'abcdefghijklmnopqrstuvwxy');
  assert.equal(info.role, 'swarm-worker');
  assert.equal(info.clusterId, 'clusterxyz');
  const cert = new X509Certificate(node.certPem);
  assert.equal(info.notBefore.getTime(), new Date(cert.validFrom).getTime());
  assert.equal(info.notAfter.getTime(), new Date(cert.validTo).getTime());
  assert.ok(info.issuerPublicKeyDer);
  assert.deepEqual(info.issuerPublicKeyDer, spkiOf(root.certPem));
  // DER Name: SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, PrintableString "swarm-ca" } } }
  assert.equal(info.issuerSubjectDer[0], 0x30);
  assert.ok(info.issuerSubjectDer.includes(Buffer.from('swarm-ca')));
  assert.ok(info.issuerSubjectDer.includes(Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03])));
});

test('parseNodeCertificate finds the issuer in a chain after the leaf, and only the real issuer', async () => {
  const root = await createRootCA();
  const other = await createRootCA();
  const node = await issueNode(root, 'swarm-manager', 'n1');
  assert.deepEqual(parseNodeCertificate(node.certPem + root.certPem).issuerPublicKeyDer, spkiOf(root.certPem));
  // Same subject (CN=swarm-ca) but a different key: not the issuer.
  assert.equal(parseNodeCertificate(node.certPem, other.certPem).issuerPublicKeyDer, undefined);
  assert.equal(parseNodeCertificate(node.certPem).issuerPublicKeyDer, undefined);
});

test('parseNodeCertificate refuses things that are not node certificates', async () => {
  const root = await createRootCA();
  assert.throws(() => parseNodeCertificate(root.certPem), /no single OU/);
  assert.throws(() => parseNodeCertificate('garbage'), /no certificate found/);
});

test('tlsInfoFor gives the PEM verbatim and base64 DER of the root subject and public key', async () => {
  const root = await createRootCA();
  const info = tlsInfoFor(root.certPem);
  assert.equal(info.TrustRoot, root.certPem);
  assert.deepEqual(Buffer.from(info.CertIssuerPublicKey, 'base64'), spkiOf(root.certPem));
  // The issuer field of an issued leaf is, byte for byte, the root subject reported here.
  const node = await issueNode(root, 'swarm-worker', 'n1');
  assert.equal(parseNodeCertificate(node.certPem).issuerSubjectDer.toString('base64'), info.CertIssuerSubject);
  // Fixed bytes for CN=swarm-ca as PrintableString, the encoding Go uses for this name.
  assert.equal(info.CertIssuerSubject, 'MBMxETAPBgNVBAMTCHN3YXJtLWNh');
});

test('verifyChain: true for a cert from the root, false for another root, outside validity, or garbage', async () => {
  const root = await createRootCA();
  const other = await createRootCA();
  const node = await issueNode(root, 'swarm-worker', 'n1');
  const foreign = await issueNode(other, 'swarm-worker', 'n1');
  assert.equal(verifyChain(node.certPem, root.certPem), true);
  assert.equal(verifyChain(node.certPem, other.certPem + root.certPem), true, 'any root of a bundle');
  assert.equal(verifyChain(foreign.certPem, root.certPem), false);
  assert.equal(verifyChain(node.certPem, other.certPem), false);
  const cert = new X509Certificate(node.certPem);
  assert.equal(verifyChain(node.certPem, root.certPem, new Date(new Date(cert.validTo).getTime() + 1000)), false);
  assert.equal(verifyChain(node.certPem, root.certPem, new Date(new Date(cert.validFrom).getTime() - 1000)), false);
  assert.equal(verifyChain('garbage', root.certPem), false);
  assert.equal(verifyChain(node.certPem, 'garbage'), false);
  // A node certificate cannot stand in as a root for another node certificate.
  assert.equal(verifyChain(node.certPem, foreign.certPem), false);
});

test('verifyChain: an expired root fails the chain even when the leaf is in date', async () => {
  const now = new Date();
  const root = await createRootCA({ now: new Date(now.getTime() - 10 * 86_400_000), expiryNs: 86_400_000 * 1e6 });
  const node = await issueNode(root, 'swarm-worker', 'n1');
  assert.equal(new X509Certificate(node.certPem).verify(new X509Certificate(root.certPem).publicKey), true);
  assert.equal(verifyChain(node.certPem, root.certPem, now), false);
});
