// Errors that the API answers with: an HTTP status and Docker's exact message text.

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** gRPC codes that swarmkit's errors carry through the daemon, with the HTTP status moby maps each to. */
const RPC_STATUS = {
  InvalidArgument: 400,
  FailedPrecondition: 400,
  OutOfRange: 400,
  NotFound: 404,
  AlreadyExists: 409,
  PermissionDenied: 403,
  Unauthenticated: 401,
  Unimplemented: 501,
  Unavailable: 503,
  DeadlineExceeded: 500,
  ResourceExhausted: 500,
  Unknown: 500,
  Internal: 500,
} as const;
export type RpcCode = keyof typeof RPC_STATUS;

/** An error as swarmkit's control API returns it and moby passes it on: `rpc error: code = X desc = ...`. */
export function rpcError(code: RpcCode, desc: string): ApiError {
  return new ApiError(RPC_STATUS[code], `rpc error: code = ${code} desc = ${desc}`);
}

export const badRequest = (msg: string) => new ApiError(400, msg);
export const notFound = (msg: string) => new ApiError(404, msg);

// moby daemon/cluster/errors.go: the texts the docker CLI shows for swarm state.
export const MSG = {
  noSwarm:
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.',
  worker:
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.",
  managerNotReady:
    'This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster.',
  locked:
    'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.',
  alreadyInSwarm:
    'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.',
  notPartOfSwarm: 'This node is not part of a swarm',
  leaveLastManager:
    'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. ',
  leaveLocked: 'Swarm is encrypted and locked. Please unlock it first or use `--force` to ignore this message.',
  outOfSequence: 'update out of sequence',
  noLeader:
    "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.",
} as const;
