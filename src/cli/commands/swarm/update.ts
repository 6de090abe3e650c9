import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';
import { SWARM_FLAGS, mergeSwarmSpec, unlockCommandText } from '../../swarm/opts';

const FLAGS = {
  autolock: bool('Change manager autolocking setting (true|false)'),
  ...SWARM_FLAGS,
};

export default class SwarmUpdate extends BaseCommand {
  static override summary = 'Update the swarm';
  static override usage = 'swarm update [OPTIONS]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, changed } = this.parse(FLAGS, { max: 0 });
    // like docker (pflag.ErrHelp from PreRunE): no flag at all prints the help, status 0
    if ([...changed].filter((f) => f !== 'host').length === 0) {
      await this.showHelp();
      return;
    }
    const sw = await this.client.swarmInspect();
    const prevAutolock = sw.Spec.EncryptionConfig?.AutoLockManagers ?? false;
    mergeSwarmSpec(sw.Spec, flags, changed, sw.TLSInfo?.TrustRoot);
    const curAutolock = sw.Spec.EncryptionConfig?.AutoLockManagers ?? false;
    await this.client.swarmUpdate(sw.Version?.Index, sw.Spec);
    this.print('Swarm updated.');
    if (curAutolock && !prevAutolock) {
      let key: string;
      try {
        key = (await this.client.swarmUnlockKey()).UnlockKey;
      } catch (err) {
        throw new CliError(`could not fetch unlock key: ${(err as Error).message}`);
      }
      this.write(unlockCommandText(key));
    }
  }
}
