// An in-memory UnlockKeyStore for in-process command tests: records every call, and can play a
// keychain that cannot be reached.
import { KeychainError, type UnlockKeyStore } from '../../../src/cli/swarm/keychain';

export class MemoryKeychain implements UnlockKeyStore {
  readonly entries = new Map<string, string>();
  /** "get acct", "set acct", "delete acct", in order. */
  readonly calls: string[] = [];
  /** When set, every call throws KeychainError with this text. */
  unavailable?: string;
  /** When set, only `set` throws KeychainError with this text. */
  refuseSet?: string;

  get(clusterId: string): string | undefined {
    this.calls.push(`get ${clusterId}`);
    this.check();
    return this.entries.get(clusterId);
  }

  set(clusterId: string, key: string): void {
    this.calls.push(`set ${clusterId}`);
    this.check();
    if (this.refuseSet !== undefined) throw new KeychainError(this.refuseSet);
    this.entries.set(clusterId, key);
  }

  delete(clusterId: string): boolean {
    this.calls.push(`delete ${clusterId}`);
    this.check();
    return this.entries.delete(clusterId);
  }

  private check(): void {
    if (this.unavailable !== undefined) throw new KeychainError(this.unavailable);
  }
}

/** A keychain factory that fails the test if the command opens the keychain at all. */
export function noKeychain(): UnlockKeyStore {
  throw new Error('the command opened the keychain');
}
