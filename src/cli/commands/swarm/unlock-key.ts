// `swarm unlock-key [-q] [--rotate]`: docker's command. shoal adds the OS keychain: --rotate
// also updates a key stored there for this swarm (only if one is stored), and --forget removes it.
import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';
import { FlagError } from '../../flags/parse';
import { KeychainError, openKeychain, type UnlockKeyStore } from '../../swarm/keychain';
import { unlockCommandText } from '../../swarm/opts';

const FLAGS = {
  rotate: bool('Rotate unlock key'),
  quiet: bool('Only display token', { char: 'q' }),
  forget: bool('Remove the unlock key stored in the OS keychain for this swarm'),
  'no-keychain': bool('With --rotate: leave a key stored in the OS keychain as it is'),
};

const exclusive = (a: string, b: string): FlagError => {
  const group = [a, b].sort().join(' ');
  return new FlagError(
    `if any flags in the group [${group}] are set none of the others can be; [${group}] were all set`,
  );
};

export default class SwarmUnlockKey extends BaseCommand {
  static override summary = 'Manage the unlock key';
  static override usage = 'swarm unlock-key [OPTIONS]';
  static override flags = toOclifFlags(FLAGS);

  /** The keychain; tests replace it. Opening it does not load the native module yet. */
  keychain: () => UnlockKeyStore = openKeychain;

  async run(): Promise<void> {
    const { flags } = this.parse(FLAGS, { max: 0 });
    if (flags.forget) {
      if (flags.rotate) throw exclusive('forget', 'rotate');
      if (flags['no-keychain']) throw exclusive('forget', 'no-keychain');
      await this.forget(flags.quiet);
      return;
    }

    let clusterId = '';
    if (flags.rotate) {
      const sw = await this.client.swarmInspect();
      if (!sw.Spec.EncryptionConfig?.AutoLockManagers) {
        throw new CliError('cannot rotate because autolock is not turned on');
      }
      await this.client.swarmUpdate(sw.Version?.Index, sw.Spec, { rotateManagerUnlockKey: true });
      if (!flags.quiet) this.print('Successfully rotated manager unlock key.');
      clusterId = sw.ID;
    }
    let key: string;
    try {
      key = (await this.client.swarmUnlockKey()).UnlockKey;
    } catch (err) {
      throw new CliError(`could not fetch unlock key: ${(err as Error).message}`);
    }
    if (key === '') throw new CliError('no unlock key is set');
    if (flags.rotate && !flags['no-keychain'] && clusterId) this.updateStoredKey(clusterId, key, flags.quiet);
    if (flags.quiet) this.print(key);
    else this.write(unlockCommandText(key));
  }

  /** After a rotation: replaces a key stored for this swarm; stores nothing when none was. */
  private updateStoredKey(clusterId: string, key: string, quiet: boolean): void {
    const store = this.keychain();
    let stored: string | undefined;
    try {
      stored = store.get(clusterId);
    } catch (err) {
      if (!(err instanceof KeychainError)) throw err;
      this.printErr(`Keychain not available (${err.message}); a key stored there for this swarm was not updated.`);
      return;
    }
    if (stored === undefined || stored === key) return;
    try {
      store.set(clusterId, key);
    } catch (err) {
      if (!(err instanceof KeychainError)) throw err;
      this.printErr(`The unlock key stored in the keychain could not be updated: ${err.message}`);
      return;
    }
    if (!quiet) this.print('Updated the unlock key stored in the keychain.');
  }

  /** --forget: removes the key stored for the swarm this node belongs to (locked or not). */
  private async forget(quiet: boolean): Promise<void> {
    const info = await this.client.info();
    const state = info.Swarm?.LocalNodeState;
    if (state === undefined || state === 'inactive') throw new CliError('Error: This node is not part of a swarm');
    const clusterId = info.Swarm.Cluster?.ID ?? '';
    if (clusterId === '') throw new CliError("Error: the daemon did not report the swarm's cluster ID");
    let removed: boolean;
    try {
      removed = this.keychain().delete(clusterId);
    } catch (err) {
      if (!(err instanceof KeychainError)) throw err;
      throw new CliError(`Error: keychain not available: ${err.message}`);
    }
    if (quiet) return;
    this.print(
      removed
        ? 'Removed the unlock key stored in the keychain for this swarm.'
        : 'No unlock key is stored in the keychain for this swarm.',
    );
  }
}
