import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';
import { printJoinCommand } from '../../swarm/join-command';

const FLAGS = {
  rotate: bool('Rotate join token'),
  quiet: bool('Only display token', { char: 'q' }),
};

export default class SwarmJoinToken extends BaseCommand {
  static override summary = 'Manage join tokens';
  static override usage = 'swarm join-token [OPTIONS] (worker|manager)';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, args } = this.parse(FLAGS, { min: 1, max: 1 });
    const role = args[0];
    if (role !== 'worker' && role !== 'manager') throw new CliError(`unknown role ${role}`);
    if (flags.rotate) {
      const sw = await this.client.swarmInspect();
      await this.client.swarmUpdate(sw.Version?.Index, sw.Spec, {
        rotateWorkerToken: role === 'worker',
        rotateManagerToken: role === 'manager',
      });
      if (!flags.quiet) this.print(`Successfully rotated ${role} join token.\n`);
    }
    // read again: a rotation changed the tokens
    const sw = await this.client.swarmInspect();
    if (flags.quiet) {
      this.print(role === 'worker' ? sw.JoinTokens.Worker : sw.JoinTokens.Manager);
      return;
    }
    const info = await this.client.info();
    this.write(await printJoinCommand(this.client, info.Swarm?.NodeID ?? '', role));
  }
}
