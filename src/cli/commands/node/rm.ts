import { BaseCommand } from '../../base-command';
import { joinErrors } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';

const FLAGS = {
  force: bool('Force remove a node from the swarm', { char: 'f' }),
};

export default class NodeRm extends BaseCommand {
  static override summary = 'Remove one or more nodes from the swarm';
  static override usage = 'node rm [OPTIONS] NODE [NODE...]';
  static override hiddenAliases = ['node:remove'];
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, args } = this.parse(FLAGS, { min: 1 });
    const errors: Error[] = [];
    for (const ref of args) {
      try {
        await this.client.nodeRemove(ref, flags.force);
        this.print(ref);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    const failed = joinErrors(errors);
    if (failed) throw failed;
  }
}
