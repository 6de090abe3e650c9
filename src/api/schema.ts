import { ApiError } from './errors';

// A small description of the request bodies the API accepts, used to decode them as Go's
// encoding/json would into moby's structs: keys match case-insensitively, unknown keys are
// dropped (never stored), and a value of the wrong type is refused with Go's error text.

export type Schema =
  | 'string'
  | 'bool'
  | 'int'
  | 'uint'
  | 'float'
  | 'any'
  | { array: Schema }
  | { map: Schema }
  | { struct: string; fields: Record<string, Schema> };

const GO_TYPE: Record<string, string> = {
  string: 'string',
  bool: 'bool',
  int: 'int64',
  uint: 'uint64',
  float: 'float64',
};

function goTypeOf(s: Schema): string {
  if (typeof s === 'string') return GO_TYPE[s] ?? 'interface {}';
  if ('array' in s) return `[]${goTypeOf(s.array)}`;
  if ('map' in s) return `map[string]${goTypeOf(s.map)}`;
  return `swarm.${s.struct}`;
}

function jsonTypeOf(v: unknown): string {
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

function mismatch(v: unknown, s: Schema, struct: string, path: string): ApiError {
  const where = path ? ` into Go struct field ${struct}.${path}` : ' into Go value';
  return new ApiError(400, `invalid JSON: json: cannot unmarshal ${jsonTypeOf(v)}${where} of type ${goTypeOf(s)}`);
}

/** Decodes `value` against `schema`; returns a fresh value holding only the known fields. */
export function decode(value: unknown, schema: Schema, struct = '', path = ''): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeof schema === 'string') {
    switch (schema) {
      case 'any':
        return value;
      case 'string':
        if (typeof value !== 'string') throw mismatch(value, schema, struct, path);
        return value;
      case 'bool':
        if (typeof value !== 'boolean') throw mismatch(value, schema, struct, path);
        return value;
      case 'float':
        if (typeof value !== 'number') throw mismatch(value, schema, struct, path);
        return value;
      case 'int':
      case 'uint':
        if (
          typeof value !== 'number' ||
          !Number.isInteger(value) ||
          (schema === 'uint' && value < 0) ||
          !Number.isSafeInteger(value)
        ) {
          throw mismatch(value, schema, struct, path);
        }
        return value;
    }
  }
  if ('array' in schema) {
    if (!Array.isArray(value)) throw mismatch(value, schema, struct, path);
    return value.map((v) => decode(v, schema.array, struct, path));
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw mismatch(value, schema, struct, path);
  if ('map' in schema) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const d = decode(v, schema.map, struct, path);
      if (d !== undefined) out[k] = d;
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  const byLower = new Map(Object.keys(schema.fields).map((k) => [k.toLowerCase(), k]));
  const top = struct || schema.struct;
  for (const [k, v] of Object.entries(value)) {
    const name = byLower.get(k.toLowerCase());
    if (!name) continue; // unknown field: dropped, as Go's decoder does
    const d = decode(v, schema.fields[name], top, path ? `${path}.${name}` : name);
    if (d !== undefined) out[name] = d;
  }
  return out;
}

// ---- the request bodies ------------------------------------------------------

const S = (struct: string, fields: Record<string, Schema>): Schema => ({ struct, fields });
const strings: Schema = { array: 'string' };
const labels: Schema = { map: 'string' };

const duration: Schema = 'int';

export const updateConfigSchema = S('UpdateConfig', {
  Parallelism: 'uint',
  Delay: duration,
  FailureAction: 'string',
  Monitor: duration,
  MaxFailureRatio: 'float',
  Order: 'string',
});

const mountSchema = S('Mount', {
  Type: 'string',
  Source: 'string',
  Target: 'string',
  ReadOnly: 'bool',
  Consistency: 'string',
  BindOptions: 'any',
  VolumeOptions: 'any',
  TmpfsOptions: 'any',
});

const containerSpecSchema = S('ContainerSpec', {
  Image: 'string',
  Labels: labels,
  Command: strings,
  Args: strings,
  Hostname: 'string',
  Env: strings,
  Dir: 'string',
  User: 'string',
  Groups: strings,
  Privileges: 'any',
  Init: 'bool',
  StopSignal: 'string',
  TTY: 'bool',
  OpenStdin: 'bool',
  ReadOnly: 'bool',
  Mounts: { array: mountSchema },
  StopGracePeriod: duration,
  Healthcheck: S('HealthConfig', {
    Test: strings,
    Interval: duration,
    Timeout: duration,
    StartPeriod: duration,
    StartInterval: duration,
    Retries: 'int',
  }),
  Hosts: strings,
  DNSConfig: S('DNSConfig', { Nameservers: strings, Search: strings, Options: strings }),
  Secrets: { array: 'any' },
  Configs: { array: 'any' },
  Isolation: 'string',
  Sysctls: labels,
  CapabilityAdd: strings,
  CapabilityDrop: strings,
  Ulimits: { array: S('Ulimit', { Name: 'string', Hard: 'int', Soft: 'int' }) },
  OomScoreAdj: 'int',
});

const limitsSchema = S('Limit', { NanoCPUs: 'int', MemoryBytes: 'int', Pids: 'int' });

const portSchema = S('PortConfig', {
  Name: 'string',
  Protocol: 'string',
  TargetPort: 'uint',
  PublishedPort: 'uint',
  PublishMode: 'string',
});

export const taskSpecSchema = S('TaskSpec', {
  ContainerSpec: containerSpecSchema,
  Resources: S('ResourceRequirements', {
    Limits: limitsSchema,
    Reservations: S('Resources', { NanoCPUs: 'int', MemoryBytes: 'int', GenericResources: { array: 'any' } }),
  }),
  RestartPolicy: S('RestartPolicy', { Condition: 'string', Delay: duration, MaxAttempts: 'uint', Window: duration }),
  Placement: S('Placement', {
    Constraints: strings,
    Preferences: { array: 'any' },
    MaxReplicas: 'uint',
    Platforms: { array: S('Platform', { Architecture: 'string', OS: 'string' }) },
  }),
  Networks: { array: S('NetworkAttachmentConfig', { Target: 'string', Aliases: strings, DriverOpts: labels }) },
  LogDriver: S('Driver', { Name: 'string', Options: labels }),
  ForceUpdate: 'uint',
  Runtime: 'string',
});

export const serviceSpecSchema = S('ServiceSpec', {
  Name: 'string',
  Labels: labels,
  TaskTemplate: taskSpecSchema,
  Mode: S('ServiceMode', {
    Replicated: S('ReplicatedService', { Replicas: 'uint' }),
    Global: S('GlobalService', {}),
    ReplicatedJob: S('ReplicatedJob', { MaxConcurrent: 'uint', TotalCompletions: 'uint' }),
    GlobalJob: S('GlobalJob', {}),
  }),
  UpdateConfig: updateConfigSchema,
  RollbackConfig: updateConfigSchema,
  Networks: { array: S('NetworkAttachmentConfig', { Target: 'string', Aliases: strings }) },
  EndpointSpec: S('EndpointSpec', { Mode: 'string', Ports: { array: portSchema } }),
});

export const swarmSpecSchema = S('Spec', {
  Name: 'string',
  Labels: labels,
  Orchestration: S('OrchestrationConfig', { TaskHistoryRetentionLimit: 'int' }),
  Raft: S('RaftConfig', {
    SnapshotInterval: 'uint',
    KeepOldSnapshots: 'uint',
    LogEntriesForSlowFollowers: 'uint',
    ElectionTick: 'int',
    HeartbeatTick: 'int',
  }),
  Dispatcher: S('DispatcherConfig', { HeartbeatPeriod: duration }),
  CAConfig: S('CAConfig', {
    NodeCertExpiry: duration,
    ExternalCAs: {
      array: S('ExternalCA', { Protocol: 'string', URL: 'string', Options: labels, CACert: 'string' }),
    },
    SigningCACert: 'string',
    SigningCAKey: 'string',
    ForceRotate: 'uint',
  }),
  TaskDefaults: S('TaskDefaults', { LogDriver: S('Driver', { Name: 'string', Options: labels }) }),
  EncryptionConfig: S('EncryptionConfig', { AutoLockManagers: 'bool' }),
});

export const initRequestSchema = S('InitRequest', {
  ListenAddr: 'string',
  AdvertiseAddr: 'string',
  DataPathAddr: 'string',
  DataPathPort: 'uint',
  ForceNewCluster: 'bool',
  Spec: swarmSpecSchema,
  AutoLockManagers: 'bool',
  Availability: 'string',
  DefaultAddrPool: strings,
  SubnetSize: 'uint',
});

export const joinRequestSchema = S('JoinRequest', {
  ListenAddr: 'string',
  AdvertiseAddr: 'string',
  DataPathAddr: 'string',
  RemoteAddrs: strings,
  JoinToken: 'string',
  Availability: 'string',
});

export const nodeSpecSchema = S('NodeSpec', { Name: 'string', Labels: labels, Role: 'string', Availability: 'string' });

export const unlockRequestSchema = S('UnlockRequest', { UnlockKey: 'string' });
