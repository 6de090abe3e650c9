// The manager's Raft data encryption key (DEK) and the unlock key (KEK) that may protect it,
// after swarmkit's manager/deks.go (RaftDEKManager) and its KEK updates (manager.go updateKEK).
//
// The DEK encrypts the log on disk. It lives in the node's key file, sealed under the KEK when
// autolock is on. When the cluster's unlock key changes, every manager rewrites its key file
// under the new KEK. Turning autolock on also rotates the DEK: until then the DEK sat on disk
// in the clear, so everything written under it must be rewritten under a fresh one and the
// old files removed; the fresh DEK is recorded as pending before it is used, so a crash at any
// point leaves a key file that opens every file on disk.

import { InvalidKEKError, KeyReadWriter, type NodeKeyMaterial } from '../ca/key-read-writer';
import type { PemPrivateKey } from '../ca/pem';
import { generateSecretKey, parseUnlockKey } from './encryption/unlock-key';

/** Rewrites the whole log under `dek` (a snapshot under it, then the old files removed). */
export type Rekey = (dek: Buffer) => Promise<void>;

export class ManagerKeys {
  private constructor(
    private readonly krw: KeyReadWriter,
    private material: NodeKeyMaterial,
    /** The KEK the key file is written under now; undefined when autolock is off. */
    private kek: Buffer | undefined,
    private kekVersion: number,
  ) {}

  /** Opens the key file; throws InvalidKEKError while it is locked and `kek` does not open it. */
  static async load(krw: KeyReadWriter, kek?: Buffer): Promise<ManagerKeys> {
    const { material, kekVersion } = await krw.read(kek);
    if (!material.dek) throw new Error(`${krw.path}: no raft-dek header: this node's key file has no Raft key`);
    // A KEK that opened nothing encrypted is not the file's KEK: remember none.
    const usedKek = (await krw.needsKEK()) ? kek : undefined;
    return new ManagerKeys(krw, material, usedKek, kekVersion);
  }

  /** Writes a new manager's key file: its TLS key and a fresh DEK, under `kek` if autolock is on. */
  static async create(krw: KeyReadWriter, keyPem: PemPrivateKey, kek: Buffer | undefined): Promise<ManagerKeys> {
    const material: NodeKeyMaterial = { keyPem, dek: generateSecretKey() };
    await krw.write(material, kek, 0);
    return new ManagerKeys(krw, material, kek, 0);
  }

  /** The unlock key the file was opened with, to open it again (a restart of the manager in the same process). */
  get kekBytes(): Buffer | undefined {
    return this.kek;
  }

  /** Whether the key file is written under an unlock key (autolock on). */
  get locked(): boolean {
    return !!this.kek;
  }

  get keyPem(): PemPrivateKey {
    return this.material.keyPem;
  }

  /** The DEK for new writes: the pending one while a rotation is under way. */
  get writeDek(): Buffer {
    return this.material.pendingDek ?? this.material.dek!;
  }

  /** Every DEK the files on disk may be under, the one for new writes first. */
  get readDeks(): Buffer[] {
    return [this.material.pendingDek, this.material.dek].filter((k): k is Buffer => !!k);
  }

  get rotationPending(): boolean {
    return !!this.material.pendingDek;
  }

  /** Finishes a rotation a crash interrupted: rewrites the log under the pending DEK, then forgets the old one. */
  async finishRotation(rekey: Rekey): Promise<void> {
    const pending = this.material.pendingDek;
    if (!pending) return;
    await rekey(pending);
    this.material = { keyPem: this.material.keyPem, dek: pending };
    await this.krw.write(this.material, this.kek, this.kekVersion);
  }

  /**
   * Brings the key file in line with the cluster's unlock key ('' = autolock off), as of cluster
   * version `version`. Unlocked → locked rotates the DEK; other changes re-encrypt the file only.
   */
  async applyUnlockKey(unlockKey: string, version: number, rekey: Rekey): Promise<void> {
    const kek = unlockKey ? parseUnlockKey(unlockKey) : undefined;
    if (sameKey(kek, this.kek)) return;
    const locking = !this.kek && !!kek;
    this.kek = kek;
    this.kekVersion = version;
    if (!locking) {
      await this.krw.write(this.material, kek, version);
      return;
    }
    // The pending DEK is on disk (sealed under the new KEK) before anything is written under it.
    this.material = { ...this.material, pendingDek: generateSecretKey() };
    await this.krw.write(this.material, kek, version);
    await this.finishRotation(rekey);
  }

  /** Replaces the TLS key (after a certificate renewal), keeping the DEKs and the KEK. */
  async replaceTLSKey(keyPem: PemPrivateKey): Promise<void> {
    this.material = { ...this.material, keyPem };
    await this.krw.write(this.material, this.kek, this.kekVersion);
  }
}

function sameKey(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

export { InvalidKEKError };
