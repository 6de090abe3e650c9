import { AesGcmCipher, PlainCipher, type CipherName, type PayloadCipher } from './payload-cipher';

/**
 * The DEKs a log may be under: one to write with, and others still accepted for reading while a
 * key rotation is under way. A file's header names its key by ID, so the reader looks the key up
 * instead of trying each: a payload that fails to open under the named key is damaged, never "maybe
 * the other key".
 */
export class KeyRing {
  private readonly byId = new Map<string, PayloadCipher>();
  private current: PayloadCipher;

  constructor(
    readonly cipher: CipherName,
    deks: Buffer[],
  ) {
    if (cipher === 'none') {
      this.current = new PlainCipher();
      this.byId.set(this.current.keyIdHex, this.current);
      return;
    }
    if (deks.length === 0) throw new TypeError('an encrypted raft log needs at least one data encryption key');
    this.current = this.add(deks[0]);
    for (const d of deks.slice(1)) this.add(d);
  }

  /** The cipher new files are written under. */
  get writer(): PayloadCipher {
    return this.current;
  }

  find(keyIdHex: string): PayloadCipher | undefined {
    return this.byId.get(keyIdHex);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** Accepts `dek` for reading and returns its cipher; the writer is unchanged. */
  add(dek: Buffer): PayloadCipher {
    const c = new AesGcmCipher(dek);
    const known = this.byId.get(c.keyIdHex);
    if (known) return known;
    this.byId.set(c.keyIdHex, c);
    return c;
  }

  useForWriting(c: PayloadCipher): void {
    this.current = c;
  }

  /** Forgets every key but the writer's: after a rotation, nothing on disk is under them any more. */
  forgetOthers(): void {
    for (const id of [...this.byId.keys()]) if (id !== this.current.keyIdHex) this.byId.delete(id);
  }
}
