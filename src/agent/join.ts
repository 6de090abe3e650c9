// The joining side of `swarm join --token TOKEN HOST:PORT`, after swarmkit's DownloadRootCA / GetRemoteCA and
// GetRemoteSignedCertificate: fetch the root CA without verifying the server, pin it by the digest in the token,
// then ask for a certificate over TLS verified against that root. From then on the node speaks mutual TLS only.
import {
  CA_SERVICE,
  NODE_CA_SERVICE,
  type GetRootCACertificateResponse,
  type IssueNodeCertificateRequest,
  type IssueNodeCertificateResponse,
} from '../ca/ca-server';
import { checkIssuedCertificate, checkRootBundle } from '../ca/issued';
import { joinTokenPinsRoot, parseJoinToken } from '../ca/join-token';
import { MANAGER_ROLE, createNodeKeyAndCSR, type NodeRole } from '../ca/node-cert';
import type { PemCertificate, PemPrivateKey } from '../ca/pem';
import { RpcClient } from '../transport/client';
import { RpcError } from '../transport/errors';
import type { NodeAvailability } from '../types/swarm';

export interface JoinOptions {
  token: string;
  /** A manager's address, `host:port`. */
  remoteAddr: string;
  availability?: NodeAvailability;
  /** Tries at fetching the root CA while the manager is unreachable (swarmkit: 5, 2 s apart). */
  attempts?: number;
  retryDelayMs?: number;
  /** Deadline of each call (swarmkit: 5 s for the root CA). */
  timeoutMs?: number;
  /** The clock the returned certificates are checked by; for tests. */
  now?: () => Date;
}

export interface JoinResult {
  keyPem: PemPrivateKey;
  certPem: PemCertificate;
  /** The root bundle as the manager sent it, whose digest the token pinned. */
  rootCertPem: PemCertificate;
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

/** swarmkit's ErrMandatoryFIPS. */
export const MSG_FIPS_REQUIRED = 'node is not FIPS-enabled but cluster requires FIPS';

/** The root the manager at `remoteAddr` serves, checked against the digest the token pins. */
export async function fetchPinnedRoot(
  token: string,
  remoteAddr: string,
  opts: Pick<JoinOptions, 'attempts' | 'retryDelayMs' | 'timeoutMs' | 'now'> = {},
): Promise<PemCertificate> {
  const parsed = parseJoinToken(token);
  const attempts = opts.attempts ?? 5;
  // This connection verifies nothing; the digest check below is what stops a man in the middle.
  const client = new RpcClient({ insecure: true, timeoutMs: opts.timeoutMs ?? 5000 });
  try {
    for (let i = 1; ; i++) {
      let res: GetRootCACertificateResponse;
      try {
        res = await client.call(remoteAddr, CA_SERVICE, 'GetRootCACertificate', {});
      } catch (err) {
        const transient = err instanceof RpcError && (err.code === 'Unavailable' || err.code === 'DeadlineExceeded');
        if (!transient || i >= attempts) throw err;
        await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 2000));
        continue;
      }
      const root = typeof res?.Certificate === 'string' ? res.Certificate : '';
      if (!joinTokenPinsRoot(parsed, root)) {
        throw new Error(`remote CA does not match fingerprint. Expected: ${parsed.rootDigestHex}`);
      }
      checkRootBundle(root, opts.now?.());
      return root;
    }
  } finally {
    client.close();
  }
}

/**
 * The root the manager at `remoteAddr` serves, fetched without verifying the manager and without a digest to pin
 * it: the caller must check it, as a node does by requiring its own certificate to chain to it.
 */
export async function fetchRootUnverified(remoteAddr: string, timeoutMs = 5000): Promise<PemCertificate> {
  const client = new RpcClient({ insecure: true, timeoutMs });
  try {
    const res = await client.call<object, GetRootCACertificateResponse>(
      remoteAddr,
      CA_SERVICE,
      'GetRootCACertificate',
      {},
    );
    const root = typeof res?.Certificate === 'string' ? res.Certificate : '';
    checkRootBundle(root);
    return root as PemCertificate;
  } finally {
    client.close();
  }
}

/**
 * Joins the swarm a manager at `remoteAddr` belongs to. Returns the node's new key and certificate and the swarm's
 * root. Server refusals are RpcErrors (`rpc error: code = InvalidArgument desc = A valid join token is necessary to
 * join this cluster`); checks on this side are Errors with swarmkit's texts.
 */
export async function joinSwarm(opts: JoinOptions): Promise<JoinResult> {
  const parsed = parseJoinToken(opts.token);
  if (parsed.fips) throw new Error(MSG_FIPS_REQUIRED);
  const rootCertPem = await fetchPinnedRoot(opts.token, opts.remoteAddr, opts);

  const { keyPem, csrPem } = await createNodeKeyAndCSR();
  // No client certificate yet; the server must be a manager certified by the pinned root.
  const client = new RpcClient({ trustRoots: rootCertPem, expect: { role: MANAGER_ROLE }, timeoutMs: opts.timeoutMs });
  let res: IssueNodeCertificateResponse;
  try {
    const req: IssueNodeCertificateRequest = { CSR: csrPem, Token: opts.token, Availability: opts.availability ?? '' };
    res = await client.call(opts.remoteAddr, NODE_CA_SERVICE, 'IssueNodeCertificate', req);
  } finally {
    client.close();
  }

  const certPem = typeof res?.Certificate === 'string' ? res.Certificate : '';
  const info = checkIssuedCertificate(certPem, keyPem, rootCertPem, opts.now?.());
  if (info.nodeId !== res.NodeID) {
    throw new Error(`the issued certificate is for node ${info.nodeId}, not ${res.NodeID}`);
  }
  return { keyPem, certPem, rootCertPem, nodeId: info.nodeId, role: info.role, clusterId: info.clusterId };
}
