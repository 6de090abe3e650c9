// Who may call what on a manager, after swarmkit's tls_authorization options (api/*.proto) and ca/auth.go.
// A caller is known only by its verified certificate: OU = role, O = cluster, CN = node ID.
import { MANAGER_ROLE, WORKER_ROLE, type NodeRole } from '../ca/node-cert';
import { RpcError } from '../transport/errors';
import type { PeerAuth, PeerIdentity } from '../transport/identity';
import type { Authorizer } from '../transport/server';

/** A method anyone may call, certificate or not (the CA's bootstrap methods). */
export const INSECURE = 'insecure';
export type MethodPolicy = typeof INSECURE | readonly NodeRole[];

export const MANAGERS_ONLY: readonly NodeRole[] = [MANAGER_ROLE];
/** In swarmkit's order, which its messages print. */
export const ANY_NODE: readonly NodeRole[] = [WORKER_ROLE, MANAGER_ROLE];

/**
 * The policy of each method, `Service/Method`, or `Service/*` for all of a service's methods. A method that is in
 * neither form is refused to everyone.
 */
export const METHOD_POLICIES: Readonly<Record<string, MethodPolicy>> = {
  // CA (api/ca.proto).
  'CA/GetRootCACertificate': INSECURE,
  'CA/GetUnlockKey': MANAGERS_ONLY,
  'NodeCA/IssueNodeCertificate': INSECURE,
  'NodeCA/NodeCertificateStatus': INSECURE,
  // The dispatcher (api/dispatcher.proto): what a worker's agent needs.
  'Dispatcher/Session': ANY_NODE,
  'Dispatcher/Heartbeat': ANY_NODE,
  'Dispatcher/UpdateTaskStatus': ANY_NODE,
  'Dispatcher/Tasks': ANY_NODE,
  'Dispatcher/Assignments': ANY_NODE,
  // Agents publish task logs (api/logbroker.proto).
  'LogBroker/ListenSubscriptions': ANY_NODE,
  'LogBroker/PublishLogs': ANY_NODE,
  // Managers only: cluster control, Raft among managers, health, watches, log subscriptions.
  'Control/*': MANAGERS_ONLY,
  'Raft/*': MANAGERS_ONLY,
  'RaftMembership/*': MANAGERS_ONLY,
  'Health/*': MANAGERS_ONLY,
  'Watch/*': MANAGERS_ONLY,
  'Logs/*': MANAGERS_ONLY,
};

export function policyFor(service: string, method: string): MethodPolicy | undefined {
  return METHOD_POLICIES[`${service}/${method}`] ?? METHOD_POLICIES[`${service}/*`];
}

/** What a manager knows about its own cluster: its ID and which nodes were removed (`node rm`). */
export interface ClusterTrust {
  clusterId: string;
  isRemoved(nodeId: string): boolean;
}

const denied = (desc: string) => new RpcError('PermissionDenied', desc);

/** Go's %v of a []string. */
const goList = (xs: readonly string[]) => `[${xs.join(' ')}]`;

/**
 * The caller's identity if its certificate allows `roles` in this cluster (swarmkit's
 * AuthorizeForwardedRoleAndOrg on a direct call): verified, OU among `roles`, not removed, O = the cluster ID.
 * Otherwise PermissionDenied, worded as swarmkit words it.
 */
export function authorizePeer(auth: PeerAuth, roles: readonly NodeRole[], trust: ClusterTrust): PeerIdentity {
  let inner: RpcError;
  if (auth.state === 'none') inner = denied('no client certificates in request');
  else if (auth.state === 'unverified') inner = denied('no verified chains for remote certificate');
  else {
    const id = auth.identity;
    if (!roles.includes(id.role))
      inner = denied(`Permission denied: remote certificate not part of OUs: ${goList(roles)}`);
    else if (trust.isRemoved(id.nodeId)) inner = denied(`Permission denied: node ${id.nodeId} was removed from swarm`);
    else if (id.clusterId !== trust.clusterId) {
      inner = denied(`Permission denied: remote certificate not part of organization: ${trust.clusterId}`);
    } else return id;
  }
  throw denied(`Permission denied: unauthorized peer role: ${inner.message}`);
}

/** authorizePeer, or undefined instead of an error. */
export function verifiedPeer(
  auth: PeerAuth,
  roles: readonly NodeRole[],
  trust: ClusterTrust,
): PeerIdentity | undefined {
  try {
    return authorizePeer(auth, roles, trust);
  } catch {
    return undefined;
  }
}

/**
 * The RpcServer authorizer of a manager: each call is checked against METHOD_POLICIES. Insecure methods let
 * everyone through and hand the handler the caller's identity when it has a valid one.
 */
export function clusterAuthorizer(trust: ClusterTrust): Authorizer {
  return ({ service, method, auth }) => {
    const policy = policyFor(service, method);
    if (policy === undefined) throw denied(`Permission denied: ${service}/${method} is not open to any role`);
    if (policy === INSECURE) return verifiedPeer(auth, ANY_NODE, trust);
    return authorizePeer(auth, policy, trust);
  };
}
