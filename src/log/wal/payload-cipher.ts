// How a record's or snapshot's payload is sealed. The plain framing around it (index, term,
// lengths, the file header) is passed in as additional data, so it is authenticated too: a
// record cannot be renumbered, moved to another index or cut short without failing to open.

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { crc32 } from './checksum';

/** 'none' exists only for the WAL benchmark, to show what encryption costs; a swarm never uses it. */
export type CipherName = 'aes-256-gcm' | 'none';

/** The cipher's code in file headers. */
export const CIPHER_CODES: Readonly<Record<CipherName, number>> = { none: 0, 'aes-256-gcm': 1 };

export function cipherNameOf(code: number): CipherName | undefined {
  return (Object.keys(CIPHER_CODES) as CipherName[]).find((n) => CIPHER_CODES[n] === code);
}

export const DEK_BYTES = 32;
export const KEY_ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
// A label keeps the key ID from being the hash of the bare key, should that hash be used elsewhere.
const KEY_ID_LABEL = 'shoal raft data encryption key id v1\0';

/** Names a DEK in file headers without revealing it: the first 8 bytes of SHA-256(label ‖ DEK). */
export function keyIdOf(dek: Buffer): Buffer {
  return createHash('sha256').update(KEY_ID_LABEL).update(dek).digest().subarray(0, KEY_ID_BYTES);
}

export interface PayloadCipher {
  readonly name: CipherName;
  /** KEY_ID_BYTES naming the key; zeros for 'none'. */
  readonly keyId: Buffer;
  readonly keyIdHex: string;
  /** Sealed length minus plain length. */
  readonly overhead: number;
  /** Writes the sealed form of `data` (data.length + overhead bytes) into `out` at `at`. */
  sealInto(aad: Buffer, data: Buffer, out: Buffer, at: number): void;
  /** The plain payload, or undefined when `body` or `aad` is not what was sealed. */
  open(aad: Buffer, body: Buffer): Buffer | undefined;
}

/**
 * Random nonces, drawn in bulk: one call for 12 random bytes costs about as much as sealing a
 * kilobyte, so a batch of small entries would spend half its time there. Every byte of the pool
 * is handed out once, so the nonces are as random and as unique as one call each.
 */
class NoncePool {
  private pool = Buffer.alloc(0);
  private used = 0;

  take(out: Buffer, at: number): void {
    if (this.used + NONCE_BYTES > this.pool.length) {
      this.pool = randomBytes(NONCE_BYTES * 256);
      this.used = 0;
    }
    this.pool.copy(out, at, this.used, this.used + NONCE_BYTES);
    this.used += NONCE_BYTES;
  }
}

/** AES-256-GCM with a fresh random nonce per payload, stored in front of the ciphertext, the tag after it. */
export class AesGcmCipher implements PayloadCipher {
  readonly name = 'aes-256-gcm';
  readonly overhead = NONCE_BYTES + TAG_BYTES;
  readonly keyId: Buffer;
  readonly keyIdHex: string;
  private readonly key: KeyObject;
  private readonly nonces = new NoncePool();

  constructor(dek: Buffer) {
    if (dek.length !== DEK_BYTES)
      throw new RangeError(`a data encryption key is ${DEK_BYTES} bytes, not ${dek.length}`);
    this.key = createSecretKey(Buffer.from(dek));
    this.keyId = keyIdOf(dek);
    this.keyIdHex = this.keyId.toString('hex');
  }

  sealInto(aad: Buffer, data: Buffer, out: Buffer, at: number): void {
    this.nonces.take(out, at);
    const nonce = out.subarray(at, at + NONCE_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES });
    c.setAAD(aad);
    const head = c.update(data);
    const tail = c.final();
    head.copy(out, at + NONCE_BYTES);
    tail.copy(out, at + NONCE_BYTES + head.length);
    c.getAuthTag().copy(out, at + NONCE_BYTES + data.length);
  }

  open(aad: Buffer, body: Buffer): Buffer | undefined {
    if (body.length < this.overhead) return undefined;
    const d = createDecipheriv('aes-256-gcm', this.key, body.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const head = d.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES));
    try {
      const tail = d.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return undefined;
    }
  }
}

/**
 * Bench only: the payload in the clear with a CRC-32 over framing and payload after it, so the
 * benchmark compares encryption against the cheapest integrity check rather than against none.
 */
export class PlainCipher implements PayloadCipher {
  readonly name = 'none';
  readonly overhead = 4;
  readonly keyId = Buffer.alloc(KEY_ID_BYTES);
  readonly keyIdHex = this.keyId.toString('hex');

  sealInto(aad: Buffer, data: Buffer, out: Buffer, at: number): void {
    data.copy(out, at);
    out.writeUInt32BE(crc32(data, crc32(aad)), at + data.length);
  }

  open(aad: Buffer, body: Buffer): Buffer | undefined {
    if (body.length < this.overhead) return undefined;
    const data = body.subarray(0, body.length - 4);
    // A copy, so that an entry does not keep its whole file in memory.
    return crc32(data, crc32(aad)) === body.readUInt32BE(body.length - 4) ? Buffer.from(data) : undefined;
  }
}
