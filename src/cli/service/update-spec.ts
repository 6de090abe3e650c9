// `service update` flags applied to the spec read from the daemon, as docker's updateService
// does: only flags given on the command line change anything.
import type { Mount, PortConfig, ServiceSpec, TaskSpec } from '../../types/swarm';
import type { FlagValues } from '../flags/define';
import { CliError } from '../errors';
import { shlexSplit } from '../values/shlex';
import { expandEnv, kvListToMap } from '../values/kv';
import { parseCpus, ramInBytes } from '../values/units';
import { restartPolicyFromFlags, toSwarmHosts, updateConfigFromFlags } from './create-spec';
import type { UPDATE_FLAGS } from './flags';
import { imageWithTag } from './image-ref';
import { parseMount } from './mounts';
import { parsePublish } from './ports';

export type UpdateFlags = FlagValues<typeof UPDATE_FLAGS>;

/** Flags that may accompany --rollback. */
const ROLLBACK_COMPATIBLE = new Set(['rollback', 'detach', 'quiet', 'host']);

export function checkRollbackFlags(changed: ReadonlySet<string>): void {
  for (const name of changed) {
    if (!ROLLBACK_COMPATIBLE.has(name)) throw new CliError('other flags may not be combined with --rollback');
  }
}

const envKey = (e: string): string => e.split('=')[0];
const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const uniqueSorted = (values: string[]): string[] => [...new Set(values)].sort(byString);

function updateMap(
  current: Record<string, string> | undefined,
  add: string[],
  rm: string[],
): Record<string, string> | undefined {
  let out = current;
  if (out && rm.length > 0) for (const k of rm) delete out[k];
  if (add.length > 0) out = { ...(out ?? {}), ...kvListToMap(add) };
  return out;
}

function updateEnv(current: string[] | undefined, add: string[], rm: string[]): string[] {
  const removed = new Set(rm);
  const env = (current ?? []).filter((e) => !removed.has(envKey(e)));
  for (const raw of add) {
    const e = expandEnv(raw);
    const i = env.findIndex((x) => envKey(x) === envKey(e));
    if (i === -1) env.push(e);
    else env[i] = e;
  }
  return env;
}

function updateMounts(current: Mount[] | undefined, add: string[], rm: string[]): Mount[] {
  const byTarget = new Map<string, Mount>();
  for (const m of add.map(parseMount)) {
    if (byTarget.has(m.Target)) throw new CliError('duplicate mount target');
    byTarget.set(m.Target, m);
  }
  for (const m of current ?? []) if (!byTarget.has(m.Target)) byTarget.set(m.Target, m);
  const removed = new Set(rm);
  return [...byTarget.values()]
    .filter((m) => !removed.has(m.Target))
    .sort((a, b) => byString(a.Source ?? '', b.Source ?? '') || byString(a.Target, b.Target));
}

const portString = (p: PortConfig): string =>
  `${p.PublishedPort ?? 0}:${p.TargetPort ?? 0}/${p.Protocol ?? ''}/${p.PublishMode ?? ''}`;
const sameOr = (a: string | undefined, b: string | undefined, dflt: string): boolean =>
  a === b || (!a && b === dflt) || (!b && a === dflt);

function updatePorts(current: PortConfig[] | undefined, add: string[], rm: string[]): PortConfig[] {
  const set = new Map<string, PortConfig>();
  for (const p of current ?? []) if (!set.has(portString(p))) set.set(portString(p), p);
  const toRemove = rm.flatMap(parsePublish);
  const out = [...set.values()].filter(
    (p) =>
      !toRemove.some(
        (r) =>
          sameOr(p.Protocol, r.Protocol, 'tcp') &&
          p.TargetPort === r.TargetPort &&
          sameOr(p.PublishMode, r.PublishMode, 'ingress'),
      ),
  );
  for (const p of add.flatMap(parsePublish)) if (!set.has(portString(p))) out.push(p);
  return out.sort((a, b) => byString(portString(a), portString(b)));
}

function updateHosts(current: string[] | undefined, add: string[], rm: string[]): string[] {
  let hosts = [...(current ?? [])];
  for (const r of rm) {
    const colon = r.indexOf(':');
    const name = colon === -1 ? r : r.slice(0, colon);
    const ip = colon === -1 ? '' : r.slice(colon + 1);
    hosts = hosts.filter((h) => {
      const [hip, ...names] = h.split(/\s+/);
      return !(names.includes(name) && (ip === '' || ip === hip));
    });
  }
  for (const h of toSwarmHosts(add)) if (!hosts.includes(h)) hosts.push(h);
  return hosts;
}

/** Applies the changed flags to `spec` in place (docker's updateService). */
export function applyServiceUpdate(spec: ServiceSpec, flags: UpdateFlags, changed: ReadonlySet<string>): void {
  const has = (name: keyof UpdateFlags & string): boolean => changed.has(name);
  const task: TaskSpec = (spec.TaskTemplate ??= { ForceUpdate: 0 });
  const cspec = (task.ContainerSpec ??= {});

  spec.Labels = updateMap(spec.Labels ?? undefined, flags['label-add'], flags['label-rm']) ?? spec.Labels;
  cspec.Labels = updateMap(cspec.Labels, flags['container-label-add'], flags['container-label-rm']);
  if (has('image')) cspec.Image = imageWithTag(flags.image);
  if (has('args')) cspec.Args = shlexSplit(flags.args);
  if (has('entrypoint')) cspec.Command = shlexSplit(flags.entrypoint);
  if (has('env-add') || has('env-rm')) cspec.Env = updateEnv(cspec.Env, flags['env-add'], flags['env-rm']);
  if (has('workdir')) cspec.Dir = flags.workdir;
  if (has('user')) cspec.User = flags.user;
  if (has('hostname')) cspec.Hostname = flags.hostname;
  if (has('init')) cspec.Init = flags.init;
  if (has('isolation')) cspec.Isolation = flags.isolation;
  if (has('mount-add') || has('mount-rm'))
    cspec.Mounts = updateMounts(cspec.Mounts, flags['mount-add'], flags['mount-rm']);
  if (has('sysctl-add') || has('sysctl-rm')) {
    cspec.Sysctls = updateMap(
      cspec.Sysctls as Record<string, string> | undefined,
      flags['sysctl-add'],
      flags['sysctl-rm'],
    );
  }

  if (has('limit-cpu') || has('limit-memory') || has('limit-pids')) {
    const limits = ((task.Resources ??= {}).Limits ??= {});
    task.Resources.Reservations ??= {};
    if (has('limit-cpu')) limits.NanoCPUs = parseCpus(flags['limit-cpu']);
    if (has('limit-memory')) limits.MemoryBytes = ramInBytes(flags['limit-memory']);
    if (has('limit-pids')) limits.Pids = flags['limit-pids'];
  }
  if (has('reserve-cpu') || has('reserve-memory')) {
    const res = ((task.Resources ??= {}).Reservations ??= {});
    task.Resources.Limits ??= {};
    if (has('reserve-cpu')) res.NanoCPUs = parseCpus(flags['reserve-cpu']);
    if (has('reserve-memory')) res.MemoryBytes = ramInBytes(flags['reserve-memory']);
  }
  if (has('oom-score-adj')) cspec.OomScoreAdj = flags['oom-score-adj'];
  if (has('stop-grace-period')) cspec.StopGracePeriod = flags['stop-grace-period'];
  task.RestartPolicy = restartPolicyFromFlags(flags, changed, task.RestartPolicy);

  if (has('constraint-add') || has('constraint-rm')) {
    const placement = (task.Placement ??= {});
    const removed = new Set(flags['constraint-rm']);
    placement.Constraints = [...(placement.Constraints ?? []), ...flags['constraint-add']]
      .filter((c) => !removed.has(c))
      .sort(byString);
  }
  if (has('placement-pref-add') || has('placement-pref-rm')) {
    const placement = (task.Placement ??= {});
    const removed = new Set(flags['placement-pref-rm'].map((p) => p.slice(p.indexOf('=') + 1)));
    placement.Preferences = [
      ...(placement.Preferences ?? []).filter((p) => !removed.has(p.Spread?.SpreadDescriptor)),
      ...flags['placement-pref-add'].map((p) => ({ Spread: { SpreadDescriptor: p.slice(p.indexOf('=') + 1) } })),
    ];
  }

  if (has('replicas')) {
    if (!spec.Mode?.Replicated) throw new CliError('replicas can only be used with replicated mode');
    spec.Mode.Replicated.Replicas = flags.replicas;
  }
  if (has('replicas-max-per-node')) (task.Placement ??= {}).MaxReplicas = flags['replicas-max-per-node'];

  spec.UpdateConfig = updateConfigFromFlags(flags, changed, 'update', spec.UpdateConfig);
  spec.RollbackConfig = updateConfigFromFlags(flags, changed, 'rollback', spec.RollbackConfig);

  if (has('endpoint-mode')) (spec.EndpointSpec ??= {}).Mode = flags['endpoint-mode'] as 'vip' | 'dnsrr';
  if (has('group-add') || has('group-rm')) {
    const removed = new Set(flags['group-rm']);
    cspec.Groups = [...(cspec.Groups ?? []), ...flags['group-add']].filter((g) => !removed.has(g)).sort(byString);
  }
  if (has('publish-add') || has('publish-rm')) {
    const endpoint = (spec.EndpointSpec ??= {});
    endpoint.Ports = updatePorts(endpoint.Ports, flags['publish-add'], flags['publish-rm']);
  }
  const dnsFlags = ['dns-add', 'dns-rm', 'dns-option-add', 'dns-option-rm', 'dns-search-add', 'dns-search-rm'] as const;
  if (dnsFlags.some(has)) {
    const dns = (cspec.DNSConfig ??= {});
    const merge = (cur: string[] | undefined, add: string[], rm: string[]): string[] =>
      uniqueSorted([...(cur ?? []), ...add]).filter((v) => !rm.includes(v));
    dns.Nameservers = merge(dns.Nameservers, flags['dns-add'], flags['dns-rm']);
    dns.Options = merge(dns.Options, flags['dns-option-add'], flags['dns-option-rm']);
    dns.Search = merge(dns.Search, flags['dns-search-add'], flags['dns-search-rm']);
  }
  if (has('host-add') || has('host-rm')) cspec.Hosts = updateHosts(cspec.Hosts, flags['host-add'], flags['host-rm']);
  if (has('log-driver') && flags['log-driver'] !== '') {
    task.LogDriver = { Name: flags['log-driver'], Options: kvListToMap(flags['log-opt']) };
  }
  if (flags.force) task.ForceUpdate = (task.ForceUpdate ?? 0) + 1;

  const healthFlags = [
    'no-healthcheck',
    'health-cmd',
    'health-interval',
    'health-retries',
    'health-timeout',
    'health-start-period',
  ] as const;
  if (healthFlags.some(has)) {
    if (flags['no-healthcheck']) {
      if (healthFlags.slice(1).some(has)) throw new CliError('--no-healthcheck conflicts with --health-* options');
      cspec.Healthcheck = { Test: ['NONE'] };
    } else {
      const h = { ...(cspec.Healthcheck ?? {}) };
      if (h.Test?.[0] === 'NONE') delete h.Test;
      if (has('health-interval')) h.Interval = flags['health-interval'];
      if (has('health-timeout')) h.Timeout = flags['health-timeout'];
      if (has('health-start-period')) h.StartPeriod = flags['health-start-period'];
      if (has('health-retries')) h.Retries = flags['health-retries'];
      if (has('health-cmd')) {
        if (flags['health-cmd'] !== '') h.Test = ['CMD-SHELL', flags['health-cmd']];
        else delete h.Test;
      }
      cspec.Healthcheck = h;
    }
  }
  if (has('tty')) cspec.TTY = flags.tty;
  if (has('read-only')) cspec.ReadOnly = flags['read-only'];
  if (has('stop-signal')) cspec.StopSignal = flags['stop-signal'];
  if (has('cap-add') || has('cap-drop')) {
    const drop = new Set(flags['cap-drop']);
    const add = new Set(flags['cap-add']);
    cspec.CapabilityAdd = uniqueSorted([...((cspec.CapabilityAdd as string[] | undefined) ?? []), ...add]).filter(
      (c) => !drop.has(c),
    );
    cspec.CapabilityDrop = uniqueSorted([...((cspec.CapabilityDrop as string[] | undefined) ?? []), ...drop]).filter(
      (c) => !add.has(c),
    );
  }
}
