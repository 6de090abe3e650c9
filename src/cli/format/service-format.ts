// `service ls` rows and `service inspect --pretty`, after docker's cli/command/service/formatter.go.
import type { PortConfig } from '../../types/swarm';
import type { ServiceWithJob } from '../../client/system-types';
import { formatGoDuration } from '../values/duration';
import { bytesSize, humanDuration } from '../values/units';
import { imageForDisplay, truncateId } from './display';
import { RowContext } from './formatter';
import { parseApiTime } from './go-time';

export const DEFAULT_SERVICE_TABLE_FORMAT =
  'table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}';

export const SERVICE_HEADER: Record<string, string> = {
  ID: 'ID',
  Name: 'NAME',
  Mode: 'MODE',
  Replicas: 'REPLICAS',
  Image: 'IMAGE',
  Ports: 'PORTS',
};

export function serviceListFormat(source: string, quiet: boolean): string {
  if (source === 'table') return quiet ? '{{.ID}}' : DEFAULT_SERVICE_TABLE_FORMAT;
  if (source === 'raw') {
    return quiet
      ? 'id: {{.ID}}'
      : 'id: {{.ID}}\\nname: {{.Name}}\\nmode: {{.Mode}}\\nreplicas: {{.Replicas}}\\nimage: {{.Image}}\\nports: {{.Ports}}\\n';
  }
  return source;
}

/** serviceContext.Ports: ingress ports, consecutive ranges merged, e.g. `*:8080-8081->80-81/tcp`. */
export function formatIngressPorts(ports: PortConfig[] | undefined): string {
  if (!ports) return '';
  const sorted = [...ports].sort((a, b) =>
    (a.Protocol ?? '') === (b.Protocol ?? '')
      ? (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0)
      : (a.Protocol ?? '') < (b.Protocol ?? '')
        ? -1
        : 1,
  );
  const out: string[] = [];
  let pr = { pStart: 0, pEnd: 0, tStart: 0, tEnd: 0, protocol: '' };
  const show = (r: typeof pr): string =>
    `*:${r.pEnd > r.pStart ? `${r.pStart}-${r.pEnd}` : r.pStart}->${r.tEnd > r.tStart ? `${r.tStart}-${r.tEnd}` : r.tStart}/${r.protocol}`;
  // Go compares uint32 differences: a "negative" gap wraps to a huge number
  const gap = (a: number, b: number): boolean => a - b > 1 || a - b < 0;
  for (const p of sorted) {
    if (p.PublishMode !== 'ingress') continue;
    const published = p.PublishedPort ?? 0;
    const target = p.TargetPort ?? 0;
    const isRange = pr.tEnd !== pr.tStart;
    const overlaps = target <= pr.tEnd;
    if (
      (p.Protocol ?? '') !== pr.protocol ||
      gap(published, pr.pEnd) ||
      gap(target, pr.tEnd) ||
      (isRange && overlaps)
    ) {
      if (pr.pStart > 0) out.push(show(pr));
      pr = { pStart: published, pEnd: published, tStart: target, tEnd: target, protocol: p.Protocol ?? '' };
      continue;
    }
    pr.pEnd = published;
    pr.tEnd = target;
  }
  if (pr.pStart > 0) out.push(show(pr));
  return out.join(', ');
}

/** One `service ls` row (docker's serviceContext). */
export class ServiceContext extends RowContext {
  /** The Go type docker's errors name. */
  static readonly goType = '*service.serviceContext';
  protected readonly fields = ['ID', 'Name', 'Mode', 'Replicas', 'Image', 'Ports'];

  constructor(private readonly service: ServiceWithJob) {
    super();
  }

  get ID(): string {
    return truncateId(this.service.ID);
  }
  get Name(): string {
    return this.service.Spec.Name ?? '';
  }
  get Mode(): string {
    const m = this.service.Spec.Mode ?? {};
    if (m.Global) return 'global';
    if (m.Replicated) return 'replicated';
    if (m.ReplicatedJob) return 'replicated job';
    if (m.GlobalJob) return 'global job';
    return '';
  }
  get Replicas(): string {
    const s = this.service.ServiceStatus;
    const running = s?.RunningTasks ?? 0;
    const desired = s?.DesiredTasks ?? 0;
    const completed = s?.CompletedTasks ?? 0;
    const mode = this.service.Spec.Mode ?? {};
    if (mode.ReplicatedJob) {
      return `${running}/${desired} (${completed}/${mode.ReplicatedJob.TotalCompletions ?? 0} completed)`;
    }
    if (mode.GlobalJob) return `${running}/${desired} (${completed}/${desired + completed} completed)`;
    const max = mode.Replicated ? (this.service.Spec.TaskTemplate?.Placement?.MaxReplicas ?? 0) : 0;
    if (max > 0) return `${running}/${desired} (max ${max} per node)`;
    return `${running}/${desired}`;
  }
  get Image(): string {
    return imageForDisplay(this.service.Spec.TaskTemplate?.ContainerSpec?.Image ?? '');
  }
  get Ports(): string {
    return formatIngressPorts(this.service.Endpoint?.Ports);
  }
}

export const SERVICE_INSPECT_PRETTY_TEMPLATE = `
ID:		{{.ID}}
Name:		{{.Name}}
{{- if .Labels }}
Labels:
{{- range $k, $v := .Labels }}
 {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Service Mode:
{{- if .IsModeGlobal }}	Global
{{- else if .IsModeReplicated }}	Replicated
{{- if .ModeReplicatedReplicas }}
 Replicas:	{{ .ModeReplicatedReplicas }}
{{- end }}{{ end }}
{{- if .HasUpdateStatus }}
UpdateStatus:
 State:		{{ .UpdateStatusState }}
{{- if .HasUpdateStatusStarted }}
 Started:	{{ .UpdateStatusStarted }}
{{- end }}
{{- if .UpdateIsCompleted }}
 Completed:	{{ .UpdateStatusCompleted }}
{{- end }}
 Message:	{{ .UpdateStatusMessage }}
{{- end }}
Placement:
{{- if .TaskPlacementConstraints }}
 Constraints:	{{ .TaskPlacementConstraints }}
{{- end }}
{{- if .TaskPlacementPreferences }}
 Preferences:   {{ .TaskPlacementPreferences }}
{{- end }}
{{- if .MaxReplicas }}
 Max Replicas Per Node:   {{ .MaxReplicas }}
{{- end }}
{{- if .HasUpdateConfig }}
UpdateConfig:
 Parallelism:	{{ .UpdateParallelism }}
{{- if .HasUpdateDelay}}
 Delay:		{{ .UpdateDelay }}
{{- end }}
 On failure:	{{ .UpdateOnFailure }}
{{- if .HasUpdateMonitor}}
 Monitoring Period: {{ .UpdateMonitor }}
{{- end }}
 Max failure ratio: {{ .UpdateMaxFailureRatio }}
 Update order:      {{ .UpdateOrder }}
{{- end }}
{{- if .HasRollbackConfig }}
RollbackConfig:
 Parallelism:	{{ .RollbackParallelism }}
{{- if .HasRollbackDelay}}
 Delay:		{{ .RollbackDelay }}
{{- end }}
 On failure:	{{ .RollbackOnFailure }}
{{- if .HasRollbackMonitor}}
 Monitoring Period: {{ .RollbackMonitor }}
{{- end }}
 Max failure ratio: {{ .RollbackMaxFailureRatio }}
 Rollback order:    {{ .RollbackOrder }}
{{- end }}
ContainerSpec:
 Image:		{{ .ContainerImage }}
{{- if .ContainerArgs }}
 Args:		{{ range $arg := .ContainerArgs }}{{ $arg }} {{ end }}
{{- end -}}
{{- if .ContainerEnv }}
 Env:		{{ range $env := .ContainerEnv }}{{ $env }} {{ end }}
{{- end -}}
{{- if .ContainerWorkDir }}
 Dir:		{{ .ContainerWorkDir }}
{{- end -}}
{{- if .HasContainerInit }}
 Init:		{{ .ContainerInit }}
{{- end -}}
{{- if .ContainerUser }}
 User: {{ .ContainerUser }}
{{- end }}
{{- if .HasCapabilities }}
Capabilities:
{{- if .HasCapabilityAdd }}
 Add: {{ .CapabilityAdd }}
{{- end }}
{{- if .HasCapabilityDrop }}
 Drop: {{ .CapabilityDrop }}
{{- end }}
{{- end }}
{{- if .ContainerSysCtls }}
SysCtls:
{{- range $k, $v := .ContainerSysCtls }}
 {{ $k }}{{if $v }}: {{ $v }}{{ end }}
{{- end }}{{ end }}
{{- if .ContainerUlimits }}
Ulimits:
{{- range $k, $v := .ContainerUlimits }}
 {{ $k }}: {{ $v }}
{{- end }}{{ end }}
{{- if .ContainerMounts }}
Mounts:
{{- end }}
{{- range $mount := .ContainerMounts }}
 Target:	{{ $mount.Target }}
  Source:	{{ $mount.Source }}
  ReadOnly:	{{ $mount.ReadOnly }}
  Type:		{{ $mount.Type }}
{{- end -}}
{{- if .Configs}}
Configs:
{{- range $config := .Configs }}
 Target:	{{$config.File.Name}}
  Source:	{{$config.ConfigName}}
{{- end }}{{ end }}
{{- if .Secrets }}
Secrets:
{{- range $secret := .Secrets }}
 Target:	{{$secret.File.Name}}
  Source:	{{$secret.SecretName}}
{{- end }}{{ end }}
{{- if .HasLogDriver }}
Log Driver:
{{- if .HasLogDriverName }}
 Name:		{{ .LogDriverName }}
{{- end }}
{{- if .LogOpts }}
 LogOpts:
{{- range $k, $v := .LogOpts }}
  {{ $k }}{{if $v }}:       {{ $v }}{{ end }}
{{- end }}{{ end }}
{{ end }}
{{- if .HasResources }}
Resources:
{{- if .HasResourceReservations }}
 Reservations:
{{- if gt .ResourceReservationNanoCPUs 0.0 }}
  CPU:		{{ .ResourceReservationNanoCPUs }}
{{- end }}
{{- if .ResourceReservationMemory }}
  Memory:	{{ .ResourceReservationMemory }}
{{- end }}{{ end }}
{{- if .HasResourceLimits }}
 Limits:
{{- if gt .ResourceLimitsNanoCPUs 0.0 }}
  CPU:		{{ .ResourceLimitsNanoCPUs }}
{{- end }}
{{- if .ResourceLimitMemory }}
  Memory:	{{ .ResourceLimitMemory }}
{{- end }}{{ end }}{{ end }}
{{- if gt .ResourceLimitPids 0 }}
  PIDs:		{{ .ResourceLimitPids }}
{{- end }}
{{- if .Networks }}
Networks:
{{- range $network := .Networks }} {{ $network }}{{ end }} {{ end }}
Endpoint Mode:	{{ .EndpointMode }}
{{- if .Ports }}
Ports:
{{- range $port := .Ports }}
 PublishedPort = {{ $port.PublishedPort }}
  Protocol = {{ $port.Protocol }}
  TargetPort = {{ $port.TargetPort }}
  PublishMode = {{ $port.PublishMode }}
{{- end }} {{ end -}}
{{- if .Healthcheck }}
 Healthcheck:
  Interval = {{ .Healthcheck.Interval }}
  Retries = {{ .Healthcheck.Retries }}
  StartPeriod =	{{ .Healthcheck.StartPeriod }}
  Timeout =	{{ .Healthcheck.Timeout }}
  {{- if .Healthcheck.Test }}
  Tests:
	{{- range $test := .Healthcheck.Test }}
	 Test = {{ $test }}
  {{- end }} {{ end -}}
{{- end }}
`;

const ago = (ts: string | undefined, now: number): string => `${humanDuration(now - parseApiTime(ts))} ago`;

/** The values docker's serviceInspectContext methods return, for the pretty template. */
export function serviceInspectData(
  service: ServiceWithJob,
  networkNames: Record<string, string> = {},
  now = Date.now(),
): Record<string, unknown> {
  const spec = service.Spec;
  const task = spec.TaskTemplate ?? { ForceUpdate: 0 };
  const c = task.ContainerSpec ?? {};
  const us = service.UpdateStatus;
  const uc = spec.UpdateConfig;
  const rc = spec.RollbackConfig;
  const res = task.Resources;
  const lim = res?.Limits;
  const rsv = res?.Reservations;
  const capAdd = (c.CapabilityAdd as string[] | undefined) ?? [];
  const capDrop = (c.CapabilityDrop as string[] | undefined) ?? [];
  const ulimits = (c.Ulimits as { Name: string; Soft: number; Hard: number }[] | undefined) ?? [];
  const hc = c.Healthcheck;
  return {
    ID: service.ID,
    Name: spec.Name ?? '',
    Labels: spec.Labels ?? {},
    IsModeGlobal: Boolean(spec.Mode?.Global),
    IsModeReplicated: Boolean(spec.Mode?.Replicated),
    // a *uint64 in Go: printed, and true even when 0
    ModeReplicatedReplicas:
      spec.Mode?.Replicated?.Replicas === undefined ? undefined : String(spec.Mode.Replicated.Replicas),
    HasUpdateStatus: Boolean(us?.State),
    UpdateStatusState: us?.State ?? '',
    HasUpdateStatusStarted: Boolean(us?.StartedAt),
    UpdateStatusStarted: ago(us?.StartedAt, now),
    UpdateIsCompleted: us?.State === 'completed' && Boolean(us.CompletedAt),
    UpdateStatusCompleted: ago(us?.CompletedAt, now),
    UpdateStatusMessage: us?.Message ?? '',
    TaskPlacementConstraints: task.Placement?.Constraints ?? [],
    TaskPlacementPreferences: (task.Placement?.Preferences ?? [])
      .filter((p) => p.Spread)
      .map((p) => `spread=${p.Spread.SpreadDescriptor}`),
    MaxReplicas: task.Placement?.MaxReplicas ?? 0,
    HasUpdateConfig: Boolean(uc),
    UpdateParallelism: uc?.Parallelism ?? 0,
    HasUpdateDelay: (uc?.Delay ?? 0) > 0,
    UpdateDelay: formatGoDuration(uc?.Delay ?? 0),
    UpdateOnFailure: uc?.FailureAction ?? '',
    HasUpdateMonitor: (uc?.Monitor ?? 0) > 0,
    UpdateMonitor: formatGoDuration(uc?.Monitor ?? 0),
    UpdateMaxFailureRatio: uc?.MaxFailureRatio ?? 0,
    UpdateOrder: uc?.Order ?? '',
    HasRollbackConfig: Boolean(rc),
    RollbackParallelism: rc?.Parallelism ?? 0,
    HasRollbackDelay: (rc?.Delay ?? 0) > 0,
    RollbackDelay: formatGoDuration(rc?.Delay ?? 0),
    RollbackOnFailure: rc?.FailureAction ?? '',
    HasRollbackMonitor: (rc?.Monitor ?? 0) > 0,
    RollbackMonitor: formatGoDuration(rc?.Monitor ?? 0),
    RollbackMaxFailureRatio: rc?.MaxFailureRatio ?? 0,
    RollbackOrder: rc?.Order ?? '',
    ContainerImage: c.Image ?? '',
    ContainerArgs: c.Args ?? [],
    ContainerEnv: c.Env ?? [],
    ContainerWorkDir: c.Dir ?? '',
    ContainerUser: c.User ?? '',
    HasContainerInit: c.Init !== undefined && c.Init !== null,
    ContainerInit: c.Init ?? false,
    HasCapabilities: capAdd.length > 0 || capDrop.length > 0,
    HasCapabilityAdd: capAdd.length > 0,
    HasCapabilityDrop: capDrop.length > 0,
    CapabilityAdd: capAdd.join(', '),
    CapabilityDrop: capDrop.join(', '),
    ContainerSysCtls: (c.Sysctls as Record<string, string> | undefined) ?? {},
    ContainerUlimits: Object.fromEntries(ulimits.map((u) => [u.Name, `${u.Soft}:${u.Hard}`])),
    ContainerMounts: (c.Mounts ?? []).map((m) => ({
      Target: m.Target,
      Source: m.Source ?? '',
      ReadOnly: m.ReadOnly ?? false,
      Type: m.Type,
    })),
    Configs: (c.Configs as unknown[] | undefined) ?? [],
    Secrets: (c.Secrets as unknown[] | undefined) ?? [],
    HasLogDriver: Boolean(task.LogDriver),
    HasLogDriverName: Boolean(task.LogDriver?.Name),
    LogDriverName: task.LogDriver?.Name ?? '',
    LogOpts: task.LogDriver?.Options ?? {},
    HasResources: Boolean(res),
    HasResourceReservations: (rsv?.NanoCPUs ?? 0) > 0 || (rsv?.MemoryBytes ?? 0) > 0,
    ResourceReservationNanoCPUs: (rsv?.NanoCPUs ?? 0) / 1e9,
    ResourceReservationMemory: rsv?.MemoryBytes ? bytesSize(rsv.MemoryBytes) : '',
    HasResourceLimits: (lim?.NanoCPUs ?? 0) > 0 || (lim?.MemoryBytes ?? 0) > 0 || (lim?.Pids ?? 0) > 0,
    ResourceLimitsNanoCPUs: (lim?.NanoCPUs ?? 0) / 1e9,
    ResourceLimitMemory: lim?.MemoryBytes ? bytesSize(lim.MemoryBytes) : '',
    ResourceLimitPids: lim?.Pids ?? 0,
    Networks: (task.Networks ?? []).map((n) => networkNames[n.Target ?? ''] ?? n.Target ?? ''),
    EndpointMode: spec.EndpointSpec?.Mode ?? '',
    Ports: (service.Endpoint?.Ports ?? []).map((p) => ({
      PublishedPort: p.PublishedPort ?? 0,
      Protocol: p.Protocol ?? '',
      TargetPort: p.TargetPort ?? 0,
      PublishMode: p.PublishMode ?? '',
    })),
    Healthcheck: hc
      ? {
          Interval: formatGoDuration(hc.Interval ?? 0),
          Retries: hc.Retries ?? 0,
          StartPeriod: formatGoDuration(hc.StartPeriod ?? 0),
          Timeout: formatGoDuration(hc.Timeout ?? 0),
          Test: hc.Test ?? [],
        }
      : undefined,
  };
}
