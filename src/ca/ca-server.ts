// The CA's RPCs on a manager, after swarmkit's ca/server.go: the root certificate for anyone, a first certificate
// for a node with a join token, a renewal for a node with a valid certificate, and the unlock key for managers.
//
// Issuance is synchronous: IssueNodeCertificate signs and returns the certificate in its reply, where swarmkit
// records a pending request in the node object and has the caller poll NodeCertificateStatus while a signer loop
// signs it. That indirection exists for external CAs (signing may take retries); shoal signs with the root key it
// holds, so it cannot be pending, and the node object (the Engine API's Node) carries no certificate fields.
import { timingSafeEqual } from 'node:crypto';
import { ANY_NODE, authorizePeer, type ClusterTrust } from '../manager/authz';
import { RpcError } from '../transport/errors';
import type { PeerAuth } from '../transport/identity';
import type { CallContext, RpcServer } from '../transport/server';
import type { NodeAvailability } from '../types/swarm';
import { newId } from '../util/ids';
import { NodeIdTakenError, type CACluster, type CAStore } from './ca-store';
import { joinTokenMatches } from './join-token';
import { MANAGER_ROLE, WORKER_ROLE, issueNodeCertificate, publicKeyFromCSR, type NodeRole } from './node-cert';
import type { PemCertificate, PemCertificateRequest } from './pem';
import { RootCA } from './root-ca';

export const CA_SERVICE = 'CA';
export const NODE_CA_SERVICE = 'NodeCA';

export interface GetRootCACertificateResponse {
  /** Cluster.RootCA.CACert verbatim: the joining node hashes these bytes. */
  Certificate: PemCertificate;
}

export interface IssueNodeCertificateRequest {
  CSR: PemCertificateRequest;
  /** A join token; not needed (and ignored) for a renewal over mutual TLS. */
  Token?: string;
  /** The availability a joining node asks for ('active' if empty). */
  Availability?: NodeAvailability | '';
}

export interface IssueNodeCertificateResponse {
  NodeID: string;
  NodeMembership: 'accepted';
  /** The signed certificate, followed by any intermediates. */
  Certificate: PemCertificate;
}

export interface GetUnlockKeyResponse {
  /** The key while autolock is on, else ''. */
  UnlockKey: string;
  Version: { Index: number };
}

export const MSG_INVALID_JOIN_TOKEN = 'A valid join token is necessary to join this cluster';

export interface CAServerOptions {
  /** The clock certificates are issued by; for tests. */
  now?: () => Date;
  newId?: () => string;
}

const AVAILABILITIES: readonly string[] = ['active', 'pause', 'drain'];

/** Both tokens are compared every time, in constant time, whatever the first comparison gave. */
function tokenRole(token: string, tokens: CACluster['joinTokens']): NodeRole | undefined {
  const manager = joinTokenMatches(token, tokens.manager);
  const worker = joinTokenMatches(token, tokens.worker);
  if (manager) return MANAGER_ROLE;
  if (worker) return WORKER_ROLE;
  return undefined;
}

export class CAServer {
  private signer?: { cert: string; key: string; rootCA: Promise<RootCA> };
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(
    private readonly store: CAStore,
    private readonly opts: CAServerOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.newId = opts.newId ?? newId;
  }

  /** Adds CA/GetRootCACertificate, CA/GetUnlockKey and NodeCA/IssueNodeCertificate to `server`. */
  register(server: RpcServer): void {
    server.unary(CA_SERVICE, 'GetRootCACertificate', () => this.getRootCACertificate());
    server.unary(CA_SERVICE, 'GetUnlockKey', () => this.getUnlockKey());
    server.unary<IssueNodeCertificateRequest, IssueNodeCertificateResponse>(
      NODE_CA_SERVICE,
      'IssueNodeCertificate',
      (req, ctx) => this.issueNodeCertificate(req, ctx),
    );
  }

  private requireCluster(): CACluster {
    const c = this.store.cluster();
    if (!c) throw new RpcError('Aborted', 'CA signer is still starting');
    return c;
  }

  getRootCACertificate(): GetRootCACertificateResponse {
    return { Certificate: this.requireCluster().caCert };
  }

  /** Managers only (the authorizer enforces it). */
  getUnlockKey(): GetUnlockKeyResponse {
    const c = this.requireCluster();
    return { UnlockKey: c.unlockKey, Version: { Index: c.version } };
  }

  /**
   * A first certificate for a node that brings a join token, or a renewal for a node of this cluster that calls
   * with its valid certificate. The identity signed is never taken from the request: a new random ID for a
   * joining node, the caller's certificate CN for a renewal; the role from the token, or from the store.
   */
  async issueNodeCertificate(
    req: IssueNodeCertificateRequest,
    ctx: Pick<CallContext, 'auth' | 'remoteAddress'>,
  ): Promise<IssueNodeCertificateResponse> {
    const csr = typeof req?.CSR === 'string' ? req.CSR : '';
    if (csr.length === 0) throw new RpcError('InvalidArgument', 'InvalidArgument');
    const cluster = this.requireCluster();
    const trust: ClusterTrust = { clusterId: cluster.id, isRemoved: (id) => this.store.isRemoved(id) };

    let renewalRefusal: RpcError | undefined;
    if (ctx.auth.state === 'verified') {
      try {
        const peer = authorizePeer(ctx.auth, ANY_NODE, trust);
        return await this.renew(cluster, peer.nodeId, csr);
      } catch (err) {
        if (!(err instanceof RpcError) || err.code !== 'PermissionDenied') throw err;
        renewalRefusal = err;
      }
    }

    const token = typeof req.Token === 'string' ? req.Token : '';
    const role = tokenRole(token, cluster.joinTokens);
    if (!role) {
      // A removed node trying to renew learns why, rather than being asked for a token.
      if (renewalRefusal && isRemovedRefusal(ctx.auth, trust)) throw renewalRefusal;
      throw new RpcError('InvalidArgument', MSG_INVALID_JOIN_TOKEN);
    }
    const availability = req.Availability || 'active';
    if (!AVAILABILITIES.includes(availability)) {
      throw new RpcError('InvalidArgument', `invalid Availability: "${String(availability)}"`);
    }
    await checkCSR(csr);

    // Up to 3 retries on an ID collision, as swarmkit.
    for (let attempt = 0; ; attempt++) {
      const nodeId = this.newId();
      try {
        await this.store.createNode({ id: nodeId, role, availability, addr: ctx.remoteAddress });
      } catch (err) {
        if (err instanceof NodeIdTakenError && attempt < 3) continue;
        throw err;
      }
      const certificate = await this.sign(cluster, nodeId, role, csr);
      return { NodeID: nodeId, NodeMembership: 'accepted', Certificate: certificate };
    }
  }

  private async renew(cluster: CACluster, nodeId: string, csr: string): Promise<IssueNodeCertificateResponse> {
    const node = this.store.node(nodeId);
    if (!node) throw new RpcError('NotFound', `node ${nodeId} not found when attempting to renew certificate`);
    await checkCSR(csr);
    const certificate = await this.sign(cluster, node.id, node.role, csr);
    return { NodeID: node.id, NodeMembership: 'accepted', Certificate: certificate };
  }

  private async sign(cluster: CACluster, nodeId: string, role: NodeRole, csrPem: string): Promise<PemCertificate> {
    const rootCA = await this.rootCA(cluster);
    return issueNodeCertificate({
      rootCA,
      csrPem,
      nodeId,
      role,
      clusterId: cluster.id,
      expiryNs: cluster.nodeCertExpiryNs,
      now: this.now(),
    });
  }

  /** The loaded signer, reloaded when the cluster's root or key changes (CA rotation). */
  private rootCA(cluster: CACluster): Promise<RootCA> {
    const s = this.signer;
    if (s && sameString(s.cert, cluster.caCert) && sameString(s.key, cluster.caKey)) return s.rootCA;
    const rootCA = RootCA.load(cluster.caCert, cluster.caKey);
    this.signer = { cert: cluster.caCert, key: cluster.caKey, rootCA };
    rootCA.catch(() => {
      if (this.signer?.rootCA === rootCA) this.signer = undefined;
    });
    return rootCA;
  }
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isRemovedRefusal(auth: PeerAuth, trust: ClusterTrust): boolean {
  return auth.state === 'verified' && trust.isRemoved(auth.identity.nodeId);
}

/** A CSR that does not parse or is not signed by its own key is the caller's mistake. */
async function checkCSR(csrPem: string): Promise<void> {
  try {
    await publicKeyFromCSR(csrPem);
  } catch (err) {
    throw new RpcError('InvalidArgument', (err as Error).message);
  }
}
