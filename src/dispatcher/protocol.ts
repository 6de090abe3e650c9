// The dispatcher's node-to-node messages, after swarmkit's api/dispatcher.proto (Session, Heartbeat,
// UpdateTaskStatus), in the JSON the transport carries. Durations are nanoseconds, as in the Engine API.
import type { IssuanceState, NodeDescription, NodeRole, Task, TaskStatus, TLSInfo } from '../types/swarm';

export const DISPATCHER_SERVICE = 'Dispatcher';

/** swarmkit's DefaultHeartBeatPeriod. */
export const DEFAULT_HEARTBEAT_PERIOD_NS = 5e9;
/** swarmkit's GracePeriodMultiplier: a node is down after this many periods without a heartbeat. */
export const GRACE_PERIOD_MULTIPLIER = 3;

/**
 * What the agent tells about its node when its session starts, with the TLS info of its current certificate and
 * trust root (swarmkit's NodeTLSInfo), by which the root rotation sees it converge.
 */
export type AgentDescription = Omit<NodeDescription, 'TLSInfo'> & { TLSInfo?: TLSInfo };

export interface SessionRequest {
  Description: AgentDescription;
}

export interface ManagerPeer {
  NodeID: string;
  Addr: string;
}

/** Sent when the session starts and on every change: the caller's tasks, all of them. */
export interface SessionMessage {
  SessionID: string;
  Tasks: Task[];
  /** The names of the services those tasks belong to, by service ID. */
  Services: Record<string, string>;
  Managers: ManagerPeer[];
  HeartbeatPeriod: number;
  /** The swarm's root CA (Cluster.RootCA.CACert): a node whose certificate chains to it takes it as its trust root. */
  RootCA?: string;
  /** The state of the node's certificate in the store: ROTATE asks it to renew now (a root rotation). */
  CertificateState?: IssuanceState;
  /** The role the swarm wants this node in (Spec.Role): a worker asked to be a manager renews into one. */
  NodeRole?: NodeRole;
}

export interface HeartbeatRequest {
  SessionID: string;
}

export interface HeartbeatResponse {
  /** When to send the next heartbeat. */
  Period: number;
}

export interface TaskStatusUpdate {
  TaskID: string;
  Status: TaskStatus;
}

export interface UpdateTaskStatusRequest {
  SessionID: string;
  Updates: TaskStatusUpdate[];
}

/** swarmkit's ErrNodeNotRegistered: the agent opens a new session. */
export const MSG_NODE_NOT_REGISTERED = 'node not registered';
export const MSG_SESSION_INVALID = 'session invalid';
export const MSG_TASK_NOT_ASSIGNED = 'cannot update a task not assigned this node';

/** What a manager that is not the leader answers a worker's dispatcher call with (the leader's address follows). */
export const MSG_NOT_LEADER = 'this manager is not the leader';
