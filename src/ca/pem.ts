/** A PEM `CERTIFICATE` block, or a bundle of them (the root CA may be a bundle during rotation). */
export type PemCertificate = string;
/** A PEM `PRIVATE KEY` block (PKCS#8), the form swarmkit writes node keys in. */
export type PemPrivateKey = string;
/** A PEM `PUBLIC KEY` block (SubjectPublicKeyInfo). */
export type PemPublicKey = string;
/** A PEM `CERTIFICATE REQUEST` block (PKCS#10). */
export type PemCertificateRequest = string;

/** Standard PEM: 64-character base64 lines, LF line ends, trailing newline (what Go's pem.Encode writes). */
export function encodePem(label: string, der: Uint8Array | ArrayBuffer): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER contents of every `label` block in `pem`, in order. Other blocks and text between them are skipped. */
export function decodePemBlocks(pem: string, label: string): Buffer[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  const out: Buffer[] = [];
  for (const m of pem.matchAll(re)) {
    if (m[1] === label) out.push(Buffer.from(m[2].replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

/** The DER of the single `label` block expected in `pem`; throws if there is none. */
export function decodePem(pem: string, label: string): Buffer {
  const [first] = decodePemBlocks(pem, label);
  if (!first) throw new Error(`no PEM ${label} block found`);
  return first;
}

/** Each certificate of a bundle as its own PEM, re-encoded in standard form. */
export function splitCertificateBundle(pem: PemCertificate): PemCertificate[] {
  return decodePemBlocks(pem, 'CERTIFICATE').map((der) => encodePem('CERTIFICATE', der));
}
