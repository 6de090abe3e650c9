import type { SwarmSpec } from '../types/swarm';

const HOUR_NS = 3600 * 1e9;

/** swarmkit's defaults for a new cluster, which `swarm init` merges the request over. */
export function defaultSwarmSpec(): SwarmSpec {
  return {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: {
      SnapshotInterval: 10000,
      KeepOldSnapshots: 0,
      LogEntriesForSlowFollowers: 500,
      ElectionTick: 10,
      HeartbeatTick: 1,
    },
    Dispatcher: { HeartbeatPeriod: 5e9 },
    CAConfig: { NodeCertExpiry: 90 * 24 * HOUR_NS },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}

export const MIN_CERT_EXPIRY_NS = HOUR_NS;

/** Docker's defaults for a task: restart any 5 s after exit, 10 s grace before SIGKILL. */
export const DEFAULT_RESTART_DELAY_NS = 5e9;
export const DEFAULT_STOP_GRACE_NS = 10e9;
export const DEFAULT_MONITOR_NS = 5e9;
