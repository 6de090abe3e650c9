// Who is on the other end of a connection, read from its verified certificate and nothing else:
// CN = node ID, OU = role, O = cluster ID (swarmkit ca/auth.go, ca.RemoteNode).
import type * as tls from 'node:tls';
import { parseNodeCertificate, verifyChain } from '../ca/certificate-info';
import type { NodeRole } from '../ca/node-cert';
import { encodePem, type PemCertificate } from '../ca/pem';

export interface PeerIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

/** What the TLS layer established about a caller. */
export type PeerAuth =
  | { state: 'none' }
  | { state: 'unverified'; reason: string }
  | { state: 'verified'; identity: PeerIdentity; notBefore: Date; notAfter: Date };

/** The certificates the peer presented, leaf first, without the self-signed root Node appends from the store. */
function presentedChain(socket: tls.TLSSocket): Buffer[] {
  const leaf = socket.getPeerCertificate(true);
  if (!leaf || !leaf.raw) return [];
  const out = [leaf.raw];
  const seen = new Set([leaf.fingerprint256]);
  let c = leaf.issuerCertificate;
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    if (c.issuerCertificate?.fingerprint256 === c.fingerprint256) break;
    seen.add(c.fingerprint256);
    out.push(c.raw);
    c = c.issuerCertificate;
  }
  return out;
}

/**
 * The caller's identity on `socket`. The certificate must have passed OpenSSL's verification during the handshake
 * and must still chain to `rootCertPem` and be valid at `now` (checked again here, since the roots can change and
 * tests run on their own clock). A certificate with no node role is not an identity.
 */
export function peerAuthFromSocket(socket: tls.TLSSocket, rootCertPem: PemCertificate, now: Date): PeerAuth {
  const chain = presentedChain(socket);
  if (chain.length === 0) return { state: 'none' };
  if (!socket.authorized) {
    return { state: 'unverified', reason: String(socket.authorizationError ?? 'certificate not verified') };
  }
  const chainPem = chain.map((der) => encodePem('CERTIFICATE', der)).join('');
  if (!verifyChain(chainPem, rootCertPem, now)) return { state: 'unverified', reason: 'certificate not valid now' };
  try {
    const info = parseNodeCertificate(chainPem);
    return {
      state: 'verified',
      identity: { nodeId: info.nodeId, role: info.role, clusterId: info.clusterId },
      notBefore: info.notBefore,
      notAfter: info.notAfter,
    };
  } catch (err) {
    return { state: 'unverified', reason: (err as Error).message };
  }
}

/** `auth` as it stands at `now`: a certificate that was valid when the connection opened may have expired since. */
export function peerAuthAt(auth: PeerAuth, now: Date): PeerAuth {
  if (auth.state !== 'verified') return auth;
  const t = now.getTime();
  if (t < auth.notBefore.getTime() || t > auth.notAfter.getTime()) {
    return { state: 'unverified', reason: 'certificate has expired or is not yet valid' };
  }
  return auth;
}

/** What a client requires of the server it connects to. */
export interface ExpectedPeer {
  role?: NodeRole;
  clusterId?: string;
  nodeId?: string;
}

/**
 * A `checkServerIdentity` that replaces hostname verification: nodes dial each other by address, and what matters
 * is the verified certificate's subject. Node calls it only after the chain has been verified against the roots.
 */
export function checkPeerSubject(
  expected: ExpectedPeer,
): (host: string, cert: tls.PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    let id: PeerIdentity;
    try {
      const info = parseNodeCertificate(encodePem('CERTIFICATE', cert.raw));
      id = { nodeId: info.nodeId, role: info.role, clusterId: info.clusterId };
    } catch (err) {
      return new Error(`remote certificate is not a node certificate: ${(err as Error).message}`);
    }
    const want = describe(expected);
    if (expected.role !== undefined && id.role !== expected.role) {
      return new Error(`remote certificate has role ${id.role}, expected ${want}`);
    }
    if (expected.clusterId !== undefined && id.clusterId !== expected.clusterId) {
      return new Error(`remote certificate belongs to cluster ${id.clusterId}, expected ${want}`);
    }
    if (expected.nodeId !== undefined && id.nodeId !== expected.nodeId) {
      return new Error(`remote certificate is for node ${id.nodeId}, expected ${want}`);
    }
    return undefined;
  };
}

function describe(e: ExpectedPeer): string {
  const parts = [e.role ?? 'a node'];
  if (e.nodeId !== undefined) parts.push(`with node ID ${e.nodeId}`);
  if (e.clusterId !== undefined) parts.push(`of cluster ${e.clusterId}`);
  return parts.join(' ');
}
