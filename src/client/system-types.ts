// Response shapes of the system endpoints (/info, /version) and the swarm fields the CLI reads
// that src/types/swarm.ts does not (yet) declare. Types only: nothing here loads at run time.
import type { ClusterInfo, Service, SwarmInfo, Task } from '../types/swarm';

/** GET /info (moby api/types/system.Info), reduced to what `shoal info` prints. */
export interface SystemInfo {
  ID?: string;
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  Driver?: string;
  DriverStatus?: [string, string][] | null;
  Plugins?: {
    Volume?: string[] | null;
    Network?: string[] | null;
    Authorization?: string[] | null;
    Log?: string[] | null;
  };
  LoggingDriver?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  DockerRootDir?: string;
  Name?: string;
  Labels?: string[] | null;
  ExperimentalBuild?: boolean;
  ServerVersion?: string;
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
  InitBinary?: string;
  ContainerdCommit?: { ID: string };
  RuncCommit?: { ID: string };
  InitCommit?: { ID: string };
  SecurityOptions?: string[] | null;
  Debug?: boolean;
  HttpProxy?: string;
  HttpsProxy?: string;
  NoProxy?: string;
  LiveRestoreEnabled?: boolean;
  Warnings?: string[] | null;
  Swarm: SwarmInfoWithCluster;
  /** shoal's addition: the task executor this node runs (e.g. "process"). */
  Executor?: string;
}

/** swarm.Info whose Cluster carries the full ClusterInfo (moby fills it on managers). */
export type SwarmInfoWithCluster = SwarmInfo & { Cluster?: ClusterInfo };

export interface ComponentVersion {
  Name: string;
  Version: string;
  Details?: Record<string, string>;
}

/** GET /version (moby api/types.Version). */
export interface ServerVersion {
  Platform?: { Name: string };
  Components?: ComponentVersion[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

/** What HEAD /_ping reports in its headers. */
export interface PingInfo {
  apiVersion?: string;
  osType?: string;
  experimental: boolean;
  /** The Swarm header: inactive | pending | error | locked | active/worker | active/manager. */
  swarm?: string;
}

/** Job fields the API returns for job-mode services (moby swarm.Service.JobStatus). */
export type ServiceWithJob = Service & {
  JobStatus?: { JobIteration: { Index: number }; LastExecution?: string };
};

/** Task.JobIteration, present on job tasks (moby swarm.Task.JobIteration). */
export type TaskWithJob = Task & { JobIteration?: { Index: number } };

export interface UnlockKeyResponse {
  UnlockKey: string;
}

export interface ServiceUpdateResponse {
  Warnings: string[] | null;
}
