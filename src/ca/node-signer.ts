// Who signs a node certificate now, after swarmkit's ca/server.go signNodeCert: an external CA configured for the
// certificate that must issue it (tried first, as swarmkit does), else the key the swarm holds for it. During a
// root rotation that is the new root, and the cross-signed new root follows every leaf.
import type { ClusterRootCA } from '../store/objects';
import type { ExternalCA } from '../types/swarm';
import { ExternalCAError, externalCAsFor, type ExternalCAClient } from './external-ca';
import { issueNodeCertificate, type NodeIdentity } from './node-cert';
import type { PemCertificate, PemCertificateRequest } from './pem';
import { RootCA } from './root-ca';
import { joinPems, managerTrustBundle, signingMaterial } from './root-rotation';

export interface NodeSigningRequest {
  csrPem: PemCertificateRequest;
  identity: NodeIdentity;
  expiryNs: number | undefined;
}

/** What the signer needs of the cluster. */
export interface SigningCluster {
  rootCA: ClusterRootCA;
  externalCAs: ExternalCA[] | undefined;
}

export class NodeCertificateSigner {
  private loaded?: { cert: string; key: string; rootCA: Promise<RootCA> };

  constructor(
    private readonly external: ExternalCAClient | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The leaf followed by its intermediates. Throws ExternalCAError when an external CA was needed and failed. */
  async sign(cluster: SigningCluster, req: NodeSigningRequest): Promise<PemCertificate> {
    const m = signingMaterial(cluster.rootCA);
    const cas = externalCAsFor(cluster.externalCAs, m.issuerCertPem, cluster.rootCA.CACert);
    if (cas.length > 0 || !m.keyPem) {
      if (!this.external) throw new ExternalCAError('this node cannot reach external CAs', true);
      const leaf = await this.external.sign(cas, {
        csrPem: req.csrPem,
        identity: req.identity,
        issuerCertPem: m.issuerCertPem,
        trustPem: managerTrustBundle(cluster.rootCA),
      });
      // Only the leaf is kept: the chain the swarm sends is its own.
      const first = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(leaf)?.[0] ?? leaf;
      return joinPems(first, m.intermediatesPem);
    }
    const rootCA = await this.rootCA(m.issuerCertPem, m.keyPem);
    const leaf = await issueNodeCertificate({
      rootCA,
      csrPem: req.csrPem,
      ...req.identity,
      expiryNs: req.expiryNs,
      now: this.now(),
    });
    return joinPems(leaf, m.intermediatesPem);
  }

  /** The loaded signer, reloaded when the root or key changes (a rotation). */
  private rootCA(cert: string, key: string): Promise<RootCA> {
    const s = this.loaded;
    if (s && s.cert === cert && s.key === key) return s.rootCA;
    const rootCA = RootCA.load(cert, key);
    this.loaded = { cert, key, rootCA };
    rootCA.catch(() => {
      if (this.loaded?.rootCA === rootCA) this.loaded = undefined;
    });
    return rootCA;
  }
}
