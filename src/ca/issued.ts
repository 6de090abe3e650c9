// The checks a node makes on what a manager hands it: a root bundle (after swarmkit's NewRootCA without a key)
// and a newly issued certificate (ValidateCertChain, plus: it certifies the key this node just made).
import { X509Certificate as NodeX509Certificate, createPublicKey } from 'node:crypto';
import { parseNodeCertificate, verifyChain, type NodeCertificateInfo } from './certificate-info';
import { rawCertificateFields } from './der';
import { decodePemBlocks, type PemCertificate, type PemPrivateKey } from './pem';

/** Throws unless `pem` is a bundle of self-signed CA certificates, each currently valid. */
export function checkRootBundle(pem: PemCertificate, now: Date = new Date()): void {
  const ders = decodePemBlocks(pem, 'CERTIFICATE');
  if (ders.length === 0) throw new Error('no root CA certificate found');
  for (const der of ders) {
    let c: NodeX509Certificate;
    try {
      c = new NodeX509Certificate(der);
    } catch {
      throw new Error('root CA certificate does not parse');
    }
    if (!c.ca) throw new Error('root CA certificate is not a CA');
    if (!c.checkIssued(c) || !c.verify(c.publicKey)) throw new Error('root CA certificate is not self-signed');
    const t = now.getTime();
    if (t < Date.parse(c.validFrom) || t > Date.parse(c.validTo)) {
      throw new Error('root CA certificate is expired or not yet valid');
    }
  }
}

/**
 * Checks a certificate issued for `keyPem`: it chains to `rootPem` and is valid at `now`, it is a node
 * certificate, and it certifies that very key. Returns what it says.
 */
export function checkIssuedCertificate(
  certPem: PemCertificate,
  keyPem: PemPrivateKey,
  rootPem: PemCertificate,
  now: Date = new Date(),
): NodeCertificateInfo {
  if (!verifyChain(certPem, rootPem, now)) {
    throw new Error('the issued certificate does not chain to the swarm root CA or is not valid now');
  }
  const info = parseNodeCertificate(certPem);
  const [leaf] = decodePemBlocks(certPem, 'CERTIFICATE');
  const ours = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  if (!rawCertificateFields(leaf).subjectPublicKeyInfo.equals(ours)) {
    throw new Error('the issued certificate is not for this node key');
  }
  return info;
}
