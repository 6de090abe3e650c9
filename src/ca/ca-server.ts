// The CA's RPCs on a manager, after swarmkit's ca/server.go: the root certificate for anyone, a first certificate
// for a node with a join token, a renewal for a node with a valid certificate, and the unlock key for managers.
//
// Issuance is synchronous: IssueNodeCertificate signs and returns the certificate in its reply, where swarmkit
// records a pending request in the node object and has the caller poll NodeCertificateStatus while a signer loop
// signs it. With an external CA a renewal that cannot be signed now is recorded in the node (Certificate.Status
// PENDING or FAILED, with why) and refused with that reason; the node's renewer tries again with backoff. A join
// that cannot be signed creates no node.
import { ANY_NODE, authorizePeer, type ClusterTrust } from '../manager/authz';
import { RpcError } from '../transport/errors';
import type { PeerAuth } from '../transport/identity';
import type { CallContext, RpcServer } from '../transport/server';
import type { NodeAvailability } from '../types/swarm';
import { newId } from '../util/ids';
import { NodeIdTakenError, type CACluster, type CAStore } from './ca-store';
import { joinTokenMatches } from './join-token';
import { ExternalCAError, type ExternalCAClient } from './external-ca';
import { MANAGER_ROLE, WORKER_ROLE, publicKeyFromCSR, type NodeRole } from './node-cert';
import { NodeCertificateSigner } from './node-signer';
import type { PemCertificate, PemCertificateRequest } from './pem';

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
  /** Signs through the swarm's external CAs, presenting this manager's certificate. */
  externalCA?: ExternalCAClient;
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
  private readonly signer: NodeCertificateSigner;
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(
    private readonly store: CAStore,
    private readonly opts: CAServerOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.newId = opts.newId ?? newId;
    this.signer = new NodeCertificateSigner(opts.externalCA, this.now);
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

    // Up to 3 retries on an ID collision, as swarmkit. The certificate is signed before the node is recorded, so
    // that a join an external CA cannot sign leaves no node behind (it would hold up a root rotation).
    for (let attempt = 0; ; attempt++) {
      const nodeId = this.newId();
      if (this.store.node(nodeId)) {
        if (attempt < 3) continue;
        throw new NodeIdTakenError(nodeId);
      }
      const certificate = await this.signOrRefuse(cluster, nodeId, role, csr);
      try {
        await this.store.createNode({ id: nodeId, role, availability, addr: ctx.remoteAddress });
      } catch (err) {
        if (err instanceof NodeIdTakenError && attempt < 3) continue;
        throw err;
      }
      return { NodeID: nodeId, NodeMembership: 'accepted', Certificate: certificate };
    }
  }

  private async renew(cluster: CACluster, nodeId: string, csr: string): Promise<IssueNodeCertificateResponse> {
    const node = this.store.node(nodeId);
    if (!node) throw new RpcError('NotFound', `node ${nodeId} not found when attempting to renew certificate`);
    await checkCSR(csr);
    let certificate: PemCertificate;
    try {
      certificate = await this.signOrRefuse(cluster, node.id, node.role, csr);
    } catch (err) {
      if (err instanceof SigningRefusal) await this.store.setCertificateStatus(node.id, err.status);
      throw err;
    }
    await this.store.setCertificateStatus(node.id, { State: 'ISSUED' });
    return { NodeID: node.id, NodeMembership: 'accepted', Certificate: certificate };
  }

  /** The signed chain, or a SigningRefusal saying whether the request stays pending or failed, and why. */
  private async signOrRefuse(cluster: CACluster, nodeId: string, role: NodeRole, csrPem: string) {
    try {
      return await this.signer.sign(
        { rootCA: cluster.rootCA, externalCAs: cluster.externalCAs },
        { csrPem, identity: { nodeId, role, clusterId: cluster.id }, expiryNs: cluster.nodeCertExpiryNs },
      );
    } catch (err) {
      if (!(err instanceof ExternalCAError)) throw err;
      throw new SigningRefusal(err);
    }
  }
}

/** An external CA gave no certificate: recoverable failures leave the request pending, the others fail it. */
class SigningRefusal extends RpcError {
  readonly status: { State: 'PENDING' | 'FAILED'; Err: string };
  constructor(err: ExternalCAError) {
    const state = err.recoverable ? 'PENDING' : 'FAILED';
    super(
      err.recoverable ? 'Unavailable' : 'Internal',
      err.recoverable
        ? `certificate signing request is pending: the external CA could not sign it: ${err.message}`
        : `certificate signing request failed: ${err.message}`,
    );
    this.status = { State: state, Err: err.message };
  }
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
