import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { NS_PER_MS, NS_PER_SECOND } from '../util/time';
import { rawCertificateFields } from './der';
import { rootCADigest } from './join-token';
import { exportPrivateKeyPem, generateKeyPair, importSigningKey, type SigningKey } from './keys';
import { decodePemBlocks, encodePem, type PemCertificate, type PemPrivateKey } from './pem';
import { randomSerialHex, validity } from './template';
import { x509 } from './x509';

/** swarmkit's DefaultRootCN (ca/config.go). The root has no O or OU. */
export const ROOT_CA_CN = 'swarm-ca';
/** swarmkit's RootCAExpiration, "630720000s": 20 years. */
export const DEFAULT_ROOT_CA_EXPIRY_NS = 630_720_000 * NS_PER_SECOND;
/** cfssl backdates every certificate it makes by 5 minutes unless told otherwise; initca does not override it. */
export const ROOT_CA_BACKDATE_MS = 5 * 60_000;

export interface RootCAMaterial {
  certPem: PemCertificate;
  keyPem: PemPrivateKey;
}

export interface CreateRootCAOptions {
  /** Lifetime in nanoseconds (the unit of Docker's API durations). */
  expiryNs?: number;
  /** Issue as if at this time; for tests. */
  now?: Date;
}

/** A new self-signed root like swarmkit's CreateRootCA: ECDSA P-256, SHA-256, CN=swarm-ca, 20 years. */
export async function createRootCA(opts: CreateRootCAOptions = {}): Promise<RootCAMaterial> {
  const expiryMs = Math.floor((opts.expiryNs ?? DEFAULT_ROOT_CA_EXPIRY_NS) / NS_PER_MS);
  // initca self-signs through the same FillTemplate as leaves, so the 20 years run from the backdated start.
  const { notBefore, notAfter } = validity(opts.now ?? new Date(), ROOT_CA_BACKDATE_MS, expiryMs);
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: [{ CN: [ROOT_CA_CN] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      // No pathlen, as cfssl's initca CAPolicy.
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: encodePem('CERTIFICATE', cert.rawData), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/**
 * A root CA loaded for signing. `certPem` is kept byte-for-byte, because the join token digest is over
 * those exact bytes.
 */
export class RootCA {
  private constructor(
    /** The whole root bundle as given. */
    readonly certPem: PemCertificate,
    /** The root certificate whose key this signer holds. */
    readonly certificate: x509.X509Certificate,
    readonly signingKey: SigningKey,
    /** Raw DER subject of the signing root, copied verbatim as the issuer of every certificate it signs. */
    readonly subjectDer: Buffer,
    /** Raw DER SubjectPublicKeyInfo of the signing root. */
    readonly publicKeyDer: Buffer,
  ) {}

  /**
   * Loads a root bundle and its key. Every certificate in the bundle must be a self-signed CA (as
   * swarmkit's NewRootCA demands); the key must belong to one of them, which becomes the signer.
   */
  static async load(certPem: PemCertificate, keyPem: PemPrivateKey): Promise<RootCA> {
    const ders = decodePemBlocks(certPem, 'CERTIFICATE');
    if (ders.length === 0) throw new Error('no root CA certificate found');
    for (const der of ders) {
      const c = new NodeX509Certificate(der);
      if (!c.ca) throw new Error('root CA certificate is not a CA');
      if (!c.checkIssued(c) || !c.verify(c.publicKey)) throw new Error('root CA certificate is not self-signed');
    }
    const signingKey = await importSigningKey(keyPem);
    const signer = ders.find((der) => rawCertificateFields(der).subjectPublicKeyInfo.equals(signingKey.publicKeyDer));
    if (!signer) throw new Error('certificate key mismatch');
    const raw = rawCertificateFields(signer);
    return new RootCA(certPem, new x509.X509Certificate(signer), signingKey, raw.subject, raw.subjectPublicKeyInfo);
  }

  /** `sha256:<hex>` of the bundle bytes; the value join tokens pin. */
  get digest(): string {
    return rootCADigest(this.certPem);
  }

  get notAfter(): Date {
    return this.certificate.notAfter;
  }
}
