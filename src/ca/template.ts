import { randomBytes } from 'node:crypto';

// The choices cfssl's signer.FillTemplate makes for every certificate swarmkit issues.

/**
 * A random certificate serial as hex: 20 bytes (the RFC 5280 maximum) with the top bit clear so the
 * DER INTEGER stays positive without a pad byte, and never zero.
 */
export function randomSerialHex(): string {
  const b = randomBytes(20);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

/**
 * Validity as FillTemplate computes it: NotBefore = now rounded to the nearest minute (Go's
 * time.Round(time.Minute)) minus the backdate, NotAfter = NotBefore + expiry.
 */
export function validity(now: Date, backdateMs: number, expiryMs: number): { notBefore: Date; notAfter: Date } {
  const notBefore = Math.round(now.getTime() / 60_000) * 60_000 - backdateMs;
  return { notBefore: new Date(notBefore), notAfter: new Date(notBefore + expiryMs) };
}
