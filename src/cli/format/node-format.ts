// `node ls` rows and `node inspect --pretty`, after docker's cli/command/node/formatter.go.
import type { Node } from '../../types/swarm';
import type { SystemInfo } from '../../client/system-types';
import { bytesSize } from '../values/units';
import { prettyPrint } from './display';
import { goTimeString } from './go-time';
import { RowContext } from './formatter';

export const DEFAULT_NODE_TABLE_FORMAT =
  'table {{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}';

export const NODE_HEADER: Record<string, string> = {
  ID: 'ID',
  Self: '',
  Hostname: 'HOSTNAME',
  Status: 'STATUS',
  Availability: 'AVAILABILITY',
  ManagerStatus: 'MANAGER STATUS',
  EngineVersion: 'ENGINE VERSION',
  TLSStatus: 'TLS STATUS',
};

/** node.newFormat: `table` (or quiet) and `raw` expand to docker's built-in formats. */
export function nodeListFormat(source: string, quiet: boolean): string {
  if (source === 'table') return quiet ? '{{.ID}}' : DEFAULT_NODE_TABLE_FORMAT;
  if (source === 'raw') {
    return quiet
      ? 'node_id: {{.ID}}'
      : 'node_id: {{.ID}}\\nhostname: {{.Hostname}}\\nstatus: {{.Status}}\\navailability: {{.Availability}}\\nmanager_status: {{.ManagerStatus}}\\n';
  }
  return source;
}

const emptyTls = (t: object | undefined): boolean => !t || Object.values(t).every((v) => v === undefined || v === '');

/** One `node ls` row (docker's nodeContext). */
export class NodeContext extends RowContext {
  /** The Go type docker's errors name. */
  static readonly goType = '*node.nodeContext';
  protected readonly fields = [
    'ID',
    'Self',
    'Hostname',
    'Status',
    'Availability',
    'ManagerStatus',
    'EngineVersion',
    'TLSStatus',
  ];

  constructor(
    private readonly node: Node,
    private readonly info: SystemInfo | undefined,
  ) {
    super();
  }

  get ID(): string {
    return this.node.ID;
  }
  get Self(): boolean {
    return this.node.ID === (this.info?.Swarm?.NodeID ?? '');
  }
  get Hostname(): string {
    return this.node.Description?.Hostname ?? '';
  }
  get Status(): string {
    return prettyPrint(this.node.Status?.State ?? '');
  }
  get Availability(): string {
    return prettyPrint(this.node.Spec?.Availability ?? '');
  }
  get ManagerStatus(): string {
    const ms = this.node.ManagerStatus;
    return prettyPrint(ms ? (ms.Leader ? 'Leader' : (ms.Reachability ?? '')) : '');
  }
  get TLSStatus(): string {
    const cluster = this.info?.Swarm?.Cluster?.TLSInfo;
    const mine = this.node.Description?.TLSInfo;
    if (emptyTls(cluster) || emptyTls(mine)) return 'Unknown';
    const same =
      (cluster!.TrustRoot ?? '') === (mine!.TrustRoot ?? '') &&
      (cluster!.CertIssuerSubject ?? '') === (mine!.CertIssuerSubject ?? '') &&
      (cluster!.CertIssuerPublicKey ?? '') === (mine!.CertIssuerPublicKey ?? '');
    return same ? 'Ready' : 'Needs Rotation';
  }
  get EngineVersion(): string {
    return this.node.Description?.Engine?.EngineVersion ?? '';
  }
}

export const NODE_INSPECT_PRETTY_TEMPLATE = `ID:			{{.ID}}
{{- if .Name }}
Name:			{{.Name}}
{{- end }}
{{- if .Labels }}
Labels:
{{- range $k, $v := .Labels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Hostname:              	{{.Hostname}}
Joined at:             	{{.CreatedAt}}
Status:
 State:			{{.StatusState}}
 {{- if .HasStatusMessage}}
 Message:              	{{.StatusMessage}}
 {{- end}}
 Availability:         	{{.SpecAvailability}}
 {{- if .Status.Addr}}
 Address:		{{.StatusAddr}}
 {{- end}}
{{- if .HasManagerStatus}}
Manager Status:
 Address:		{{.ManagerStatusAddr}}
 Raft Status:		{{.ManagerStatusReachability}}
 {{- if .IsManagerStatusLeader}}
 Leader:		Yes
 {{- else}}
 Leader:		No
 {{- end}}
{{- end}}
Platform:
 Operating System:	{{.PlatformOS}}
 Architecture:		{{.PlatformArchitecture}}
Resources:
 CPUs:			{{.ResourceNanoCPUs}}
 Memory:		{{.ResourceMemory}}
{{- if .HasEnginePlugins}}
Plugins:
{{- range $k, $v := .EnginePlugins }}
 {{ $k }}:{{if $v }}		{{ $v }}{{ end }}
{{- end }}
{{- end }}
Engine Version:		{{.EngineVersion}}
{{- if .EngineLabels}}
Engine Labels:
{{- range $k, $v := .EngineLabels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{- end }}
{{- if .HasTLSInfo}}
TLS Info:
 TrustRoot:
{{.TLSInfoTrustRoot}}
 Issuer Subject:	{{.TLSInfoCertIssuerSubject}}
 Issuer Public Key:	{{.TLSInfoCertIssuerPublicKey}}
{{- end}}`;

/** The data `node inspect --pretty` renders: the node's own fields plus docker's helper methods. */
export function nodeInspectData(node: Node): Record<string, unknown> {
  const d = node.Description ?? ({} as Node['Description']);
  const ms = node.ManagerStatus;
  const plugins: Record<string, string[]> = {};
  for (const p of d.Engine?.Plugins ?? []) (plugins[p.Type] ??= []).push(p.Name);
  const tls = d.TLSInfo ?? {};
  return {
    ...node,
    ID: node.ID,
    Name: node.Spec?.Name ?? '',
    Labels: node.Spec?.Labels ?? {},
    Hostname: d.Hostname ?? '',
    CreatedAt: prettyPrint(goTimeString(node.CreatedAt)),
    StatusState: prettyPrint(node.Status?.State ?? ''),
    HasStatusMessage: (node.Status?.Message ?? '') !== '',
    StatusMessage: prettyPrint(node.Status?.Message ?? ''),
    SpecAvailability: prettyPrint(node.Spec?.Availability ?? ''),
    StatusAddr: node.Status?.Addr ?? '',
    HasManagerStatus: ms !== undefined && ms !== null,
    ManagerStatusAddr: ms?.Addr ?? '',
    ManagerStatusReachability: prettyPrint(ms?.Reachability ?? ''),
    IsManagerStatusLeader: ms?.Leader ?? false,
    PlatformOS: d.Platform?.OS ?? '',
    PlatformArchitecture: d.Platform?.Architecture ?? '',
    ResourceNanoCPUs: Math.trunc((d.Resources?.NanoCPUs ?? 0) / 1e9),
    ResourceMemory: d.Resources?.MemoryBytes ? bytesSize(d.Resources.MemoryBytes) : '',
    HasEnginePlugins: (d.Engine?.Plugins ?? []).length > 0,
    EnginePlugins: Object.fromEntries(Object.entries(plugins).map(([k, v]) => [k, v.join(', ')])),
    EngineLabels: d.Engine?.Labels ?? {},
    EngineVersion: d.Engine?.EngineVersion ?? '',
    HasTLSInfo: !emptyTls(tls),
    TLSInfoTrustRoot: tls.TrustRoot ?? '',
    TLSInfoCertIssuerSubject: tls.CertIssuerSubject ?? '',
    TLSInfoCertIssuerPublicKey: tls.CertIssuerPublicKey ?? '',
  };
}
