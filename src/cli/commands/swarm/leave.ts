import { BaseCommand } from '../../base-command';
import { bool, toOclifFlags } from '../../flags/define';

const FLAGS = {
  force: bool('Force this node to leave the swarm, ignoring warnings', { char: 'f' }),
};

export default class SwarmLeave extends BaseCommand {
  static override summary = 'Leave the swarm';
  static override usage = 'swarm leave [OPTIONS]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags } = this.parse(FLAGS, { max: 0 });
    await this.client.swarmLeave(flags.force);
    this.print('Node left the swarm.');
  }
}
