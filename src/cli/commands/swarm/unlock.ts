// `swarm unlock`: docker's command (check /info, read the key, POST /swarm/unlock), plus the OS
// keychain: a key stored for this swarm is tried first, and --save-to-keychain stores the key
// that worked. The key is read from a masked prompt on a terminal, else one line from stdin;
// it is never printed.
import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, toOclifFlags } from '../../flags/define';
import { FlagError } from '../../flags/parse';
import { KeychainError, openKeychain, type UnlockKeyStore } from '../../swarm/keychain';
import { readKey, type KeyInput } from '../../swarm/read-key';
import { DaemonError } from '../../../client/api-client';

const FLAGS = {
  'save-to-keychain': bool('Store the key in the OS keychain for this swarm after a successful unlock'),
  'no-keychain': bool('Do not use the OS keychain (no stored key is tried, none is saved)'),
};

/** 401 wrong key, 400 not a key at all: a stored key that gets one of these is stale. */
const isRejectedKey = (err: unknown): err is DaemonError =>
  err instanceof DaemonError && (err.statusCode === 401 || err.statusCode === 400);

export default class SwarmUnlock extends BaseCommand {
  static override summary = 'Unlock swarm';
  static override description =
    'Unlock swarm. A key stored in the OS keychain for this swarm is tried first; otherwise the key is asked for ' +
    'on a terminal, or read as one line from stdin (echo "$KEY" | shoal swarm unlock).';
  static override usage = 'swarm unlock [OPTIONS]';
  static override flags = toOclifFlags(FLAGS);

  /** Where the key is read from; tests replace it. */
  stdin: KeyInput = process.stdin;
  /** The keychain; tests replace it. Opening it does not load the native module yet. */
  keychain: () => UnlockKeyStore = openKeychain;

  async run(): Promise<void> {
    const { flags } = this.parse(FLAGS, { max: 0 });
    const save = flags['save-to-keychain'];
    const useKeychain = !flags['no-keychain'];
    if (save && !useKeychain) {
      throw new FlagError(
        'if any flags in the group [no-keychain save-to-keychain] are set none of the others can be; [no-keychain save-to-keychain] were all set',
      );
    }

    const info = await this.client.info();
    switch (info.Swarm?.LocalNodeState) {
      case 'inactive':
        throw new CliError('Error: This node is not part of a swarm');
      case 'locked':
        break;
      default:
        throw new CliError('Error: swarm is not locked');
    }

    // shoal reports the cluster ID of a locked node (from its certificate); docker does not, and
    // then there is no keychain entry to look for.
    const clusterId = info.Swarm.Cluster?.ID ?? '';
    const fallback = this.stdin.isTTY ? 'asking for the unlock key' : 'reading the unlock key from stdin';
    let store: UnlockKeyStore | undefined;
    if (useKeychain && clusterId !== '') {
      store = this.keychain();
      let stored: string | undefined;
      try {
        stored = store.get(clusterId);
      } catch (err) {
        if (!(err instanceof KeychainError)) throw err;
        this.printErr(`Keychain not available (${err.message}); ${fallback}.`);
      }
      if (stored !== undefined) {
        try {
          await this.client.swarmUnlock(stored);
          return; // already stored: --save-to-keychain has nothing to do
        } catch (err) {
          if (!isRejectedKey(err)) throw err;
          // kept: it may still open another manager of this swarm that missed a rotation
          this.printErr(`The unlock key stored in the keychain was rejected (${err.daemonMessage}); ${fallback}.`);
        }
      }
    }

    const key = await readKey(this.stdin);
    await this.client.swarmUnlock(key);

    if (save) {
      const failed = (why: string): CliError =>
        new CliError(`Error: the swarm is unlocked, but the key was not saved to the keychain: ${why}`);
      if (clusterId === '') throw failed("the daemon did not report the swarm's cluster ID");
      try {
        (store ?? this.keychain()).set(clusterId, key);
      } catch (err) {
        if (!(err instanceof KeychainError)) throw err;
        throw failed(err.message);
      }
    }
  }
}
