import { randomBytes } from 'node:crypto';

/**
 * A new object ID: 128 random bits written in base36 and zero-padded to 25 characters,
 * which is the form swarmkit's identity.NewID gives and the docker CLI truncates to 12.
 */
export function newId(): string {
  const n = BigInt('0x' + randomBytes(16).toString('hex'));
  return n.toString(36).padStart(25, '0');
}
