// The state of the swarm's root during and after a rotation, after swarmkit's RootCAFromAPI and the reconciler's
// finishRootRotation: which certificate new leaves must be issued by, what to sign with, what to trust, when a
// node has converged, and the root once every node has.
import type { ClusterRootCA } from '../store/objects';
import type { TLSInfo } from '../types/swarm';
import { tlsInfoFor } from './certificate-info';
import { generateJoinToken, rootCADigest } from './join-token';
import type { PemCertificate, PemPrivateKey } from './pem';

/** What a node's certificate must be issued by: raw DER subject and SubjectPublicKeyInfo, base64 (as TLSInfo). */
export interface CertIssuer {
  subject: string;
  publicKey: string;
}

/** What the CA signs with now. */
export interface SigningMaterial {
  /** The certificate new leaves name as their issuer: the root, or the rotation's new root. */
  issuerCertPem: PemCertificate;
  /** Its key; '' when an external CA holds it. */
  keyPem: PemPrivateKey;
  /** Appended to every leaf: the cross-signed new root during a rotation, else nothing. */
  intermediatesPem: PemCertificate;
}

export function signingMaterial(root: ClusterRootCA): SigningMaterial {
  const r = root.RootRotation;
  if (r) return { issuerCertPem: r.CACert, keyPem: r.CAKey, intermediatesPem: r.CrossSignedCACert };
  return { issuerCertPem: root.CACert, keyPem: root.CAKey, intermediatesPem: '' };
}

export function desiredIssuer(root: ClusterRootCA): CertIssuer {
  const t = tlsInfoFor(root.RootRotation?.CACert ?? root.CACert);
  return { subject: t.CertIssuerSubject, publicKey: t.CertIssuerPublicKey };
}

/**
 * The cluster's TLSInfo (moby's convert/swarm.go): TrustRoot is the current root, the issuer is the rotation's new
 * root while one runs. Nodes compare their own TLSInfo with it to show rotation progress.
 */
export function clusterTLSInfo(root: ClusterRootCA): Required<TLSInfo> {
  const issuer = desiredIssuer(root);
  return { TrustRoot: root.CACert, CertIssuerSubject: issuer.subject, CertIssuerPublicKey: issuer.publicKey };
}

/** Whether a node's reported TLSInfo says its certificate is issued by `issuer` (swarmkit's hasIssuer). */
export function hasIssuer(info: TLSInfo | undefined, issuer: CertIssuer): boolean {
  return !!info && info.CertIssuerSubject === issuer.subject && info.CertIssuerPublicKey === issuer.publicKey;
}

/** PEM certificates joined into one bundle, each ending in a newline. */
export function joinPems(...pems: string[]): PemCertificate {
  return pems
    .filter((p) => p.trim() !== '')
    .map((p) => (p.endsWith('\n') ? p : `${p}\n`))
    .join('');
}

/**
 * The roots a manager verifies peers (and its external CAs) against: the current root, plus the new one while a
 * rotation runs, so that a node presenting either a certificate from before the rotation or one issued since
 * connects, and nodes that already trust only the new root reach this manager.
 */
export function managerTrustBundle(root: ClusterRootCA): PemCertificate {
  return joinPems(root.CACert, root.RootRotation?.CACert ?? '');
}

/**
 * The root once every node converged: the new root and its key, its hash, both join tokens anew (the old ones pin
 * the old root), and no rotation.
 */
export function finishedRootCA(root: ClusterRootCA): ClusterRootCA {
  const r = root.RootRotation;
  if (!r) return root;
  return {
    CACert: r.CACert,
    CAKey: r.CAKey,
    CACertHash: rootCADigest(r.CACert),
    JoinTokens: { Worker: generateJoinToken(r.CACert), Manager: generateJoinToken(r.CACert) },
    LastForcedRotation: root.LastForcedRotation,
  };
}
