import { BaseCommand } from '../base-command';
import { CliError } from '../errors';
import { toOclifFlags } from '../flags/define';
import { formatFlag } from '../flags/common';
import { compileFormat, JSON_FORMAT } from '../format/formatter';
import { humanDuration, bytesSize } from '../values/units';
import { cliVersion } from '../cli-version';
import type { SystemInfo } from '../../client/system-types';

const FLAGS = {
  format: formatFlag(
    "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates",
    'f',
  ),
};

/** Go's fmt.Println: operands separated by spaces, then a newline. */
const println = (...parts: unknown[]): string =>
  parts.map((p) => (p === undefined || p === null ? '' : String(p))).join(' ') + '\n';
const nonEmpty = (label: string, value: string | undefined): string => (value ? println(label, value) : '');
const nsToMs = (ns: number | undefined): number => (ns ?? 0) / 1e6;

/** docker's printSwarmInfo. */
export function swarmInfoText(info: SystemInfo): string {
  const s = info.Swarm;
  if (!s || s.LocalNodeState === 'inactive' || s.LocalNodeState === 'locked') return '';
  let out = println('  NodeID:', s.NodeID);
  if (s.Error) out += println('  Error:', s.Error);
  out += println('  Is Manager:', s.ControlAvailable);
  const c = s.Cluster;
  if (c && s.ControlAvailable && !s.Error && s.LocalNodeState !== 'error') {
    out += println('  ClusterID:', c.ID);
    out += println('  Managers:', s.Managers ?? 0);
    out += println('  Nodes:', s.Nodes ?? 0);
    if (c.DefaultAddrPool) {
      out += println('  Default Address Pool:', c.DefaultAddrPool.map((p) => p + '  ').join(''));
      out += println('  SubnetSize:', c.SubnetSize);
    }
    if (c.DataPathPort > 0) out += println('  Data Path Port:', c.DataPathPort);
    const spec = c.Spec;
    out += println('  Orchestration:');
    out += println('   Task History Retention Limit:', spec.Orchestration?.TaskHistoryRetentionLimit ?? 0);
    out += println('  Raft:');
    out += println('   Snapshot Interval:', spec.Raft?.SnapshotInterval ?? 0);
    if (spec.Raft?.KeepOldSnapshots !== undefined)
      out += `   Number of Old Snapshots to Retain: ${spec.Raft.KeepOldSnapshots}\n`;
    out += println('   Heartbeat Tick:', spec.Raft?.HeartbeatTick ?? 0);
    out += println('   Election Tick:', spec.Raft?.ElectionTick ?? 0);
    out += println('  Dispatcher:');
    out += println('   Heartbeat Period:', humanDuration(nsToMs(spec.Dispatcher?.HeartbeatPeriod)));
    out += println('  CA Configuration:');
    out += println('   Expiry Duration:', humanDuration(nsToMs(spec.CAConfig?.NodeCertExpiry)));
    out += println('   Force Rotate:', spec.CAConfig?.ForceRotate ?? 0);
    const signing = (spec.CAConfig?.SigningCACert ?? '').trim();
    if (signing) out += `   Signing CA Certificate: \n${signing}\n\n`;
    if ((spec.CAConfig?.ExternalCAs ?? []).length > 0) {
      out += println('   External CAs:');
      for (const ca of spec.CAConfig!.ExternalCAs!) out += `     ${ca.Protocol}: ${ca.URL}\n`;
    }
    out += println('  Autolock Managers:', spec.EncryptionConfig?.AutoLockManagers ?? false);
    out += println('  Root Rotation In Progress:', c.RootRotationInProgress);
  }
  out += println('  Node Address:', s.NodeAddr);
  const managers = (s.RemoteManagers ?? []).map((m) => m.Addr).sort();
  if (managers.length > 0) {
    out += println('  Manager Addresses:');
    for (const m of managers) out += `   ${m}\n`;
  }
  return out;
}

/** docker's prettyPrintServerInfo, reduced to the fields shoal's daemon reports. */
export function serverInfoText(info: SystemInfo): string {
  let out = println(' Containers:', info.Containers ?? 0);
  out += println('  Running:', info.ContainersRunning ?? 0);
  out += println('  Paused:', info.ContainersPaused ?? 0);
  out += println('  Stopped:', info.ContainersStopped ?? 0);
  out += println(' Images:', info.Images ?? 0);
  out += nonEmpty(' Server Version:', info.ServerVersion);
  out += nonEmpty(' Storage Driver:', info.Driver);
  for (const [k, v] of info.DriverStatus ?? []) out += `  ${k}: ${v}\n`;
  out += nonEmpty(' Logging Driver:', info.LoggingDriver);
  out += nonEmpty(' Cgroup Driver:', info.CgroupDriver);
  out += nonEmpty(' Cgroup Version:', info.CgroupVersion);
  out += println(' Plugins:');
  out += println('  Volume:', (info.Plugins?.Volume ?? []).join(' '));
  out += println('  Network:', (info.Plugins?.Network ?? []).join(' '));
  if ((info.Plugins?.Authorization ?? []).length > 0)
    out += println('  Authorization:', info.Plugins!.Authorization!.join(' '));
  out += println('  Log:', (info.Plugins?.Log ?? []).join(' '));
  out += println(' Swarm:', info.Swarm?.LocalNodeState ?? '');
  out += swarmInfoText(info);
  if (info.Executor) out += println(' Executor:', info.Executor);
  const runtimes = Object.keys(info.Runtimes ?? {});
  if (runtimes.length > 0) {
    out += println(' Runtimes:', runtimes.join(' '));
    out += println(' Default Runtime:', info.DefaultRuntime ?? '');
  }
  if (info.OSType === 'linux') {
    out += println(' Init Binary:', info.InitBinary ?? '');
    out += println(' containerd version:', info.ContainerdCommit?.ID ?? '');
    out += println(' runc version:', info.RuncCommit?.ID ?? '');
    out += println(' init version:', info.InitCommit?.ID ?? '');
  }
  out += nonEmpty(' Kernel Version:', info.KernelVersion);
  out += nonEmpty(' Operating System:', info.OperatingSystem);
  out += nonEmpty(' OSType:', info.OSType);
  out += nonEmpty(' Architecture:', info.Architecture);
  out += println(' CPUs:', info.NCPU ?? 0);
  out += println(' Total Memory:', bytesSize(info.MemTotal ?? 0));
  out += nonEmpty(' Name:', info.Name);
  out += nonEmpty(' ID:', info.ID);
  out += println(' Docker Root Dir:', info.DockerRootDir ?? '');
  out += println(' Debug Mode:', info.Debug ?? false);
  out += nonEmpty(' HTTP Proxy:', info.HttpProxy);
  out += nonEmpty(' HTTPS Proxy:', info.HttpsProxy);
  out += nonEmpty(' No Proxy:', info.NoProxy);
  if ((info.Labels ?? []).length > 0) {
    out += println(' Labels:');
    for (const l of info.Labels!) out += println('  ' + l);
  }
  out += println(' Experimental:', info.ExperimentalBuild ?? false);
  out += println(' Live Restore Enabled:', info.LiveRestoreEnabled ?? false);
  out += '\n';
  return out;
}

export default class Info extends BaseCommand {
  static override summary = 'Display system-wide information';
  static override usage = 'info [OPTIONS]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags } = this.parse(FLAGS, { max: 0 });
    const clientInfo = { Version: cliVersion(), Debug: Boolean(this.env.SHOAL_DEBUG) };
    let info: SystemInfo | undefined;
    let serverError: string | undefined;
    try {
      info = await this.client.info();
    } catch (err) {
      serverError = (err as Error).message;
    }

    if (flags.format) {
      const tmpl = compileFormat(flags.format === 'json' ? JSON_FORMAT : flags.format);
      const data = {
        ...(info ?? {}),
        ClientInfo: clientInfo,
        ClientErrors: [],
        ServerErrors: serverError ? [serverError] : [],
      };
      this.print(tmpl.execute(data));
      if (serverError) throw new CliError(serverError);
      return;
    }

    this.write(
      `Client:\n${println(' Version:   ', clientInfo.Version)}${println(' Debug Mode:', clientInfo.Debug)}\nServer:\n`,
    );
    if (info) {
      this.write(serverInfoText(info));
      for (const w of info.Warnings ?? []) this.printErr(w);
    }
    if (serverError) {
      this.printErr(`ERROR: ${serverError}`);
      throw new CliError('errors pretty printing info');
    }
  }
}
