// The node's key file, <data root>/certificates/swarm-node.key, after swarmkit's ca/keyreadwriter.go.
//
// It holds the TLS private key as PKCS#8 PEM and, as PEM headers, the manager's Raft data
// encryption key (DEK): `raft-dek`, and `raft-dek-pending` while a rotation is under way.
// Without autolock both are stored as they are. With autolock the PEM is PKCS#8 PBES2
// (`ENCRYPTED PRIVATE KEY`, AES-256-CBC) under the unlock key (the KEK), and the DEK headers are
// sealed under it too, so a copy of the data root is useless without the key a person holds.
// `kek-version` records which cluster version the KEK came from, so a stale update is ignored.

import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './keys';
import type { PemPrivateKey } from './pem';
import { isSealed, open, seal, SealedBoxKeyError } from '../manager/encryption/sealed-box';

/** What the key file protects. */
export interface NodeKeyMaterial {
  /** The TLS private key, plaintext PKCS#8 PEM (in memory only). */
  keyPem: PemPrivateKey;
  /** The Raft DEK; managers only. */
  dek?: Buffer;
  /** The DEK that replaces `dek` once a rotation finishes. */
  pendingDek?: Buffer;
}

/** The key file is encrypted and the KEK given (or none) does not open it: the node stays locked. */
export class InvalidKEKError extends Error {
  constructor(readonly reason: string) {
    super(`node is locked, and needs a valid unlock key: ${reason}`);
    this.name = 'InvalidKEKError';
  }
}

const HEADER_DEK = 'raft-dek';
const HEADER_PENDING = 'raft-dek-pending';
const HEADER_KEK_VERSION = 'kek-version';

interface ParsedPem {
  headers: Map<string, string>;
  /** The PEM without its headers, which is what Node's crypto parses. */
  bare: string;
  encrypted: boolean;
}

function parsePem(text: string, path: string): ParsedPem {
  const lines = text.split(/\r?\n/);
  const begin = lines.findIndex((l) => l.startsWith('-----BEGIN '));
  if (begin < 0) throw new Error(`${path}: no PEM block`);
  const headers = new Map<string, string>();
  let i = begin + 1;
  if (lines[i]?.includes(':')) {
    for (; i < lines.length && lines[i] !== ''; i++) {
      const at = lines[i].indexOf(':');
      if (at < 0) throw new Error(`${path}: malformed PEM header`);
      headers.set(lines[i].slice(0, at).trim(), lines[i].slice(at + 1).trim());
    }
    i++; // the blank line that ends the headers
  }
  const bare = [lines[begin], ...lines.slice(i)].join('\n');
  return { headers, bare, encrypted: lines[begin].includes('ENCRYPTED') };
}

export class KeyReadWriter {
  /** Serialises writes: a KEK change and a DEK rotation must not interleave their rewrites. */
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Whether reading the file needs the unlock key. */
  async needsKEK(): Promise<boolean> {
    const p = parsePem(await readFile(this.path, 'utf8'), this.path);
    return (
      p.encrypted ||
      [HEADER_DEK, HEADER_PENDING].some((h) => p.headers.has(h) && isSealed(Buffer.from(p.headers.get(h)!, 'base64')))
    );
  }

  /** Reads and decrypts the key file. Throws InvalidKEKError if it is encrypted and `kek` does not open it. */
  async read(kek?: Buffer): Promise<{ material: NodeKeyMaterial; kekVersion: number }> {
    const p = parsePem(await readFile(this.path, 'utf8'), this.path);
    let keyPem: PemPrivateKey;
    if (p.encrypted) {
      if (!kek) throw new InvalidKEKError('the key is encrypted');
      try {
        keyPem = createPrivateKey({ key: p.bare, format: 'pem', passphrase: kek })
          .export({ type: 'pkcs8', format: 'pem' })
          .toString() as PemPrivateKey;
      } catch {
        throw new InvalidKEKError('the unlock key does not decrypt the node key');
      }
    } else {
      keyPem = p.bare as PemPrivateKey;
    }
    const header = (name: string): Buffer | undefined => {
      const v = p.headers.get(name);
      if (v === undefined) return undefined;
      try {
        return Buffer.from(open(Buffer.from(v, 'base64'), kek, name));
      } catch (err) {
        if (err instanceof SealedBoxKeyError) throw new InvalidKEKError(`the unlock key does not decrypt ${name}`);
        throw err;
      }
    };
    const material: NodeKeyMaterial = { keyPem, dek: header(HEADER_DEK), pendingDek: header(HEADER_PENDING) };
    if (material.pendingDek && !material.dek) throw new Error('there is a pending DEK, but no current DEK');
    return { material, kekVersion: Number(p.headers.get(HEADER_KEK_VERSION) ?? 0) };
  }

  /** Writes the key file atomically (0600), encrypted under `kek` when one is given. */
  write(material: NodeKeyMaterial, kek: Buffer | undefined, kekVersion: number): Promise<void> {
    const next = this.writing.then(() => this.doWrite(material, kek, kekVersion));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async doWrite(material: NodeKeyMaterial, kek: Buffer | undefined, kekVersion: number): Promise<void> {
    const key = createPrivateKey(material.keyPem);
    const pem = (
      kek
        ? key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: kek })
        : key.export({ type: 'pkcs8', format: 'pem' })
    ).toString();
    // Go's pem.Encode order: headers sorted by name, then a blank line.
    const headers: [string, string][] = [[HEADER_KEK_VERSION, String(kekVersion)]];
    if (material.dek) headers.push([HEADER_DEK, seal(material.dek, kek, HEADER_DEK).toString('base64')]);
    if (material.pendingDek)
      headers.push([HEADER_PENDING, seal(material.pendingDek, kek, HEADER_PENDING).toString('base64')]);
    headers.sort(([a], [b]) => (a < b ? -1 : 1));
    const lines = pem.trimEnd().split('\n');
    const text = [lines[0], ...headers.map(([k, v]) => `${k}: ${v}`), '', ...lines.slice(1)].join('\n') + '\n';
    await writeFileAtomic(this.path, text, 0o600);
  }
}
