// The Docker Engine API's swarm objects, as the docker CLI and dockerode send and read them
// (moby api/types/swarm). The store keeps objects in exactly these shapes, so the API layer
// returns them without conversion; durations are int64 nanoseconds, times RFC 3339 strings.
// This file holds types only: importing it loads nothing at run time.

/** A 25-character lowercase base36 identifier, as swarmkit's identity.NewID makes. */
export type ObjectID = string;
/** Nanoseconds, as Go's time.Duration is encoded in the API. */
export type DurationNs = number;
/** RFC 3339 with nanoseconds, UTC, e.g. 2016-08-18T10:44:24.496525531Z. */
export type Timestamp = string;

export interface Version {
  Index?: number;
}

export interface Meta {
  ID: ObjectID;
  Version: Version;
  CreatedAt: Timestamp;
  UpdatedAt: Timestamp;
}

export type Labels = Record<string, string>;

// ---- swarm / cluster -------------------------------------------------------

export interface ExternalCA {
  Protocol: 'cfssl';
  URL: string;
  Options?: Record<string, string>;
  CACert?: string;
}

export interface SwarmSpec {
  Name?: string;
  Labels: Labels | null;
  Orchestration?: { TaskHistoryRetentionLimit?: number };
  Raft?: {
    SnapshotInterval?: number;
    KeepOldSnapshots?: number;
    LogEntriesForSlowFollowers?: number;
    ElectionTick: number;
    HeartbeatTick: number;
  };
  Dispatcher?: { HeartbeatPeriod?: DurationNs };
  CAConfig?: {
    NodeCertExpiry?: DurationNs;
    ExternalCAs?: ExternalCA[];
    SigningCACert?: string;
    SigningCAKey?: string;
    ForceRotate?: number;
  };
  TaskDefaults?: { LogDriver?: { Name?: string; Options?: Record<string, string> } };
  EncryptionConfig?: { AutoLockManagers: boolean };
}

export interface TLSInfo {
  TrustRoot?: string;
  /** base64 of the DER subject of the certificate issuer. */
  CertIssuerSubject?: string;
  /** base64 of the DER SubjectPublicKeyInfo of the issuer. */
  CertIssuerPublicKey?: string;
}

export interface ClusterInfo extends Meta {
  Spec: SwarmSpec;
  TLSInfo: TLSInfo;
  RootRotationInProgress: boolean;
  DefaultAddrPool: string[];
  SubnetSize: number;
  DataPathPort: number;
}

export interface JoinTokens {
  Worker: string;
  Manager: string;
}

export interface Swarm extends ClusterInfo {
  JoinTokens: JoinTokens;
}

export interface InitRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  ForceNewCluster?: boolean;
  Spec?: Partial<SwarmSpec>;
  AutoLockManagers?: boolean;
  Availability?: '' | NodeAvailability;
  DefaultAddrPool?: string[];
  SubnetSize?: number;
}

export interface JoinRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  RemoteAddrs?: string[];
  JoinToken?: string;
  Availability?: '' | NodeAvailability;
}

export type LocalNodeState = 'inactive' | 'pending' | 'active' | 'error' | 'locked';

export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: LocalNodeState;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Nodes?: number;
  Managers?: number;
  Cluster?: ClusterInfo;
}

// ---- nodes -----------------------------------------------------------------

export type NodeRole = 'worker' | 'manager';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';

export interface NodeSpec {
  Name?: string;
  Labels: Labels;
  Role: NodeRole;
  Availability: NodeAvailability;
}

export interface EngineDescription {
  EngineVersion: string;
  Labels?: Labels;
  Plugins?: { Type: string; Name: string }[];
}

export interface NodeDescription {
  Hostname: string;
  Platform: { Architecture: string; OS: string };
  Resources: { NanoCPUs: number; MemoryBytes: number };
  Engine: EngineDescription;
  TLSInfo: TLSInfo;
}

export interface ManagerStatus {
  Leader?: boolean;
  Reachability: 'unknown' | 'unreachable' | 'reachable';
  Addr: string;
}

/** swarmkit's IssuanceState of a node certificate. */
export type IssuanceState = 'PENDING' | 'RENEW' | 'ISSUED' | 'ROTATE' | 'FAILED';

export interface Node extends Meta {
  Spec: NodeSpec;
  Description: NodeDescription;
  Status: { State: NodeState; Message?: string; Addr: string };
  ManagerStatus?: ManagerStatus;
  /**
   * Store-only (swarmkit's Node.Certificate.Status): where the node's certificate stands, ROTATE when the root
   * rotation wants it renewed. The API layer strips it, as the Engine API has no such field.
   */
  Certificate?: { Status: { State: IssuanceState; Err?: string } };
}

// ---- services --------------------------------------------------------------

export interface Mount {
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  [extra: string]: unknown;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: DurationNs;
  Timeout?: DurationNs;
  StartPeriod?: DurationNs;
  StartInterval?: DurationNs;
  Retries?: number;
}

export interface ContainerSpec {
  Image?: string;
  Labels?: Labels;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  Groups?: string[];
  Init?: boolean | null;
  StopSignal?: string;
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: Mount[];
  StopGracePeriod?: DurationNs;
  Healthcheck?: HealthConfig;
  Hosts?: string[];
  DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
  Isolation?: string;
  [extra: string]: unknown;
}

export type RestartCondition = 'none' | 'on-failure' | 'any';

export interface RestartPolicy {
  Condition?: RestartCondition;
  Delay?: DurationNs;
  MaxAttempts?: number;
  Window?: DurationNs;
}

export interface ResourceLimits {
  NanoCPUs?: number;
  MemoryBytes?: number;
  Pids?: number;
}

export interface TaskSpec {
  ContainerSpec?: ContainerSpec;
  Resources?: { Limits?: ResourceLimits; Reservations?: ResourceLimits & { GenericResources?: unknown[] } };
  RestartPolicy?: RestartPolicy;
  Placement?: {
    Constraints?: string[];
    Preferences?: { Spread: { SpreadDescriptor: string } }[];
    MaxReplicas?: number;
    Platforms?: { Architecture?: string; OS?: string }[];
  };
  Networks?: { Target?: string; Aliases?: string[]; DriverOpts?: Record<string, string> }[];
  LogDriver?: { Name?: string; Options?: Record<string, string> };
  ForceUpdate: number;
  Runtime?: string;
}

export interface UpdateConfig {
  Parallelism: number;
  Delay?: DurationNs;
  FailureAction?: 'pause' | 'continue' | 'rollback';
  Monitor?: DurationNs;
  MaxFailureRatio: number;
  Order?: 'stop-first' | 'start-first' | '';
}

export interface PortConfig {
  Name?: string;
  Protocol?: 'tcp' | 'udp' | 'sctp';
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

export interface EndpointSpec {
  Mode?: 'vip' | 'dnsrr';
  Ports?: PortConfig[];
}

export interface ServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export interface ServiceSpec {
  Name?: string;
  Labels: Labels | null;
  TaskTemplate: TaskSpec;
  Mode?: ServiceMode;
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  Networks?: { Target?: string; Aliases?: string[] }[];
  EndpointSpec?: EndpointSpec;
}

export type UpdateState =
  'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

export interface UpdateStatus {
  State?: UpdateState;
  StartedAt?: Timestamp;
  CompletedAt?: Timestamp;
  Message?: string;
}

export interface Service extends Meta {
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  Endpoint: { Spec: EndpointSpec; Ports?: PortConfig[]; VirtualIPs?: { NetworkID: string; Addr: string }[] };
  UpdateStatus?: UpdateStatus;
  /** Job modes only: which run of the job is current (every update starts another) and when it began. */
  JobStatus?: { JobIteration: { Index: number }; LastExecution?: Timestamp };
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks: number };
}

// ---- tasks -----------------------------------------------------------------

/** Docker's task states, in the order the orchestrator moves a task through them. */
export const TASK_STATES = [
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
  'complete',
  'shutdown',
  'failed',
  'rejected',
  'remove',
  'orphaned',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskStatus {
  Timestamp: Timestamp;
  State: TaskState;
  Message: string;
  Err?: string;
  ContainerStatus?: { ContainerID?: string; PID?: number; ExitCode?: number };
  PortStatus: { Ports?: PortConfig[] };
}

export interface Task extends Meta {
  Name?: string;
  Labels: Labels;
  Spec: TaskSpec;
  ServiceID: ObjectID;
  Slot: number;
  NodeID: ObjectID;
  Status: TaskStatus;
  DesiredState: TaskState;
  /** Job tasks only: the run of the job (the service's JobStatus.JobIteration) this task belongs to. */
  JobIteration?: { Index: number };
  NetworksAttachments?: unknown[];
  Volumes: null;
}

// ---- responses -------------------------------------------------------------

export interface ServiceCreateResponse {
  ID: string;
  Warnings: string[] | null;
}

export interface ErrorResponse {
  message: string;
}
