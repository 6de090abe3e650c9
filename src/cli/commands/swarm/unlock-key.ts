import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';
import { unlockCommandText } from '../../swarm/opts';

const FLAGS = {
  rotate: bool('Rotate unlock key'),
  quiet: bool('Only display token', { char: 'q' }),
};

export default class SwarmUnlockKey extends BaseCommand {
  static override summary = 'Manage the unlock key';
  static override usage = 'swarm unlock-key [OPTIONS]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags } = this.parse(FLAGS, { max: 0 });
    if (flags.rotate) {
      const sw = await this.client.swarmInspect();
      if (!sw.Spec.EncryptionConfig?.AutoLockManagers) {
        throw new CliError('cannot rotate because autolock is not turned on');
      }
      await this.client.swarmUpdate(sw.Version?.Index, sw.Spec, { rotateManagerUnlockKey: true });
      if (!flags.quiet) this.print('Successfully rotated manager unlock key.');
    }
    let key: string;
    try {
      key = (await this.client.swarmUnlockKey()).UnlockKey;
    } catch (err) {
      throw new CliError(`could not fetch unlock key: ${(err as Error).message}`);
    }
    if (key === '') throw new CliError('no unlock key is set');
    if (flags.quiet) this.print(key);
    else this.write(unlockCommandText(key));
  }
}
