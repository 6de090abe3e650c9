import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';
import { filterFlag, formatFlag, parseFilters, quietFlag } from '../../flags/common';
import { nodeReference } from '../../node-ref';
import { renderTasks } from '../../task-print';

const FLAGS = {
  quiet: quietFlag('Only display task IDs'),
  'no-trunc': bool('Do not truncate output'),
  'no-resolve': bool('Do not map IDs to Names'),
  filter: filterFlag(),
  format: formatFlag('Pretty-print tasks using a Go template'),
};

export default class ServicePs extends BaseCommand {
  static override summary = 'List the tasks of one or more services';
  static override usage = 'service ps [OPTIONS] SERVICE [SERVICE...]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, args } = this.parse(FLAGS, { min: 1 });
    const filters = parseFilters(flags.filter);

    // match each argument by full ID, then exact name, then unique ID prefix (ps.go createFilter)
    const byId = await this.client.serviceList({ filters: { id: args } });
    const byName = await this.client.serviceList({ filters: { name: args } });
    const notFound: string[] = [];
    const serviceIds: string[] = [];
    for (const ref of args) {
      const exact = byId.find((s) => s.ID === ref) ?? byName.find((s) => s.Spec.Name === ref);
      if (exact) {
        serviceIds.push(exact.ID);
        continue;
      }
      const prefixed = byId.filter((s) => s.ID.startsWith(ref));
      if (prefixed.length > 1) throw new CliError(`multiple services found with provided prefix: ${ref}`);
      if (prefixed.length === 1) serviceIds.push(prefixed[0].ID);
      else notFound.push(`no such service: ${ref}`);
    }
    if (serviceIds.length === 0) throw new CliError(notFound.join('\n'));
    filters.service = [...(filters.service ?? []), ...serviceIds];

    if (filters.node) {
      const resolved: string[] = [];
      for (const n of filters.node) resolved.push(await nodeReference(this.client, n));
      filters.node = resolved;
    }

    const tasks = await this.client.taskList(filters);
    const quiet = flags.quiet;
    this.write(
      await renderTasks(this.client, tasks, {
        trunc: !(flags['no-trunc'] || quiet),
        quiet,
        format: flags.format || 'table',
        noResolve: flags['no-resolve'],
      }),
    );
    if (notFound.length > 0) throw new CliError(notFound.join('\n'));
  }
}
