// What `swarm update` does with Spec.CAConfig's root material, after swarmkit's controlapi/ca_rotation.go
// validateCAConfig: keep the root, swap its key, or start (or replace) a root rotation, with a new root cross-signed
// by the current one. Every refusal is swarmkit's, as the daemon passes it on, and leaves the cluster as it was.
import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { rpcError } from '../../api/errors';
import { crossSignRootCA } from '../../ca/cross-sign';
import { rawCertificateFields } from '../../ca/der';
import { ExternalCAClient, crossSignThroughExternalCA, externalCAsFor, probeExternalCA } from '../../ca/external-ca';
import { managerTrustBundle } from '../../ca/root-rotation';
import { decodePemBlocks, encodePem } from '../../ca/pem';
import { createRootCA, RootCA } from '../../ca/root-ca';
import { x509 } from '../../ca/x509';
import type { ClusterObject, ClusterRootCA } from '../../store/objects';
import type { NodeCredentials } from '../../transport/tls-config';
import type { ExternalCA, SwarmSpec } from '../../types/swarm';

/** swarmkit's minRootExpiration: a new root must stay valid at least a year. */
export const MIN_ROOT_EXPIRY_MS = 365 * 24 * 3600_000;

const invalid = (desc: string) => rpcError('InvalidArgument', desc);

/** swarmkit's NormalizePEMs: each certificate re-encoded in standard PEM, everything else dropped. */
export function normalizePems(pem: string): string {
  return decodePemBlocks(pem, 'CERTIFICATE')
    .map((der) => encodePem('CERTIFICATE', der))
    .join('');
}

export interface CAConfigContext {
  /** This manager's certificate and key, presented to external CAs when checking they are reachable. */
  credentials(): NodeCredentials | undefined;
}

const SIGNATURE_ALGORITHMS = new Set([
  'SHA256-RSA',
  'SHA384-RSA',
  'SHA512-RSA',
  'ECDSA-SHA256',
  'ECDSA-SHA384',
  'ECDSA-SHA512',
]);

/** swarmkit's NewRootCA on the desired material: parses, self-signed roots, key matching the first certificate. */
async function checkDesiredRoot(certPem: string, keyPem: string): Promise<NodeX509Certificate[]> {
  const ders = decodePemBlocks(certPem, 'CERTIFICATE');
  if (ders.length === 0) throw invalid('no valid root CA certificates found');
  let certs: NodeX509Certificate[];
  try {
    certs = ders.map((d) => new NodeX509Certificate(d));
  } catch (err) {
    throw invalid(`invalid root certificates: ${(err as Error).message}`);
  }
  for (const c of certs) {
    const algo = signatureAlgorithm(c);
    if (!SIGNATURE_ALGORITHMS.has(algo)) throw invalid(`unsupported signature algorithm: ${algo}`);
    if (!c.checkIssued(c) || !c.verify(c.publicKey)) {
      throw invalid('error while validating Root CA Certificate: x509: certificate signed by unknown authority');
    }
  }
  if (keyPem) {
    let pub: Buffer;
    try {
      pub = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    } catch (err) {
      throw invalid(`malformed private key: ${(err as Error).message}`);
    }
    const first = certs[0];
    const k = first.publicKey;
    if (k.asymmetricKeyType === 'rsa' && (k.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw invalid('unsupported RSA key parameters');
    }
    if (
      k.asymmetricKeyType === 'ec' &&
      !['prime256v1', 'secp384r1', 'secp521r1'].includes(k.asymmetricKeyDetails?.namedCurve ?? '')
    ) {
      throw invalid('unsupported ECDSA key parameters');
    }
    if (k.asymmetricKeyType !== 'rsa' && k.asymmetricKeyType !== 'ec') {
      throw invalid('unknown or unsupported certificate public key algorithm');
    }
    if (!rawCertificateFields(ders[0]).subjectPublicKeyInfo.equals(pub)) throw invalid('certificate key mismatch');
  }
  return certs;
}

/** swarmkit's validateSignatureAlgorithm, in Go's names: SHA-256/384/512 with RSA (PKCS #1 v1.5) or ECDSA. */
function signatureAlgorithm(c: NodeX509Certificate): string {
  const alg = new x509.X509Certificate(c.raw).signatureAlgorithm as { name?: string; hash?: { name?: string } };
  const hash = (alg.hash?.name ?? '').replace('-', '');
  if (alg.name === 'ECDSA') return `ECDSA-${hash}`;
  if (alg.name === 'RSASSA-PKCS1-v1_5') return `${hash}-RSA`;
  return `${alg.name ?? 'unknown'}${hash ? `-${hash}` : ''}`;
}

/** swarmkit's validateHasAtLeastOneExternalCA. */
async function requireExternalCA(
  cas: ExternalCA[],
  currentRoot: string,
  wanted: string,
  desc: 'current' | 'next' | 'desired',
  ctx: CAConfigContext,
): Promise<void> {
  for (const [i, ca] of cas.entries()) {
    if ((ca.Protocol ?? '').toLowerCase() !== 'cfssl') continue;
    if (normalizePems(ca.CACert || currentRoot) !== wanted) continue;
    try {
      await probeExternalCA(ca.URL, wanted, ctx.credentials());
      return;
    } catch (err) {
      console.error(`shoal manager: external CA # ${i + 1} is unreachable or invalid: ${(err as Error).message}`);
    }
  }
  throw invalid(`there must be at least one valid, reachable external CA corresponding to the ${desc} CA certificate`);
}

/**
 * The cluster's RootCA after an update with `given` (the spec as sent, signing material included). Throws an
 * ApiError with swarmkit's message when the request must be refused.
 */
export async function validateCAConfig(
  cluster: ClusterObject,
  given: Partial<SwarmSpec> | undefined,
  ctx: CAConfigContext,
): Promise<ClusterRootCA> {
  const cfg = given?.CAConfig ?? {};
  const root = cluster.RootCA;
  const signingCert = normalizePems(cfg.SigningCACert ?? '');
  const signingKey = cfg.SigningCAKey ?? '';
  const forceRotate = cfg.ForceRotate ?? 0;
  const cas = cfg.ExternalCAs ?? [];
  if (signingKey && !signingCert) {
    throw invalid('if a signing CA key is provided, the signing CA cert must also be provided');
  }
  const currentRoot = normalizePems(root.CACert);

  if (!root.CAKey) {
    // Adding the key of the current (external) root: no rotation needed, and no external CA.
    if (signingCert === currentRoot && signingKey) {
      await checkDesiredRoot(signingCert, signingKey);
      return { ...root, CAKey: signingKey, RootRotation: undefined, LastForcedRotation: forceRotate };
    }
    await requireExternalCA(cas, currentRoot, currentRoot, 'current', ctx);
  }

  if (!signingCert) {
    if ((root.LastForcedRotation ?? 0) !== forceRotate) {
      const fresh = await createRootCA();
      return startRotation(root, fresh.certPem, fresh.keyPem, forceRotate, cas, ctx);
    }
    if (root.RootRotation && !root.RootRotation.CAKey) {
      await requireExternalCA(cas, currentRoot, normalizePems(root.RootRotation.CACert), 'next', ctx);
    }
    return root;
  }

  const certs = await checkDesiredRoot(signingCert, signingKey);
  if (certs.length !== 1) throw invalid('the desired CA certificate cannot contain multiple certificates');
  if (Date.parse(certs[0].validTo) < Date.now() + MIN_ROOT_EXPIRY_MS) throw invalid('CA certificate expires too soon');
  if (!signingKey) await requireExternalCA(cas, currentRoot, signingCert, 'desired', ctx);

  // The current root given again: at most its key changes, and any rotation is called off.
  if (signingCert === currentRoot) {
    return { ...root, CAKey: signingKey, RootRotation: undefined, LastForcedRotation: forceRotate };
  }
  const [currentDer] = decodePemBlocks(currentRoot, 'CERTIFICATE');
  if (
    currentDer &&
    rawCertificateFields(currentDer).subjectPublicKeyInfo.equals(
      rawCertificateFields(certs[0].raw).subjectPublicKeyInfo,
    )
  ) {
    throw invalid('Cannot update to a cert with an identical key');
  }
  const r = root.RootRotation;
  if (r && normalizePems(r.CACert) === signingCert) {
    return { ...root, RootRotation: { ...r, CAKey: signingKey }, LastForcedRotation: forceRotate };
  }
  return startRotation(root, signingCert, signingKey, forceRotate, cas, ctx);
}

/** swarmkit's newRootRotationObject: the new root, cross-signed by the current root's key. */
async function startRotation(
  root: ClusterRootCA,
  newCert: string,
  newKey: string,
  forceRotate: number,
  cas: ExternalCA[],
  ctx: CAConfigContext,
): Promise<ClusterRootCA> {
  if (!root.CAKey && !newKey) {
    throw invalid('rotating from one external CA to a different external CA is not supported');
  }
  let crossSigned: string;
  try {
    if (root.CAKey) crossSigned = await crossSignRootCA(await RootCA.load(root.CACert, root.CAKey), newCert);
    else {
      // The current root's key is with its external CA: it cross-signs (swarmkit's CrossSignRootCA).
      const current = normalizePems(root.CACert);
      crossSigned = await crossSignThroughExternalCA(
        new ExternalCAClient(() => ctx.credentials()),
        externalCAsFor(cas, current, current),
        { certPem: newCert, keyPem: newKey },
        current,
        managerTrustBundle(root),
      );
    }
  } catch (err) {
    console.error(
      `shoal manager: unable to generate a cross-signed certificate for root rotation: ${(err as Error).message}`,
    );
    throw rpcError('Internal', 'unable to generate a cross-signed certificate for root rotation');
  }
  return {
    ...root,
    RootRotation: { CACert: newCert, CAKey: newKey, CrossSignedCACert: crossSigned },
    LastForcedRotation: forceRotate,
  };
}
