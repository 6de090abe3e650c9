// `service create` flags → ServiceSpec, as docker's serviceOptions.ToService builds it. Keys
// come in Go's struct order and empty values are left out where Go's omitempty leaves them out,
// so the request body matches the docker CLI's (reference §5.2).
import { readFileSync } from 'node:fs';
import type { HealthConfig, ServiceMode, ServiceSpec, UpdateConfig, RestartPolicy } from '../../types/swarm';
import type { FlagValues } from '../flags/define';
import { CliError } from '../errors';
import { shlexSplit } from '../values/shlex';
import { kvListToMap, expandEnv } from '../values/kv';
import { parseCpus, ramInBytes } from '../values/units';
import type { CREATE_FLAGS, COMMON_SERVICE_FLAGS } from './flags';
import { imageWithTag } from './image-ref';
import { parseMount } from './mounts';
import { parsePublish } from './ports';

export type CreateFlags = FlagValues<typeof CREATE_FLAGS>;
type CommonFlags = FlagValues<typeof COMMON_SERVICE_FLAGS>;
type Changed = ReadonlySet<string>;

const SECOND = 1e9;

/** swarmkit's defaults.Service.Update / .Rollback, as the CLI starts a changed config from them. */
export const defaultUpdateConfig = (): UpdateConfig => ({
  Parallelism: 1,
  FailureAction: 'pause',
  Monitor: 5 * SECOND,
  MaxFailureRatio: 0,
  Order: 'stop-first',
});

/** swarmkit's defaults.Service.Task.Restart: any condition, 5 s delay, no attempt limit. */
export const defaultRestartPolicy = (): RestartPolicy => ({ Condition: 'any', Delay: 5 * SECOND, MaxAttempts: 0 });

const anyChanged = (changed: Changed, names: string[]): boolean => names.some((n) => changed.has(n));

export const UPDATE_CONFIG_FLAGS = ['parallelism', 'delay', 'monitor', 'failure-action', 'max-failure-ratio', 'order'];

/** updateOptions.updateConfig / rollbackConfig: a full config when any of its flags is given. */
export function updateConfigFromFlags(
  flags: CommonFlags,
  changed: Changed,
  prefix: 'update' | 'rollback',
  base?: UpdateConfig,
): UpdateConfig | undefined {
  const names = UPDATE_CONFIG_FLAGS.map((n) => `${prefix}-${n}`);
  if (!anyChanged(changed, names)) return base;
  const f = flags as unknown as Record<string, unknown>;
  const cfg: UpdateConfig = { ...(base ?? defaultUpdateConfig()) };
  if (changed.has(`${prefix}-parallelism`)) cfg.Parallelism = f[`${prefix}-parallelism`] as number;
  if (changed.has(`${prefix}-delay`)) cfg.Delay = f[`${prefix}-delay`] as number;
  if (changed.has(`${prefix}-monitor`)) cfg.Monitor = f[`${prefix}-monitor`] as number;
  if (changed.has(`${prefix}-failure-action`))
    cfg.FailureAction = f[`${prefix}-failure-action`] as UpdateConfig['FailureAction'];
  if (changed.has(`${prefix}-max-failure-ratio`)) cfg.MaxFailureRatio = f[`${prefix}-max-failure-ratio`] as number;
  if (changed.has(`${prefix}-order`)) cfg.Order = f[`${prefix}-order`] as UpdateConfig['Order'];
  // Go's field order, zero Delay/Monitor dropped (omitempty)
  return {
    Parallelism: cfg.Parallelism,
    ...(cfg.Delay ? { Delay: cfg.Delay } : {}),
    ...(cfg.FailureAction ? { FailureAction: cfg.FailureAction } : {}),
    ...(cfg.Monitor ? { Monitor: cfg.Monitor } : {}),
    MaxFailureRatio: cfg.MaxFailureRatio,
    Order: cfg.Order ?? '',
  };
}

export const RESTART_FLAGS = ['restart-condition', 'restart-delay', 'restart-max-attempts', 'restart-window'];

/** restartPolicyOptions.ToRestartPolicy, applied over `base` (update) or the defaults (create). */
export function restartPolicyFromFlags(
  flags: CommonFlags,
  changed: Changed,
  base?: RestartPolicy,
): RestartPolicy | undefined {
  if (!anyChanged(changed, RESTART_FLAGS)) return base;
  const p: RestartPolicy = { ...(base ?? defaultRestartPolicy()) };
  if (changed.has('restart-condition')) p.Condition = flags['restart-condition'] as RestartPolicy['Condition'];
  if (changed.has('restart-delay')) p.Delay = flags['restart-delay'];
  if (changed.has('restart-max-attempts')) p.MaxAttempts = flags['restart-max-attempts'];
  if (changed.has('restart-window')) p.Window = flags['restart-window'];
  return p;
}

const HEALTH_FLAGS = [
  'health-cmd',
  'health-interval',
  'health-timeout',
  'health-retries',
  'health-start-period',
  'health-start-interval',
];

/** healthCheckOptions.toHealthConfig. */
export function healthConfigFromFlags(flags: CommonFlags, changed: Changed): HealthConfig | undefined {
  const haveSettings = flags['health-cmd'] !== '' || anyChanged(changed, HEALTH_FLAGS.slice(1));
  if (flags['no-healthcheck']) {
    if (haveSettings) throw new CliError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!haveSettings) return undefined;
  const h: HealthConfig = {};
  if (flags['health-cmd'] !== '') h.Test = ['CMD-SHELL', flags['health-cmd']];
  if (flags['health-interval']) h.Interval = flags['health-interval'];
  if (flags['health-timeout']) h.Timeout = flags['health-timeout'];
  if (flags['health-start-period']) h.StartPeriod = flags['health-start-period'];
  if (flags['health-start-interval']) h.StartInterval = flags['health-start-interval'];
  if (flags['health-retries']) h.Retries = flags['health-retries'];
  return h;
}

/** serviceOptions.ToServiceMode, with docker's texts. */
export function serviceModeFromFlags(flags: CreateFlags, changed: Changed): ServiceMode {
  const replicas = changed.has('replicas') ? flags.replicas : undefined;
  const maxConcurrent = changed.has('max-concurrent') ? flags['max-concurrent'] : undefined;
  const maxReplicas = flags['replicas-max-per-node'] ?? 0;
  const onlyReplicated = 'replicas can only be used with replicated or replicated-job mode';
  const onlyJob = 'max-concurrent can only be used with replicated-job mode';
  switch (flags.mode) {
    case 'global':
      if (replicas !== undefined) throw new CliError(onlyReplicated);
      if (maxReplicas > 0)
        throw new CliError('replicas-max-per-node can only be used with replicated or replicated-job mode');
      if (maxConcurrent !== undefined) throw new CliError(onlyJob);
      return { Global: {} };
    case 'replicated':
      if (maxConcurrent !== undefined) throw new CliError(onlyJob);
      return { Replicated: replicas === undefined ? {} : { Replicas: replicas } };
    case 'replicated-job': {
      const concurrent = maxConcurrent ?? replicas;
      const job: NonNullable<ServiceMode['ReplicatedJob']> = {};
      if (concurrent !== undefined) job.MaxConcurrent = concurrent;
      if (replicas !== undefined) job.TotalCompletions = replicas;
      return { ReplicatedJob: job };
    }
    case 'global-job':
      if (maxReplicas > 0)
        throw new CliError('replicas-max-per-node can only be used with replicated or replicated-job mode');
      if (maxConcurrent !== undefined) throw new CliError(onlyJob);
      if (replicas !== undefined) throw new CliError(onlyReplicated);
      return { GlobalJob: {} };
    default:
      throw new CliError(`Unknown mode: ${flags.mode}, only replicated and global supported`);
  }
}

/** opts.ParseEnvFile: KEY=value lines; a bare KEY takes the current environment's value if set. */
export function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(
      `open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
    );
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const variable = (eq === -1 ? line : line.slice(0, eq)).replace(/^[ \t\n\v\f\r]+/, '');
    if (/[ \t\n\v\f\r]/.test(variable)) throw new CliError(`variable '${variable}' contains whitespaces`);
    if (variable === '') throw new CliError(`no variable name on line '${line}'`);
    if (eq !== -1) out.push(`${variable}=${line.slice(eq + 1)}`);
    else if (process.env[variable] !== undefined) out.push(`${variable.trim()}=${process.env[variable]}`);
  }
  return out;
}

/** serviceOptions.makeEnv: env files then -e values, a later KEY replacing an earlier one. */
export function makeEnv(envFiles: string[], env: string[]): string[] {
  const all = [...envFiles.flatMap(readEnvFile), ...env.map(expandEnv)];
  const current: string[] = [];
  for (const e of all) {
    const key = e.split('=')[0];
    for (let i = current.length - 1; i >= 0; i--) {
      if (current[i] !== e && current[i].startsWith(key + '=')) current.splice(i, 1);
    }
    current.push(e);
  }
  return current;
}

/** "host:ip" → "ip host" (convertExtraHostsToSwarmHosts). */
export const toSwarmHosts = (hosts: string[]): string[] =>
  hosts.filter((h) => h.includes(':')).map((h) => `${h.slice(h.indexOf(':') + 1)} ${h.slice(0, h.indexOf(':'))}`);

/**
 * Drops the keys Go's omitempty drops (undefined, '', empty slices and maps), except those in
 * `keep`: fields without omitempty, or pointers to structs, which Go sends even when empty.
 */
function compact<T extends object>(o: T, keep: string[] = []): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (!keep.includes(k)) {
      if (v === '' || (Array.isArray(v) && v.length === 0)) continue;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    }
    out[k] = v;
  }
  return out as T;
}

export interface CreateInput {
  flags: CreateFlags;
  changed: Changed;
  image: string;
  args: string[];
  /** Network name → ID (GET /networks/{name}?scope=swarm), only called for --network. */
  resolveNetwork?: (name: string) => Promise<string>;
}

export async function buildServiceSpec({
  flags,
  changed,
  image,
  args,
  resolveNetwork,
}: CreateInput): Promise<ServiceSpec> {
  const env = makeEnv(flags['env-file'], flags.env);
  const healthcheck = healthConfigFromFlags(flags, changed);
  const mode = serviceModeFromFlags(flags, changed);
  const updateConfig = updateConfigFromFlags(flags, changed, 'update');
  const rollbackConfig = updateConfigFromFlags(flags, changed, 'rollback');
  if ((mode.ReplicatedJob || mode.GlobalJob) && (updateConfig || rollbackConfig)) {
    throw new CliError('update and rollback configuration is not supported for jobs');
  }
  const networks: { Target: string }[] = [];
  for (const n of flags.network) {
    networks.push({ Target: resolveNetwork ? await resolveNetwork(n) : n });
  }
  networks.sort((a, b) => (a.Target < b.Target ? -1 : a.Target > b.Target ? 1 : 0));

  const limits = compact({
    NanoCPUs: flags['limit-cpu'] ? parseCpus(flags['limit-cpu']) || undefined : undefined,
    MemoryBytes: flags['limit-memory'] ? ramInBytes(flags['limit-memory']) || undefined : undefined,
    Pids: flags['limit-pids'] || undefined,
  });
  const reservations = compact({
    NanoCPUs: flags['reserve-cpu'] ? parseCpus(flags['reserve-cpu']) || undefined : undefined,
    MemoryBytes: flags['reserve-memory'] ? ramInBytes(flags['reserve-memory']) || undefined : undefined,
  });

  const containerSpec = compact(
    {
      Image: imageWithTag(image),
      Labels: kvListToMap(flags['container-label']),
      Command: flags.entrypoint !== '' ? shlexSplit(flags.entrypoint) : undefined,
      Args: args.length > 0 ? args : undefined,
      Hostname: flags.hostname,
      Env: env,
      Dir: flags.workdir,
      User: flags.user,
      Groups: flags.group,
      Init: flags.init,
      StopSignal: flags['stop-signal'],
      TTY: flags.tty || undefined,
      ReadOnly: flags['read-only'] || undefined,
      Mounts: flags.mount.map(parseMount),
      StopGracePeriod: changed.has('stop-grace-period') ? flags['stop-grace-period'] : undefined,
      Healthcheck: healthcheck,
      Hosts: [] as string[],
      DNSConfig: compact({ Nameservers: flags.dns, Search: flags['dns-search'], Options: flags['dns-option'] }),
      Isolation: flags.isolation,
      Sysctls: kvListToMap(flags.sysctl),
      CapabilityAdd: flags['cap-add'],
      CapabilityDrop: flags['cap-drop'],
      OomScoreAdj: flags['oom-score-adj'] || undefined,
    },
    ['DNSConfig'],
  );

  const placement = compact({
    Constraints: flags.constraint,
    Preferences: flags['placement-pref'].map((p) => ({ Spread: { SpreadDescriptor: p.slice(p.indexOf('=') + 1) } })),
    MaxReplicas: flags['replicas-max-per-node'] || undefined,
  });

  const logDriver =
    flags['log-driver'] !== '' ? { Name: flags['log-driver'], Options: kvListToMap(flags['log-opt']) } : undefined;

  const spec: ServiceSpec = compact(
    {
      Name: flags.name,
      Labels: kvListToMap(flags.label),
      TaskTemplate: compact(
        {
          ContainerSpec: containerSpec,
          Resources: { Limits: limits, Reservations: reservations },
          RestartPolicy: restartPolicyFromFlags(flags, changed),
          Placement: placement,
          Networks: networks,
          LogDriver: logDriver,
          ForceUpdate: 0,
        },
        ['Resources', 'Placement'],
      ),
      Mode: mode,
      UpdateConfig: updateConfig,
      RollbackConfig: rollbackConfig,
      EndpointSpec: compact({
        Mode: flags['endpoint-mode'].toLowerCase() as 'vip' | 'dnsrr',
        Ports: flags.publish.flatMap(parsePublish),
      }),
    },
    ['Labels', 'EndpointSpec'],
  );
  return spec;
}
