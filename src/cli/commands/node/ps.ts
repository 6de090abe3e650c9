import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';
import { filterFlag, parseFilters, quietFlag, formatFlag } from '../../flags/common';
import { nodeReference } from '../../node-ref';
import { renderTasks } from '../../task-print';
import type { Task } from '../../../types/swarm';

const FLAGS = {
  'no-trunc': bool('Do not truncate output'),
  'no-resolve': bool('Do not map IDs to Names'),
  filter: filterFlag(),
  format: formatFlag('Pretty-print tasks using a Go template'),
  quiet: quietFlag('Only display task IDs'),
};

export default class NodePs extends BaseCommand {
  static override summary = 'List tasks running on one or more nodes, defaults to current node';
  static override usage = 'node ps [OPTIONS] [NODE...]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, args } = this.parse(FLAGS);
    const refs = args.length > 0 ? args : ['self'];
    const errors: string[] = [];
    const tasks: Task[] = [];
    for (const ref of refs) {
      try {
        const node = await this.client.nodeInspect(await nodeReference(this.client, ref));
        const filters = parseFilters(flags.filter);
        (filters.node ??= []).push(node.ID);
        tasks.push(...(await this.client.taskList(filters)));
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length === 0 || tasks.length > 0) {
      const out = await renderTasks(this.client, tasks, {
        trunc: !flags['no-trunc'], // unlike service ps, docker keeps -q IDs truncated here
        quiet: flags.quiet,
        format: flags.format || 'table',
        noResolve: flags['no-resolve'],
      });
      this.write(out);
    }
    if (errors.length > 0) throw new CliError(errors.join('\n'));
  }
}
