import { BaseCommand } from '../../base-command';
import { toOclifFlags } from '../../flags/define';
import { filterFlag, formatFlag, parseFilters, quietFlag } from '../../flags/common';
import { renderFormat } from '../../format/formatter';
import { SERVICE_HEADER, ServiceContext, serviceListFormat } from '../../format/service-format';
import type { ShoalClient } from '../../../client/shoal-client';
import type { ServiceWithJob } from '../../../client/system-types';

const FLAGS = {
  quiet: quietFlag('Only display IDs'),
  format: formatFlag(),
  filter: filterFlag(),
};

/**
 * docker's AppendServiceStatus: for services the daemon returned without ServiceStatus, count
 * desired tasks (not shut down) and running tasks on nodes that are not down.
 */
async function appendServiceStatus(client: ShoalClient, services: ServiceWithJob[]): Promise<void> {
  const missing = services.filter((s) => !s.ServiceStatus && (s.Spec.Mode?.Replicated || s.Spec.Mode?.Global));
  if (missing.length === 0) return;
  const status = new Map<string, { RunningTasks: number; DesiredTasks: number; CompletedTasks: number }>();
  for (const s of missing) {
    s.ServiceStatus = { RunningTasks: 0, DesiredTasks: s.Spec.Mode?.Replicated?.Replicas ?? 0, CompletedTasks: 0 };
    status.set(s.ID, { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 0 });
  }
  const tasks = await client.taskList({ service: missing.map((s) => s.ID) });
  if (tasks.length === 0) return;
  const nodes = await client.nodeList();
  const active = new Set(nodes.filter((n) => n.Status?.State !== 'down').map((n) => n.ID));
  for (const t of tasks) {
    const st = status.get(t.ServiceID);
    if (!st) continue;
    if (t.DesiredState !== 'shutdown') st.DesiredTasks++;
    if (active.has(t.NodeID) && t.Status?.State === 'running') st.RunningTasks++;
  }
  for (const s of missing) s.ServiceStatus = status.get(s.ID);
}

export default class ServiceLs extends BaseCommand {
  static override summary = 'List services';
  static override usage = 'service ls [OPTIONS]';
  static override hiddenAliases = ['service:list'];
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags } = this.parse(FLAGS, { max: 0 });
    const services = await this.client.serviceList({ filters: parseFilters(flags.filter), status: !flags.quiet });
    if (!flags.quiet) await appendServiceStatus(this.client, services);
    const format = serviceListFormat(flags.format || 'table', flags.quiet);
    this.write(
      renderFormat(
        format,
        services.map((s) => new ServiceContext(s)),
        SERVICE_HEADER,
      ),
    );
  }
}
