import { arch, platform } from 'node:os';
import { BaseCommand } from '../base-command';
import { CliError, TEMPLATE_ERROR_EXIT_CODE } from '../errors';
import { toOclifFlags } from '../flags/define';
import { INSPECT_FORMAT_HELP, formatFlag } from '../flags/common';
import { compileFormat, JSON_FORMAT } from '../format/formatter';
import { BASIC_FUNCS } from '../format/template';
import { tabwrite } from '../format/tabwriter';
import { cliVersion } from '../cli-version';
import { API_VERSION } from '../../client/api-client';
import type { ServerVersion } from '../../client/system-types';

const FLAGS = { format: formatFlag(INSPECT_FORMAT_HELP, 'f') };

/** docker's defaultVersionTemplate, with the client block describing this Node.js CLI. */
const VERSION_TEMPLATE = `{{with .Client -}}
Client:{{if ne .Platform nil}}{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}{{end}}
 Version:	{{.Version}}
 API version:	{{.APIVersion}}
 Node version:	{{.NodeVersion}}
 OS/Arch:	{{.Os}}/{{.Arch}}
{{- end}}

{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:	{{.Version}}
  API version:	{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:	{{index .Details "GoVersion"}}
  Git commit:	{{index .Details "GitCommit"}}
  Built:	{{index .Details "BuildTime"}}
  OS/Arch:	{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:	{{index .Details "Experimental"}}
  {{- else }}
  Version:	{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:	{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}`;

const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' };

/** reformatDate: RFC 3339 build times shown as Go's time.ANSIC ("Mon Jan  2 15:04:05 2006"). */
function ansic(ts: string | undefined): string {
  if (!ts) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

function serverData(sv: ServerVersion): Record<string, unknown> {
  const components = (sv.Components ?? []).map((c) => ({ ...c, Details: { ...(c.Details ?? {}) } }));
  const engine = components.find((c) => c.Name === 'Engine');
  if (engine) {
    if (engine.Details.BuildTime) engine.Details.BuildTime = ansic(engine.Details.BuildTime);
  } else {
    components.push({
      Name: 'Engine',
      Version: sv.Version,
      Details: {
        ApiVersion: sv.ApiVersion,
        MinAPIVersion: sv.MinAPIVersion ?? '',
        GitCommit: sv.GitCommit ?? '',
        GoVersion: sv.GoVersion ?? '',
        Os: sv.Os ?? '',
        Arch: sv.Arch ?? '',
        BuildTime: ansic(sv.BuildTime),
        Experimental: String(sv.Experimental ?? false),
      },
    });
  }
  return { ...sv, Platform: sv.Platform ?? { Name: '' }, Components: components };
}

export default class Version extends BaseCommand {
  static override summary = 'Show the shoal version information';
  static override usage = 'version [OPTIONS]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags } = this.parse(FLAGS, { max: 0 });
    const funcs = {
      ...BASIC_FUNCS,
      getDetailsOrder: (c: unknown) => Object.keys((c as { Details?: object }).Details ?? {}).sort(),
    };
    let tmpl;
    try {
      const source = flags.format === '' ? VERSION_TEMPLATE : flags.format === 'json' ? JSON_FORMAT : flags.format;
      tmpl = compileFormat(source, funcs);
    } catch (err) {
      throw new CliError((err as Error).message, TEMPLATE_ERROR_EXIT_CODE);
    }
    const client = {
      Platform: { Name: 'shoal' },
      Version: cliVersion(),
      APIVersion: API_VERSION,
      NodeVersion: process.version,
      Os: platform(),
      Arch: GO_ARCH[arch()] ?? arch(),
    };
    let server: Record<string, unknown> | undefined;
    let serverError: Error | undefined;
    try {
      server = serverData(await this.client.version());
    } catch (err) {
      serverError = err as Error;
    }
    const text = tmpl.execute({ Client: client, Server: server }, { funcs }) + '\n';
    this.write(tabwrite(text, { minwidth: 20, padding: 1 }));
    if (serverError) throw serverError;
  }
}
