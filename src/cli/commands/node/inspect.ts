import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';
import { INSPECT_FORMAT_HELP, formatFlag } from '../../flags/common';
import { inspectEach, prettyEach } from '../../format/inspect';
import { NODE_INSPECT_PRETTY_TEMPLATE, nodeInspectData } from '../../format/node-format';
import { nodeReference } from '../../node-ref';

const FLAGS = {
  format: formatFlag(INSPECT_FORMAT_HELP, 'f'),
  pretty: bool('Print the information in a human friendly format'),
};

export default class NodeInspect extends BaseCommand {
  static override summary = 'Display detailed information on one or more nodes';
  static override usage = 'node inspect [OPTIONS] self|NODE [NODE...]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, args } = this.parse(FLAGS, { min: 1 });
    const format = flags.pretty ? 'pretty' : flags.format;
    if (format.startsWith('pretty') && format !== 'pretty') {
      throw new CliError('cannot supply extra formatting options to the pretty template');
    }
    const get = async (ref: string) => this.client.nodeInspect(await nodeReference(this.client, ref));
    const write = (text: string) => this.write(text);
    if (format === 'pretty') await prettyEach(args, NODE_INSPECT_PRETTY_TEMPLATE, get, nodeInspectData, write);
    else await inspectEach(args, format, get, write);
  }
}
