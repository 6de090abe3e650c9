// Small authenticated ciphertexts for key material (the DEK under the KEK), with AES-256-GCM.
//
// Layout: 1 byte algorithm, then for AES-256-GCM a 12-byte nonce, the 16-byte tag and the
// ciphertext. Algorithm 0 is "none": the plaintext follows as it is, which is how an unlocked
// node keeps its DEK (as swarmkit's NoopCrypter; the issue and Docker keep it unencrypted then).

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALG_NONE = 0;
const ALG_AES_256_GCM = 1;
const NONCE = 12;
const TAG = 16;

/** The key cannot open the box: it is the wrong key, or the box was altered. */
export class SealedBoxKeyError extends Error {
  constructor(message = 'cannot decrypt: wrong key or altered data') {
    super(message);
    this.name = 'SealedBoxKeyError';
  }
}

export function seal(plaintext: Buffer, key: Buffer | undefined, label: string): Buffer {
  if (!key) return Buffer.concat([Buffer.of(ALG_NONE), plaintext]);
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  // The label binds the box to its purpose, so a box cannot be moved to another header unnoticed.
  c.setAAD(Buffer.from(label));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.of(ALG_AES_256_GCM), nonce, c.getAuthTag(), ct]);
}

export function isSealed(box: Buffer): boolean {
  return box.length > 0 && box[0] !== ALG_NONE;
}

/** Opens a box; a sealed one needs `key`, and a wrong key or altered box throws SealedBoxKeyError. */
export function open(box: Buffer, key: Buffer | undefined, label: string): Buffer {
  if (box.length === 0) throw new Error('empty key record');
  if (box[0] === ALG_NONE) return box.subarray(1);
  if (box[0] !== ALG_AES_256_GCM) throw new Error(`unknown key record algorithm ${box[0]}`);
  if (!key) throw new SealedBoxKeyError('the key record is encrypted and no key was given');
  if (box.length < 1 + NONCE + TAG) throw new SealedBoxKeyError('key record is too short');
  const d = createDecipheriv('aes-256-gcm', key, box.subarray(1, 1 + NONCE));
  d.setAAD(Buffer.from(label));
  d.setAuthTag(box.subarray(1 + NONCE, 1 + NONCE + TAG));
  try {
    return Buffer.concat([d.update(box.subarray(1 + NONCE + TAG)), d.final()]);
  } catch {
    throw new SealedBoxKeyError();
  }
}
