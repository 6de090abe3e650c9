import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  RootCA,
  createRootCA,
  issueNodeCertificate,
  generateKeyPair,
  parseNodeCertificate,
  tlsInfoFor,
  verifyChain,
} from '../../src/ca';
import { x509 } from '../../src/ca/x509';
import { isStandardPem } from './fixtures';

const DAY = 86_400_000;

test('root CA: self-signed swarm-ca CA certificate, ECDSA P-256 / SHA-256, standard PEM', async () => {
  const { certPem, keyPem } = await createRootCA();
  assert.ok(isStandardPem(certPem, 'CERTIFICATE'), certPem);
  assert.ok(isStandardPem(keyPem, 'PRIVATE KEY'), keyPem);

  const cert = new X509Certificate(certPem);
  assert.equal(cert.subject, 'CN=swarm-ca');
  assert.equal(cert.issuer, 'CN=swarm-ca');
  assert.equal(cert.ca, true);
  assert.ok(cert.verify(cert.publicKey), 'self-signature must verify');
  assert.ok(cert.checkIssued(cert));
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(new x509.X509Certificate(certPem).signatureAlgorithm.hash.name, 'SHA-256');

  const key = createPrivateKey(keyPem);
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  // The key in the file is the certificate's key.
  assert.deepEqual(
    createPublicKey(key).export({ type: 'spki', format: 'der' }),
    cert.publicKey.export({ type: 'spki', format: 'der' }),
  );
});

test('root CA: extensions are basicConstraints CA critical, keyUsage certSign|cRLSign critical, and an SKI', async () => {
  const { certPem } = await createRootCA();
  const cert = new x509.X509Certificate(certPem);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  assert.ok(bc);
  assert.equal(bc.ca, true);
  assert.equal(bc.critical, true);
  assert.equal(bc.pathLength, undefined);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  assert.ok(ku);
  assert.equal(ku.critical, true);
  assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  assert.ok(ski && ski.keyId.length === 40);
});

test('root CA: 20 years by default from a 5-minute backdate; expiryNs overrides', async () => {
  const now = new Date('2030-06-15T12:00:20Z');
  const cert = new X509Certificate((await createRootCA({ now })).certPem);
  assert.equal(new Date(cert.validFrom).toISOString(), '2030-06-15T11:55:00.000Z');
  assert.equal(new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime(), 630_720_000_000);

  const short = new X509Certificate((await createRootCA({ now, expiryNs: 10 * DAY * 1e6 })).certPem);
  assert.equal(new Date(short.validTo).getTime() - new Date(short.validFrom).getTime(), 10 * DAY);
});

test('root CA: two roots differ in key and serial', async () => {
  const a = new X509Certificate((await createRootCA()).certPem);
  const b = new X509Certificate((await createRootCA()).certPem);
  assert.notEqual(a.serialNumber, b.serialNumber);
  assert.notEqual(a.fingerprint256, b.fingerprint256);
});

test('RootCA.load: keeps the exact bytes and digests them', async () => {
  const { certPem, keyPem } = await createRootCA();
  const root = await RootCA.load(certPem, keyPem);
  assert.equal(root.certPem, certPem);
  assert.equal(root.digest, 'sha256:' + createHash('sha256').update(certPem).digest('hex'));
});

test('RootCA.load: rejects a key that does not belong to the certificate', async () => {
  const a = await createRootCA();
  const b = await createRootCA();
  await assert.rejects(RootCA.load(a.certPem, b.keyPem), /certificate key mismatch/);
});

test('RootCA.load: rejects a leaf certificate as a root', async () => {
  const root = await createRootCA();
  const keys = await generateKeyPair();
  const leaf = await issueNodeCertificate({
    rootCertPem: root.certPem,
    rootKeyPem: root.keyPem,
    publicKey: keys.publicKey,
    nodeId: 'n1',
    role: 'swarm-manager',
    clusterId: 'c1',
  });
  await assert.rejects(RootCA.load(leaf, root.keyPem), /not a CA/);
});

test('RootCA.load: rejects weak RSA keys', async () => {
  const root = await createRootCA();
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 1024,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await assert.rejects(RootCA.load(root.certPem, privateKey), /unsupported RSA key size: 1024/);
});

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

test(
  'RootCA: signs with an operator-made root (openssl, P-384, SEC1 key, UTF8String CN) and copies its subject verbatim',
  { skip: !haveOpenssl && 'openssl not installed' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-ca-'));
    try {
      const keyFile = join(dir, 'ca.key');
      const certFile = join(dir, 'ca.crt');
      const run = (args: string[]): void => {
        const r = spawnSync('openssl', args, { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      };
      run(['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', keyFile]);
      run([
        'req',
        '-x509',
        '-new',
        '-key',
        keyFile,
        '-subj',
        '/O=Acme/CN=Acme Swarm Root',
        '-days',
        '30',
        '-out',
        certFile,
      ]);
      const certPem = readFileSync(certFile, 'utf8');
      const keyPem = readFileSync(keyFile, 'utf8');
      assert.match(keyPem, /BEGIN EC PRIVATE KEY/);

      const root = await RootCA.load(certPem, keyPem);
      const keys = await generateKeyPair();
      const leaf = await issueNodeCertificate({
        rootCA: root,
        publicKey: keys.publicKey,
        nodeId: 'n1',
        role: 'swarm-worker',
        clusterId: 'c1',
      });
      assert.equal(new x509.X509Certificate(leaf).signatureAlgorithm.hash.name, 'SHA-384');
      assert.ok(verifyChain(leaf, certPem));
      const info = parseNodeCertificate(leaf, certPem);
      assert.equal(info.issuerSubjectDer.toString('base64'), tlsInfoFor(certPem).CertIssuerSubject);
      const v = spawnSync('openssl', ['verify', '-CAfile', certFile, '-purpose', 'sslclient'], {
        input: leaf,
        encoding: 'utf8',
      });
      assert.equal(v.status, 0, v.stdout + v.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
