// A minimal DER reader, just enough to lift fields out of a certificate byte-for-byte.
// Re-serialising a parsed Name (as ASN.1 libraries do) can change string types; Go compares
// issuer and subject as raw bytes and Docker reports them raw in TLSInfo, so the original bytes matter.

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the element. */
  end: number;
}

function readTlv(buf: Buffer, offset: number): Tlv {
  if (offset + 2 > buf.length) throw new Error('truncated DER');
  const tag = buf[offset];
  let len = buf[offset + 1];
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + n > buf.length) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i];
    pos += n;
  }
  if (pos + len > buf.length) throw new Error('truncated DER');
  return { tag, start: offset, contentStart: pos, end: pos + len };
}

const SEQUENCE = 0x30;
const CONTEXT_0 = 0xa0;

/** The raw DER (tag and length included) of the TBSCertificate fields that identify issuer and subject. */
export interface RawCertificateFields {
  issuer: Buffer;
  subject: Buffer;
  subjectPublicKeyInfo: Buffer;
}

export function rawCertificateFields(der: Buffer): RawCertificateFields {
  const cert = readTlv(der, 0);
  if (cert.tag !== SEQUENCE) throw new Error('certificate is not a DER SEQUENCE');
  const tbs = readTlv(der, cert.contentStart);
  if (tbs.tag !== SEQUENCE) throw new Error('TBSCertificate is not a DER SEQUENCE');
  const fields: Tlv[] = [];
  for (let pos = tbs.contentStart; pos < tbs.end;) {
    const f = readTlv(der, pos);
    fields.push(f);
    pos = f.end;
  }
  // version [0] is optional (absent means v1); after it: serial, signature, issuer, validity, subject, spki.
  const base = fields[0]?.tag === CONTEXT_0 ? 1 : 0;
  const pick = (i: number): Buffer => {
    const f = fields[base + i];
    if (!f || f.tag !== SEQUENCE) throw new Error('malformed TBSCertificate');
    return Buffer.from(der.subarray(f.start, f.end));
  };
  return { issuer: pick(2), subject: pick(4), subjectPublicKeyInfo: pick(5) };
}
