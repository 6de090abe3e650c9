import { ApiError, rpcError } from '../../api/errors';
import type { SwarmSpec } from '../../types/swarm';
import { goDuration } from '../../util/time';
import { defaultSwarmSpec, MIN_CERT_EXPIRY_NS } from '../defaults';

const nz = <T>(v: T | undefined, d: T): T => (v === undefined || v === null || (v as unknown) === 0 ? d : v);

/**
 * The spec a cluster ends up with after init or update: what was sent, with every zero or
 * missing field set to swarmkit's default (moby's MergeSwarmSpecToGRPC over an empty spec),
 * so a field left out means "the default", not "keep the current value". The CA signing
 * material is never kept in the spec.
 */
export function normalizeSwarmSpec(given: Partial<SwarmSpec> | undefined): SwarmSpec {
  const d = defaultSwarmSpec();
  const g = given ?? {};
  if (g.Name !== undefined && g.Name !== '' && g.Name !== 'default') {
    throw new ApiError(400, 'swarm spec must be named "default"');
  }
  const heartbeat = g.Dispatcher?.HeartbeatPeriod;
  if (heartbeat !== undefined && heartbeat < 0) {
    throw rpcError('InvalidArgument', 'heartbeat time period cannot be a negative duration');
  }
  const expiry = g.CAConfig?.NodeCertExpiry;
  if (expiry !== undefined && expiry !== 0 && expiry < MIN_CERT_EXPIRY_NS) {
    throw rpcError('InvalidArgument', `minimum certificate expiry time is: ${goDuration(MIN_CERT_EXPIRY_NS)}`);
  }
  const history = g.Orchestration?.TaskHistoryRetentionLimit;
  return {
    Name: 'default',
    Labels: g.Labels ?? {},
    Orchestration: {
      TaskHistoryRetentionLimit:
        history === undefined || history === null ? d.Orchestration!.TaskHistoryRetentionLimit : history,
    },
    Raft: {
      SnapshotInterval: nz(g.Raft?.SnapshotInterval, d.Raft!.SnapshotInterval),
      KeepOldSnapshots: g.Raft?.KeepOldSnapshots ?? 0,
      LogEntriesForSlowFollowers: nz(g.Raft?.LogEntriesForSlowFollowers, d.Raft!.LogEntriesForSlowFollowers),
      ElectionTick: nz(g.Raft?.ElectionTick, d.Raft!.ElectionTick),
      HeartbeatTick: nz(g.Raft?.HeartbeatTick, d.Raft!.HeartbeatTick),
    },
    Dispatcher: { HeartbeatPeriod: nz(heartbeat, d.Dispatcher!.HeartbeatPeriod) },
    CAConfig: {
      NodeCertExpiry: nz(expiry, d.CAConfig!.NodeCertExpiry),
      ...(g.CAConfig?.ExternalCAs?.length ? { ExternalCAs: g.CAConfig.ExternalCAs } : {}),
      ...(g.CAConfig?.ForceRotate ? { ForceRotate: g.CAConfig.ForceRotate } : {}),
    },
    TaskDefaults: g.TaskDefaults ?? {},
    EncryptionConfig: { AutoLockManagers: g.EncryptionConfig?.AutoLockManagers ?? false },
  };
}
