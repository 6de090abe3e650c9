import { BaseCommand } from '../../base-command';
import { toOclifFlags } from '../../flags/define';
import { filterFlag, formatFlag, parseFilters, quietFlag } from '../../flags/common';
import { renderFormat } from '../../format/formatter';
import { NODE_HEADER, NodeContext, nodeListFormat } from '../../format/node-format';
import { naturalCompare } from '../../format/natural-sort';
import type { SystemInfo } from '../../../client/system-types';

const FLAGS = {
  quiet: quietFlag('Only display IDs'),
  format: formatFlag(),
  filter: filterFlag(),
};

export default class NodeLs extends BaseCommand {
  static override summary = 'List nodes in the swarm';
  static override usage = 'node ls [OPTIONS]';
  static override hiddenAliases = ['node:list'];
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags } = this.parse(FLAGS, { max: 0 });
    const nodes = await this.client.nodeList(parseFilters(flags.filter));
    // /info marks the current node; docker skips it with -q and for an empty list
    let info: SystemInfo | undefined;
    if (nodes.length > 0 && !flags.quiet) info = await this.client.info();
    nodes.sort((a, b) => naturalCompare(a.Description?.Hostname ?? '', b.Description?.Hostname ?? ''));
    const format = nodeListFormat(flags.format || 'table', flags.quiet);
    this.write(
      renderFormat(
        format,
        nodes.map((n) => new NodeContext(n, info)),
        NODE_HEADER,
      ),
    );
  }
}
