import { NS_PER_MS } from '../util/time';
import { exportPrivateKeyPem, generateKeyPair, importPublicKeyPem, type CryptoKey, type CryptoKeyPair } from './keys';
import {
  encodePem,
  type PemCertificate,
  type PemCertificateRequest,
  type PemPrivateKey,
  type PemPublicKey,
} from './pem';
import { ROOT_CA_CN, RootCA } from './root-ca';
import { randomSerialHex, validity } from './template';
import { x509 } from './x509';

/** The OU of a node certificate, which is how the cluster authorises a connection (ca/config.go). */
export type NodeRole = 'swarm-manager' | 'swarm-worker';
export const MANAGER_ROLE: NodeRole = 'swarm-manager';
export const WORKER_ROLE: NodeRole = 'swarm-worker';

/** DefaultNodeCertExpiration: 2160h (90 days). */
export const DEFAULT_NODE_CERT_EXPIRY_NS = 2160 * 3600 * 1e9;
/** MinNodeCertExpiration: 1h. */
export const MIN_NODE_CERT_EXPIRY_NS = 3600 * 1e9;
/** swarmkit's CertBackdate (1h): NotBefore is set back to tolerate clock skew between nodes. */
export const NODE_CERT_BACKDATE_MS = 3600_000;

/** The identity a node certificate carries. It always comes from the signer, never from the CSR. */
export interface NodeIdentity {
  /** CN: the node ID. */
  nodeId: string;
  /** OU. */
  role: NodeRole;
  /** O: the cluster ID. */
  clusterId: string;
}

type RootSource =
  | { rootCA: RootCA; rootCertPem?: never; rootKeyPem?: never }
  | { rootCA?: never; rootCertPem: PemCertificate; rootKeyPem: PemPrivateKey };

type KeySource =
  { csrPem: PemCertificateRequest; publicKey?: never } | { csrPem?: never; publicKey: CryptoKey | PemPublicKey };

export type IssueNodeCertificateOptions = NodeIdentity &
  RootSource &
  KeySource & {
    /** Lifetime in nanoseconds; below the 1h minimum the 90-day default applies, as swarmkit's SigningPolicy does. */
    expiryNs?: number;
    /** Issue as if at this time; for tests. */
    now?: Date;
  };

/** Node certificate subject in Go's pkix.Name order (O, OU, CN), so the DER matches what swarmkit issues. */
function nodeSubject(id: NodeIdentity): x509.JsonName {
  return [{ O: [id.clusterId] }, { OU: [id.role] }, { CN: [id.nodeId] }];
}

function validateIdentity(id: NodeIdentity): void {
  if (id.role !== MANAGER_ROLE && id.role !== WORKER_ROLE) throw new Error(`invalid node role: ${String(id.role)}`);
  if (!id.nodeId) throw new Error('node ID is required');
  if (!id.clusterId) throw new Error('cluster ID is required');
}

/**
 * The public key of a CSR, after checking the CSR is signed by that key (proof the requester holds it).
 * Nothing else in the CSR is used: swarmkit's CSRWhitelist takes only the key and its algorithms.
 */
export async function publicKeyFromCSR(csrPem: PemCertificateRequest): Promise<x509.PublicKey> {
  let csr: x509.Pkcs10CertificateRequest;
  let ok: boolean;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
    // verify() throws, rather than returning false, when the embedded key itself is malformed.
    ok = await csr.verify();
  } catch {
    throw new Error('invalid certificate signing request');
  }
  if (!ok) throw new Error('certificate signing request signature is invalid');
  return csr.publicKey;
}

/**
 * A PKCS#10 request for `keyPair`. swarmkit sends an empty subject (the CA ignores it); `cn` is only
 * there for callers that want one for logging.
 */
export async function createCSR(keyPair: CryptoKeyPair, cn?: string): Promise<PemCertificateRequest> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: cn ? [{ CN: [cn] }] : [],
    keys: keyPair,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return encodePem('CERTIFICATE REQUEST', csr.rawData);
}

/** A new node key and a CSR for it, like swarmkit's GenerateNewCSR. */
export async function createNodeKeyAndCSR(): Promise<{ keyPem: PemPrivateKey; csrPem: PemCertificateRequest }> {
  const keys = await generateKeyPair();
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: await createCSR(keys) };
}

/**
 * Signs a node certificate: subject O=<clusterId>, OU=<role>, CN=<nodeId>; issuer copied byte-for-byte
 * from the root's subject; DNS SANs [role, nodeId] plus swarm-ca for managers (ca/certificates.go
 * PrepareCSR), since workers dial managers as "swarm-manager" and CA requests go to "swarm-ca".
 * Validity follows swarmkit's SigningPolicy through cfssl's FillTemplate: backdate 1h and expiry + 1h, so
 * NotBefore = now (to the minute) - 1h and NotAfter = now (to the minute) + expiry.
 */
export async function issueNodeCertificate(opts: IssueNodeCertificateOptions): Promise<PemCertificate> {
  validateIdentity(opts);
  const root = opts.rootCA ?? (await RootCA.load(opts.rootCertPem, opts.rootKeyPem));

  let publicKey: x509.PublicKey | CryptoKey;
  if (opts.csrPem !== undefined) publicKey = await publicKeyFromCSR(opts.csrPem);
  else if (typeof opts.publicKey === 'string') publicKey = await importPublicKeyPem(opts.publicKey);
  else publicKey = opts.publicKey;

  let expiryNs = opts.expiryNs ?? DEFAULT_NODE_CERT_EXPIRY_NS;
  if (!(expiryNs >= MIN_NODE_CERT_EXPIRY_NS)) expiryNs = DEFAULT_NODE_CERT_EXPIRY_NS;
  const { notBefore, notAfter } = validity(
    opts.now ?? new Date(),
    NODE_CERT_BACKDATE_MS,
    Math.floor(expiryNs / NS_PER_MS) + NODE_CERT_BACKDATE_MS,
  );

  const dnsNames = [opts.role, opts.nodeId];
  if (opts.role === MANAGER_ROLE) dnsNames.push(ROOT_CA_CN);

  // Go sets the AKI to the parent's SKI verbatim (and omits it when the parent has none); OpenSSL matches
  // AKI against the issuer's SKI, so recomputing it could break chains to roots made elsewhere.
  const rootSki = root.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    // Go writes basicConstraints CA:FALSE, critical, on every cfssl-signed leaf.
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
  if (rootSki) extensions.push(new x509.AuthorityKeyIdentifierExtension(rootSki.keyId));
  extensions.push(new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))));

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: nodeSubject(opts),
    issuer: new x509.Name(root.subjectDer),
    notBefore,
    notAfter,
    publicKey,
    signingKey: root.signingKey.key,
    signingAlgorithm: root.signingKey.algorithm,
    extensions,
  });
  return encodePem('CERTIFICATE', cert.rawData);
}
