import { createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { encodePem, type PemPrivateKey, type PemPublicKey } from './pem';

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** swarmkit's node and root keys: cfssl's default key request, ECDSA P-256. */
export const NODE_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A signature algorithm as WebCrypto takes it: ECDSA names its hash per call, RSA binds it into the key. */
export type SigningAlgorithm =
  { name: 'ECDSA'; hash: 'SHA-256' | 'SHA-384' | 'SHA-512' } | { name: 'RSASSA-PKCS1-v1_5' };

/** A fresh extractable ECDSA P-256 key pair (extractable so it can be written to disk as PKCS#8). */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(NODE_KEY_ALGORITHM, true, ['sign', 'verify']);
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<PemPrivateKey> {
  return encodePem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

export async function exportPublicKeyPem(key: CryptoKey): Promise<PemPublicKey> {
  return encodePem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', key));
}

const EC_CURVES: Record<string, { namedCurve: 'P-256' | 'P-384' | 'P-521'; hash: 'SHA-256' | 'SHA-384' | 'SHA-512' }> =
  {
    // The hash follows the curve size, as cfssl's signer.DefaultSigAlgo picks it.
    prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
    secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
    secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
  };

/** RSA hash by modulus size, again as cfssl's DefaultSigAlgo. */
function rsaHash(bits: number): 'SHA-256' | 'SHA-384' | 'SHA-512' {
  if (bits < 3072) return 'SHA-256';
  if (bits < 4096) return 'SHA-384';
  return 'SHA-512';
}

/**
 * Checks a key is one swarmkit accepts for signing (ECDSA P-256/384/521 or RSA of at least 2048 bits,
 * per ca/certificates.go ensureCertKeyMatch) and says how WebCrypto should import and use it.
 */
function describeKey(k: KeyObject): {
  importAlg: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  sign: SigningAlgorithm;
} {
  const d = k.asymmetricKeyDetails ?? {};
  if (k.asymmetricKeyType === 'ec') {
    const c = EC_CURVES[d.namedCurve ?? ''];
    if (!c) throw new Error(`unsupported ECDSA curve: ${d.namedCurve}`);
    return { importAlg: { name: 'ECDSA', namedCurve: c.namedCurve }, sign: { name: 'ECDSA', hash: c.hash } };
  }
  if (k.asymmetricKeyType === 'rsa') {
    const bits = d.modulusLength ?? 0;
    if (bits < 2048) throw new Error(`unsupported RSA key size: ${bits}`);
    return {
      importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: rsaHash(bits) },
      sign: { name: 'RSASSA-PKCS1-v1_5' },
    };
  }
  throw new Error(`unsupported key type: ${k.asymmetricKeyType}`);
}

/** A private key ready to sign with, plus the algorithm to sign with. */
export interface SigningKey {
  key: CryptoKey;
  algorithm: SigningAlgorithm;
  /** DER SubjectPublicKeyInfo of the matching public key, to check it against a certificate. */
  publicKeyDer: Buffer;
}

/**
 * Imports a private key for signing. Accepts PKCS#8 as well as the older SEC1 (`EC PRIVATE KEY`) and
 * PKCS#1 (`RSA PRIVATE KEY`) PEMs, since an operator-supplied CA key may be in either.
 */
export async function importSigningKey(pem: PemPrivateKey): Promise<SigningKey> {
  const k = createPrivateKey(pem);
  const { importAlg, sign } = describeKey(k);
  const pkcs8 = k.export({ type: 'pkcs8', format: 'der' });
  // Not extractable: the signer never needs to write the key back out.
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, importAlg, false, ['sign']);
  const publicKeyDer = createPublicKey(k).export({ type: 'spki', format: 'der' });
  return { key, algorithm: sign, publicKeyDer };
}

/** Imports an SPKI PEM public key (ECDSA or RSA, same limits as signing keys). */
export async function importPublicKeyPem(pem: PemPublicKey): Promise<CryptoKey> {
  const k = createPublicKey(pem);
  const { importAlg } = describeKey(k);
  return webcrypto.subtle.importKey('spki', k.export({ type: 'spki', format: 'der' }), importAlg, true, ['verify']);
}

/**
 * Writes `data` to `path` so that a reader sees either the old file or the whole new one, never a torn
 * write: temp file in the same directory (so rename stays on one filesystem), fsync, rename, then fsync
 * the directory so the rename itself survives a crash.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx' refuses to follow a planted file or symlink at the temp name; the mode applies from creation on,
  // so the content is never readable by others even for an instant.
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    // The umask may have narrowed the creation mode; chmod makes it exact.
    await fh.chmod(mode);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the file itself is already durable.
  }
}

/** Writes a private key readable by the owner only (0600), atomically. */
export async function writeKeyFile(path: string, pem: PemPrivateKey): Promise<void> {
  await writeFileAtomic(path, pem, 0o600);
}
