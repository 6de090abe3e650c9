import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PemCertificate } from './pem';

/** `SWMTKN-1-<root digest, base36, 50 chars>-<secret, base36, 25 chars>` (swarmkit ca/config.go). */
export type JoinToken = string;

export interface ParsedJoinToken {
  /** 64 lowercase hex chars: SHA-256 of the root CA bundle the token pins. */
  rootDigestHex: string;
  /** The 25-char base36 secret. */
  secret: string;
  /** True for the v2 `SWMTKN-2-1-…` form, which FIPS-mandatory clusters issue. */
  fips: boolean;
}

const DIGEST_LEN = 50; // base36DigestLen
const SECRET_LEN = 25; // maxGeneratedSecretLength
const SECRET_BYTES = 16; // generatedSecretEntropyBytes
const BASE36 = /^[0-9a-z]+$/;

function toBase36(bytes: Buffer, width: number): string {
  return BigInt('0x' + bytes.toString('hex'))
    .toString(36)
    .padStart(width, '0');
}

function fromBase36(s: string): bigint {
  let n = 0n;
  for (const c of s) n = n * 36n + BigInt(parseInt(c, 36));
  return n;
}

function rootDigestBytes(rootCertPem: PemCertificate | Uint8Array): Buffer {
  // Over the exact stored bytes (trailing newline included), not a re-encoding: a joining node hashes what
  // the manager sends it, which is the stored PEM verbatim.
  return createHash('sha256').update(rootCertPem).digest();
}

/** A new join token pinning `rootCertPem`; `fips` gives the v2 form. */
export function generateJoinToken(rootCertPem: PemCertificate | Uint8Array, opts: { fips?: boolean } = {}): JoinToken {
  const digest = toBase36(rootDigestBytes(rootCertPem), DIGEST_LEN);
  const secret = toBase36(randomBytes(SECRET_BYTES), SECRET_LEN);
  return opts.fips ? `SWMTKN-2-1-${digest}-${secret}` : `SWMTKN-1-${digest}-${secret}`;
}

/** Splits a token as swarmkit's ParseJoinToken does; any deviation is `invalid join token`. */
export function parseJoinToken(token: string): ParsedJoinToken {
  const invalid = (): Error => new Error('invalid join token');
  const parts = token.split('-');
  if (parts[0] !== 'SWMTKN') throw invalid();
  let fips: boolean;
  let rest: string[];
  if (parts[1] === '1' && parts.length === 4) {
    fips = false;
    rest = parts.slice(2);
  } else if (parts[1] === '2' && parts.length === 5 && (parts[2] === '0' || parts[2] === '1')) {
    fips = parts[2] === '1';
    rest = parts.slice(3);
  } else {
    throw invalid();
  }
  const [digest, secret] = rest;
  // swarmkit checks only the lengths here; bad digits or a value wider than 256 bits (50 base36 digits can
  // reach 259) fail later in its digest.Parse. Rejecting them here keeps a single error message.
  if (digest.length !== DIGEST_LEN || secret.length !== SECRET_LEN) throw invalid();
  if (!BASE36.test(digest) || !BASE36.test(secret)) throw invalid();
  const hex = fromBase36(digest).toString(16);
  if (hex.length > 64) throw invalid();
  return { rootDigestHex: hex.padStart(64, '0'), secret, fips };
}

/** `sha256:<hex>`, the form of Cluster.RootCA.CACertHash and of the pinning error message. */
export function rootCADigest(rootCertPem: PemCertificate | Uint8Array): string {
  return `sha256:${rootDigestBytes(rootCertPem).toString('hex')}`;
}

/** Whether `rootCertPem` is the root a parsed token pins (the joining node's check before trusting it). */
export function joinTokenPinsRoot(token: ParsedJoinToken, rootCertPem: PemCertificate | Uint8Array): boolean {
  return timingSafeEqual(Buffer.from(token.rootDigestHex, 'hex'), rootDigestBytes(rootCertPem));
}

/**
 * Constant-time comparison of a presented token against a cluster's token, as swarmkit does with
 * subtle.ConstantTimeCompare on the whole string. Both sides are hashed first so that inputs of different
 * lengths take the same path (timingSafeEqual throws on a length mismatch). An empty expected token never
 * matches: a cluster without a token must not admit an empty one.
 */
export function joinTokenMatches(given: string, expected: string): boolean {
  if (expected.length === 0) return false;
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
