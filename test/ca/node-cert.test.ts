import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey, webcrypto } from 'node:crypto';
import {
  RootCA,
  createCSR,
  createNodeKeyAndCSR,
  createRootCA,
  exportPublicKeyPem,
  generateKeyPair,
  issueNodeCertificate,
  publicKeyFromCSR,
  type IssueNodeCertificateOptions,
} from '../../src/ca';
import { x509 } from '../../src/ca/x509';
import { isStandardPem } from './fixtures';

const HOUR = 3_600_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

test('node cert from a CSR: subject, issuer, signature, SANs, usages for a manager', async () => {
  const root = await createRootCA();
  const { keyPem, csrPem } = await createNodeKeyAndCSR();
  const pem = await issueNodeCertificate({
    rootCertPem: root.certPem,
    rootKeyPem: root.keyPem,
    csrPem,
    nodeId: 'dw02poa4vqvzxi5c10gm4pq2g',
    role: 'swarm-manager',
    clusterId: 'ec2adilxf4ngv7ev8fwsi61i7',
  });
  assert.ok(isStandardPem(pem, 'CERTIFICATE'), pem);
  const cert = new X509Certificate(pem);
  const rootCert = new X509Certificate(root.certPem);
  assert.ok(cert.verify(rootCert.publicKey), 'signed by the root key');
  assert.ok(cert.checkIssued(rootCert));
  assert.equal(cert.ca, false);
  // Go's pkix.Name order, exactly as in Docker's docs example.
  assert.equal(cert.subject, 'O=ec2adilxf4ngv7ev8fwsi61i7\nOU=swarm-manager\nCN=dw02poa4vqvzxi5c10gm4pq2g');
  assert.equal(cert.issuer, 'CN=swarm-ca');
  assert.equal(cert.subjectAltName, 'DNS:swarm-manager, DNS:dw02poa4vqvzxi5c10gm4pq2g, DNS:swarm-ca');
  assert.deepEqual([...(cert.keyUsage ?? [])].sort(), [SERVER_AUTH, CLIENT_AUTH]);
  // The certified key is the CSR's key.
  assert.deepEqual(
    cert.publicKey.export({ type: 'spki', format: 'der' }),
    createPublicKey(keyPem).export({ type: 'spki', format: 'der' }),
  );

  const px = new x509.X509Certificate(pem);
  const ku = px.getExtension(x509.KeyUsagesExtension);
  assert.ok(ku?.critical);
  assert.equal(ku.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  const aki = px.getExtension(x509.AuthorityKeyIdentifierExtension);
  const rootSki = new x509.X509Certificate(root.certPem).getExtension(x509.SubjectKeyIdentifierExtension);
  assert.equal(aki?.keyId, rootSki?.keyId);
  assert.equal(px.signatureAlgorithm.hash.name, 'SHA-256');
});

test('node cert for a worker: SANs are the role and node ID only', async () => {
  const root = await createRootCA();
  const { csrPem } = await createNodeKeyAndCSR();
  const cert = new X509Certificate(
    await issueNodeCertificate({
      rootCertPem: root.certPem,
      rootKeyPem: root.keyPem,
      csrPem,
      nodeId: 'w1',
      role: 'swarm-worker',
      clusterId: 'c1',
    }),
  );
  assert.equal(cert.subjectAltName, 'DNS:swarm-worker, DNS:w1');
  assert.match(cert.subject, /^OU=swarm-worker$/m);
});

test('the identity in the CSR is ignored; it always comes from the signer', async () => {
  const root = await createRootCA();
  const keys = await generateKeyPair();
  const csrPem = await createCSR(keys, 'i-am-the-leader');
  assert.ok(isStandardPem(csrPem, 'CERTIFICATE REQUEST'));
  const cert = new X509Certificate(
    await issueNodeCertificate({
      rootCertPem: root.certPem,
      rootKeyPem: root.keyPem,
      csrPem,
      nodeId: 'n7',
      role: 'swarm-worker',
      clusterId: 'c1',
    }),
  );
  assert.match(cert.subject, /^CN=n7$/m);
  assert.doesNotMatch(cert.subject + cert.subjectAltName, /i-am-the-leader/);
});

function tamperCSR(csrPem: string, find: Buffer, flip: (der: Buffer, at: number) => void): string {
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const at = der.indexOf(find);
  assert.ok(at > 0, 'bytes to tamper with not found');
  flip(der, at);
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
}

test('a CSR whose signature does not verify is refused', async () => {
  const keys = await generateKeyPair();
  const csrPem = await createCSR(keys, 'requested-name');
  assert.ok(await publicKeyFromCSR(csrPem));
  // Change a signed byte (the CN) without breaking the structure: only the signature check can catch it.
  const tampered = tamperCSR(csrPem, Buffer.from('requested-name'), (der, at) => (der[at] = 'R'.charCodeAt(0)));
  await assert.rejects(publicKeyFromCSR(tampered), /signature is invalid/);
  const root = await createRootCA();
  await assert.rejects(
    issueNodeCertificate({
      rootCertPem: root.certPem,
      rootKeyPem: root.keyPem,
      csrPem: tampered,
      nodeId: 'n',
      role: 'swarm-worker',
      clusterId: 'c',
    }),
    /signature is invalid/,
  );
});

test('a malformed CSR is refused', async () => {
  const keys = await generateKeyPair();
  const csrPem = await createCSR(keys);
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  // A flipped bit in the key's point leaves a point that is not on the curve.
  const badKey = tamperCSR(csrPem, spki.subarray(-16), (der, at) => (der[at] ^= 0x01));
  await assert.rejects(publicKeyFromCSR(badKey), /invalid certificate signing request/);
  await assert.rejects(publicKeyFromCSR('not a csr'), /invalid certificate signing request/);
});

test('validity: NotBefore is backdated 1h from the minute, NotAfter is now + expiry (default 90 days)', async () => {
  const material = await createRootCA();
  const root = await RootCA.load(material.certPem, material.keyPem);
  const keys = await generateKeyPair();
  const base: IssueNodeCertificateOptions = {
    rootCA: root,
    publicKey: keys.publicKey,
    nodeId: 'n',
    role: 'swarm-worker',
    clusterId: 'c',
    now: new Date('2030-01-01T10:20:40Z'), // rounds up to 10:21
  };
  const range = async (o: Partial<IssueNodeCertificateOptions>): Promise<[string, string]> => {
    const c = new X509Certificate(await issueNodeCertificate({ ...base, ...o } as IssueNodeCertificateOptions));
    return [new Date(c.validFrom).toISOString(), new Date(c.validTo).toISOString()];
  };
  // Same shape as Docker's docs example: Aug 30 02:39 → Nov 28 03:39, i.e. 90 days + 1h apart.
  assert.deepEqual(await range({}), ['2030-01-01T09:21:00.000Z', '2030-04-01T10:21:00.000Z']);
  assert.deepEqual(await range({ expiryNs: 2 * HOUR * 1e6 }), ['2030-01-01T09:21:00.000Z', '2030-01-01T12:21:00.000Z']);
  // Below swarmkit's 1h minimum the signer falls back to the default rather than issuing a too-short cert.
  assert.deepEqual(await range({ expiryNs: 60e9 }), ['2030-01-01T09:21:00.000Z', '2030-04-01T10:21:00.000Z']);
});

test('issuing from a public key, as a CryptoKey or a PEM, certifies that key', async () => {
  const root = await createRootCA();
  const keys = await generateKeyPair();
  const pubPem = await exportPublicKeyPem(keys.publicKey);
  assert.ok(isStandardPem(pubPem, 'PUBLIC KEY'));
  for (const publicKey of [keys.publicKey, pubPem]) {
    const cert = new X509Certificate(
      await issueNodeCertificate({
        rootCertPem: root.certPem,
        rootKeyPem: root.keyPem,
        publicKey,
        nodeId: 'n',
        role: 'swarm-manager',
        clusterId: 'c',
      }),
    );
    assert.deepEqual(
      cert.publicKey.export({ type: 'spki', format: 'der' }),
      createPublicKey(pubPem).export({ type: 'spki', format: 'der' }),
    );
  }
});

test('bad identities are refused', async () => {
  const root = await createRootCA();
  const keys = await generateKeyPair();
  const base = { rootCertPem: root.certPem, rootKeyPem: root.keyPem, publicKey: keys.publicKey };
  await assert.rejects(
    issueNodeCertificate({ ...base, nodeId: 'n', role: 'swarm-admin' as never, clusterId: 'c' }),
    /invalid node role: swarm-admin/,
  );
  await assert.rejects(
    issueNodeCertificate({ ...base, nodeId: '', role: 'swarm-worker', clusterId: 'c' }),
    /node ID is required/,
  );
  await assert.rejects(
    issueNodeCertificate({ ...base, nodeId: 'n', role: 'swarm-worker', clusterId: '' }),
    /cluster ID is required/,
  );
});

test('serials are random and positive', async () => {
  const root = await createRootCA();
  const keys = await generateKeyPair();
  const serials = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const pem = await issueNodeCertificate({
      rootCertPem: root.certPem,
      rootKeyPem: root.keyPem,
      publicKey: keys.publicKey,
      nodeId: 'n',
      role: 'swarm-worker',
      clusterId: 'c',
    });
    const serial = new X509Certificate(pem).serialNumber;
    assert.equal(serial.length, 40);
    assert.ok(parseInt(serial[0], 16) < 8, 'top bit clear');
    serials.add(serial);
  }
  assert.equal(serials.size, 5);
});
