import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { TLSInfo } from '../types/swarm';
import { rawCertificateFields } from './der';
import { MANAGER_ROLE, WORKER_ROLE, type NodeRole } from './node-cert';
import { decodePemBlocks, type PemCertificate } from './pem';
import { x509 } from './x509';

export interface NodeCertificateInfo {
  /** CN. */
  nodeId: string;
  /** OU. */
  role: NodeRole;
  /** O. */
  clusterId: string;
  notBefore: Date;
  notAfter: Date;
  /** Raw DER of the leaf's issuer name, as Docker reports it (CertIssuerSubject). */
  issuerSubjectDer: Buffer;
  /**
   * Raw DER SubjectPublicKeyInfo of the issuing certificate (CertIssuerPublicKey). A leaf does not carry
   * its issuer's key, so this is known only when the issuer is supplied (a chain after the leaf in the PEM,
   * or `issuerPem`); otherwise undefined.
   */
  issuerPublicKeyDer: Buffer | undefined;
}

function single(name: x509.Name, field: string, what: string): string {
  const values = name.getField(field);
  if (values.length !== 1 || !values[0]) throw new Error(`certificate has no single ${what}`);
  return values[0];
}

/**
 * Reads the identity of a node certificate (the first certificate in `certPem`). The issuer's public key is
 * found among the certificates after the leaf and those in `issuerPem`: the one whose subject is the leaf's
 * issuer and whose key verifies the leaf's signature.
 */
export function parseNodeCertificate(certPem: PemCertificate, issuerPem?: PemCertificate): NodeCertificateInfo {
  const [leafDer, ...chain] = decodePemBlocks(certPem, 'CERTIFICATE');
  if (!leafDer) throw new Error('no certificate found');
  const leaf = new x509.X509Certificate(leafDer);
  const role = single(leaf.subjectName, 'OU', 'OU (role)');
  if (role !== MANAGER_ROLE && role !== WORKER_ROLE) throw new Error(`certificate has an unknown role: ${role}`);
  const raw = rawCertificateFields(leafDer);

  const nodeLeaf = new NodeX509Certificate(leafDer);
  const candidates = [...chain, ...(issuerPem ? decodePemBlocks(issuerPem, 'CERTIFICATE') : [])];
  const issuerDer = candidates.find((der) => {
    const c = new NodeX509Certificate(der);
    return rawCertificateFields(der).subject.equals(raw.issuer) && nodeLeaf.verify(c.publicKey);
  });

  return {
    nodeId: single(leaf.subjectName, 'CN', 'CN (node ID)'),
    role,
    clusterId: single(leaf.subjectName, 'O', 'O (cluster ID)'),
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    issuerSubjectDer: raw.issuer,
    issuerPublicKeyDer: issuerDer ? rawCertificateFields(issuerDer).subjectPublicKeyInfo : undefined,
  };
}

/**
 * Docker's TLSInfo for a root: TrustRoot is the root PEM as stored, and the issuer fields are base64 of the
 * root's raw DER subject and SubjectPublicKeyInfo (Go []byte fields marshal to base64 in JSON). With a bundle
 * the first certificate describes the issuer.
 */
export function tlsInfoFor(rootCertPem: PemCertificate): Required<TLSInfo> {
  const [der] = decodePemBlocks(rootCertPem, 'CERTIFICATE');
  if (!der) throw new Error('no root CA certificate found');
  const raw = rawCertificateFields(der);
  return {
    TrustRoot: rootCertPem,
    CertIssuerSubject: raw.subject.toString('base64'),
    CertIssuerPublicKey: raw.subjectPublicKeyInfo.toString('base64'),
  };
}

/**
 * The TLSInfo a node reports (swarmkit's NodeTLSInfo): the root it trusts, and the issuer of its certificate, whose
 * key is found among the certificates after the leaf or the trusted roots ('' if neither has it).
 */
export function nodeTLSInfo(certPem: PemCertificate, trustRootPem: PemCertificate): Required<TLSInfo> {
  const info = parseNodeCertificate(certPem, trustRootPem);
  return {
    TrustRoot: trustRootPem,
    CertIssuerSubject: info.issuerSubjectDer.toString('base64'),
    CertIssuerPublicKey: info.issuerPublicKeyDer?.toString('base64') ?? '',
  };
}

function validAt(c: NodeX509Certificate, at: Date): boolean {
  const t = at.getTime();
  return new Date(c.validFrom).getTime() <= t && t <= new Date(c.validTo).getTime();
}

/**
 * Whether `certPem` (a leaf, optionally followed by intermediates) chains to one of the roots in `rootPem`,
 * like swarmkit's ValidateCertChain: each certificate is signed by the next, and every certificate on the path,
 * root included, is valid at `at`. As Go's chain building does, the path may end early at any certificate a root
 * issued: during a root rotation a leaf comes with the new root cross-signed by the old one, and a node that
 * trusts only the new root must accept it through its leaf alone. Unparseable input is simply not valid.
 */
export function verifyChain(certPem: PemCertificate, rootPem: PemCertificate, at: Date = new Date()): boolean {
  try {
    const chain = decodePemBlocks(certPem, 'CERTIFICATE').map((der) => new NodeX509Certificate(der));
    const roots = decodePemBlocks(rootPem, 'CERTIFICATE').map((der) => new NodeX509Certificate(der));
    if (chain.length === 0 || roots.length === 0) return false;
    for (let i = 0; i < chain.length; i++) {
      if (!validAt(chain[i], at)) return false;
      if (roots.some((r) => r.ca && validAt(r, at) && chain[i].checkIssued(r) && chain[i].verify(r.publicKey))) {
        return true;
      }
      const parent = chain[i + 1];
      if (!parent || !(parent.ca && chain[i].checkIssued(parent) && chain[i].verify(parent.publicKey))) return false;
    }
    return false;
  } catch {
    return false;
  }
}
