// The bridge of a root rotation, after swarmkit's RootCA.CrossSignCACertificate: the new root certificate issued
// again, this time by the old root. A leaf signed by the new key and sent with this certificate chains to the old
// root, so nodes that still trust only the old root accept it while the swarm moves over.
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { rawCertificateFields } from './der';
import { decodePem, encodePem, type PemCertificate } from './pem';
import type { RootCA } from './root-ca';
import { randomSerialHex } from './template';
import { x509 } from './x509';

const AUTHORITY_KEY_ID_OID = '2.5.29.35';

/**
 * `newRootPem` (a single CA certificate) cross-signed by `oldRoot`: same subject, public key, validity and
 * extensions (its SKI included, so leaves' AKI still matches), issuer and AKI of the old root, signed with the old
 * key. Go's CreateCertificate with the new root as template does the same.
 */
export async function crossSignRootCA(oldRoot: RootCA, newRootPem: PemCertificate): Promise<PemCertificate> {
  let der: Buffer;
  let template: x509.X509Certificate;
  try {
    der = decodePem(newRootPem, 'CERTIFICATE');
    template = new x509.X509Certificate(der);
  } catch {
    throw new Error('could not parse new CA certificate');
  }
  if (!new NodeX509Certificate(der).ca) throw new Error('certificate not a CA');
  const raw = rawCertificateFields(der);
  const oldSki = oldRoot.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const extensions = template.extensions.filter((e) => e.type !== AUTHORITY_KEY_ID_OID);
  if (oldSki) extensions.push(new x509.AuthorityKeyIdentifierExtension(oldSki.keyId));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: new x509.Name(raw.subject),
    issuer: new x509.Name(oldRoot.subjectDer),
    notBefore: template.notBefore,
    notAfter: template.notAfter,
    publicKey: template.publicKey,
    signingKey: oldRoot.signingKey.key,
    signingAlgorithm: oldRoot.signingKey.algorithm,
    extensions,
  });
  return encodePem('CERTIFICATE', cert.rawData);
}
