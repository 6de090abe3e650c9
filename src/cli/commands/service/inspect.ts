import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';
import { INSPECT_FORMAT_HELP, formatFlag } from '../../flags/common';
import { inspectEach, prettyEach } from '../../format/inspect';
import { SERVICE_INSPECT_PRETTY_TEMPLATE, serviceInspectData } from '../../format/service-format';
import { DaemonError } from '../../../client/api-client';

const FLAGS = {
  format: formatFlag(INSPECT_FORMAT_HELP, 'f'),
  pretty: bool('Print the information in a human friendly format'),
};

export default class ServiceInspect extends BaseCommand {
  static override summary = 'Display detailed information on one or more services';
  static override usage = 'service inspect [OPTIONS] SERVICE [SERVICE...]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, args } = this.parse(FLAGS, { min: 1 });
    if (flags.pretty && flags.format !== '') throw new CliError('--format is incompatible with human friendly format');
    const format = flags.pretty ? 'pretty' : flags.format;
    if (format.startsWith('pretty') && format !== 'pretty') {
      throw new CliError('Cannot supply extra formatting options to the pretty template');
    }
    const get = async (ref: string) => {
      try {
        return await this.client.serviceInspect(ref, true);
      } catch (err) {
        if (err instanceof DaemonError && err.statusCode === 404) throw new CliError(`Error: no such service: ${ref}`);
        throw err;
      }
    };
    const write = (text: string) => this.write(text);
    if (format === 'pretty')
      await prettyEach(args, SERVICE_INSPECT_PRETTY_TEMPLATE, get, (s) => serviceInspectData(s), write);
    else await inspectEach(args, format.replace(/^raw/, ''), get, write);
  }
}
