// The OS keychain entry that holds a swarm's unlock key: `swarm unlock --save-to-keychain` writes
// it, later unlocks try it first, `swarm unlock-key --rotate` updates it and `--forget` removes it.
// One entry per swarm: service `shoal-unlock-key`, account = the cluster ID.
//
// @napi-rs/keyring is a native module (macOS Keychain, Windows Credential Manager, the Secret
// Service on Linux). It is required only inside openKeychain(), which only these commands call,
// so the CLI's start-up does not load it.
//
// On Linux the entry is pinned to the Secret Service (gnome-keyring, KWallet, KeePassXC…). The
// library's default would fall back to the kernel keyring, which is kept in memory only: the key
// would be gone after a reboot, which is when a locked manager needs it.
import type { EntryOptions } from '@napi-rs/keyring';

export const KEYCHAIN_SERVICE = 'shoal-unlock-key';

/** The keychain cannot be reached or refused an operation; `message` is one line. */
export class KeychainError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' ').trim());
    this.name = 'KeychainError';
  }
}

/** Stored unlock keys by cluster ID. Every method throws KeychainError when the keychain fails. */
export interface UnlockKeyStore {
  /** The stored key, or undefined when there is none. */
  get(clusterId: string): string | undefined;
  set(clusterId: string, key: string): void;
  /** Removes the stored key; false when there was none. */
  delete(clusterId: string): boolean;
}

type KeyringModule = typeof import('@napi-rs/keyring');
type KeyringEntry = InstanceType<KeyringModule['Entry']>;

/** The OS keychain. Loads the native module on first use. */
export function openKeychain(): UnlockKeyStore {
  let mod: KeyringModule | undefined;
  const entry = (clusterId: string): KeyringEntry => {
    if (!mod) {
      try {
        mod = require('@napi-rs/keyring') as KeyringModule;
      } catch (err) {
        throw new KeychainError(`the keychain module could not be loaded: ${(err as Error).message}`);
      }
    }
    const options: EntryOptions | undefined =
      process.platform === 'linux' ? { linux: { store: 'secret-service' } } : undefined;
    return new mod.Entry(KEYCHAIN_SERVICE, clusterId, options);
  };
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof KeychainError) throw err;
      throw new KeychainError((err as Error)?.message ?? String(err));
    }
  };
  return {
    get: (clusterId) => guard(() => entry(clusterId).getPassword() ?? undefined),
    set: (clusterId, key) => guard(() => entry(clusterId).setPassword(key)),
    delete: (clusterId) => guard(() => entry(clusterId).deletePassword()),
  };
}
