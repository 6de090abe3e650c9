// The manager unlock key (the key-encryption key, KEK), in swarmkit's human-readable form:
// "SWMKEY-1-" + base64 (standard alphabet, no padding) of 32 random bytes
// (manager/encryption/encryption.go HumanReadableKey / ParseHumanReadableKey).

import { randomBytes } from 'node:crypto';

export const UNLOCK_KEY_PREFIX = 'SWMKEY-1-';

/** A 32-byte secret key, as swarmkit's GenerateSecretKey. */
export function generateSecretKey(): Buffer {
  return randomBytes(32);
}

export function humanReadableKey(raw: Buffer): string {
  return UNLOCK_KEY_PREFIX + raw.toString('base64').replace(/=+$/, '');
}

/** A fresh unlock key, human-readable. */
export function generateUnlockKey(): string {
  return humanReadableKey(generateSecretKey());
}

export class InvalidKeyStringError extends Error {
  constructor() {
    super('invalid key string');
    this.name = 'InvalidKeyStringError';
  }
}

/**
 * The raw key of a human-readable one. Like Go's base64.RawStdEncoding it refuses padding and any
 * character outside the standard alphabet, and (like swarmkit) checks no length.
 */
export function parseUnlockKey(text: string): Buffer {
  if (!text.startsWith(UNLOCK_KEY_PREFIX)) throw new InvalidKeyStringError();
  const b64 = text.slice(UNLOCK_KEY_PREFIX.length);
  if (b64.length === 0 || b64.length % 4 === 1 || !/^[A-Za-z0-9+/]*$/.test(b64)) throw new InvalidKeyStringError();
  return Buffer.from(b64, 'base64');
}
