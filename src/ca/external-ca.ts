// Signing through an external CA, after swarmkit's ca/external.go: cfssl's sign API over HTTPS, the manager
// authenticating with its own node certificate and verifying the signer against the swarm's roots. The URLs are
// tried in order, 5 s each; the first certificate that passes the checks below wins.
import { X509Certificate as NodeX509Certificate, createPublicKey } from 'node:crypto';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ExternalCA } from '../types/swarm';
import { parseNodeCertificate, verifyChain } from './certificate-info';
import { rawCertificateFields } from './der';
import { MANAGER_ROLE, publicKeyFromCSR, type NodeIdentity } from './node-cert';
import { importPublicKeyPem, importSigningKey } from './keys';
import { decodePemBlocks, encodePem, type PemCertificate, type PemCertificateRequest } from './pem';
import { x509 } from './x509';
import { ROOT_CA_CN } from './root-ca';
import { TLS_PROTOCOL_OPTIONS, type NodeCredentials } from '../transport/tls-config';

/** swarmkit's ExternalRequestTimeout. */
export const EXTERNAL_CA_TIMEOUT_MS = 5000;
/** swarmkit's CertificateMaxSize: the most of a response that is read. */
export const CERTIFICATE_MAX_SIZE = 256 * 1024;

/**
 * Why an external CA gave no certificate. Recoverable failures (unreachable, timeout, non-200) leave the request
 * pending, to be tried again; the others (the CA refused, or answered with a certificate that is not the one
 * asked for) fail it.
 */
export class ExternalCAError extends Error {
  constructor(
    message: string,
    readonly recoverable: boolean,
  ) {
    super(message);
  }
}

/** swarmkit's ErrNoExternalCAURLs: no configured external CA is for the certificate that must sign. */
export const MSG_NO_EXTERNAL_CA_URLS = 'no external CA URLs';

/** The cfssl sign request swarmkit sends (cfssl signer.SignRequest, as PrepareCSR fills it). */
export interface CfsslSignRequest {
  hosts: string[];
  certificate_request: PemCertificateRequest;
  subject: { CN: string; names: { O: string; OU: string }[]; SerialNumber: string };
  profile: string;
  crl_override: string;
  label: string;
  NotBefore: string;
  NotAfter: string;
  ReturnPrecert: boolean;
  metadata: null;
}

export function cfsslSignRequest(csrPem: PemCertificateRequest, id: NodeIdentity): CfsslSignRequest {
  const hosts = [id.role, id.nodeId];
  if (id.role === MANAGER_ROLE) hosts.push(ROOT_CA_CN);
  return {
    hosts,
    certificate_request: csrPem,
    subject: { CN: id.nodeId, names: [{ O: id.clusterId, OU: id.role }], SerialNumber: '' },
    profile: '',
    crl_override: '',
    label: '',
    NotBefore: '0001-01-01T00:00:00Z',
    NotAfter: '0001-01-01T00:00:00Z',
    ReturnPrecert: false,
    metadata: null,
  };
}

/** The external CAs configured for `issuerCertPem` (an entry without CACert is for `currentRootPem`). */
export function externalCAsFor(cas: ExternalCA[] | undefined, issuerCertPem: string, currentRootPem: string) {
  const norm = (p: string) => decodePemBlocks(p, 'CERTIFICATE').map((d) => d.toString('base64'));
  const want = norm(issuerCertPem).join();
  return (cas ?? []).filter(
    (c) => c.Protocol?.toLowerCase() === 'cfssl' && norm(c.CACert || currentRootPem).join() === want,
  );
}

export interface ExternalSignRequest {
  csrPem: PemCertificateRequest;
  identity: NodeIdentity;
  /** The certificate that must have issued the result: the swarm's root, or the rotation's new root. */
  issuerCertPem: PemCertificate;
  /** The roots the CA's server certificate is verified against. */
  trustPem: PemCertificate;
}

export class ExternalCAClient {
  constructor(
    /** The manager's own certificate and key, presented to the CA. */
    private readonly credentials: () => NodeCredentials | undefined,
    private readonly timeoutMs = EXTERNAL_CA_TIMEOUT_MS,
  ) {}

  /** A certificate for the request from the first of `cas` that gives one; the last failure otherwise. */
  async sign(cas: ExternalCA[], req: ExternalSignRequest): Promise<PemCertificate> {
    if (cas.length === 0) throw new ExternalCAError(MSG_NO_EXTERNAL_CA_URLS, true);
    let last: ExternalCAError | undefined;
    for (const ca of cas) {
      try {
        const cert = await this.postJson(
          ca.URL,
          JSON.stringify(cfsslSignRequest(req.csrPem, req.identity)),
          req.trustPem,
        );
        await checkExternalCertificate(cert, req);
        return cert;
      } catch (err) {
        last = err instanceof ExternalCAError ? err : new ExternalCAError((err as Error).message, true);
        console.error(`shoal ca: signing through the external CA ${ca.URL}: ${last.message}`);
      }
    }
    throw last!;
  }

  /** POSTs `body` to `url` and returns the certificate of cfssl's answer. */
  postJson(url: string, body: string, trustPem: PemCertificate): Promise<PemCertificate> {
    const creds = this.credentials();
    return new Promise((resolve, reject) => {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        return reject(new ExternalCAError(`invalid external CA URL ${url}`, false));
      }
      if (u.protocol !== 'https:') return reject(new ExternalCAError('invalid HTTP scheme', false));
      const req = https.request(
        u,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
          ca: trustPem,
          ...(creds ? { cert: creds.certPem, key: creds.keyPem } : {}),
          ...TLS_PROTOCOL_OPTIONS,
          // The CA is verified by its chain to the swarm's roots, as Go's client with RootCAs: its host name is not
          // a node's, and swarmkit dials it by URL with ServerName left to Go (the URL host).
          agent: false,
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < CERTIFICATE_MAX_SIZE) chunks.push(c.subarray(0, CERTIFICATE_MAX_SIZE - size));
            size += c.length;
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) {
              return reject(
                new ExternalCAError(`unexpected status code in CSR response: ${res.statusCode} - ${text}`, true),
              );
            }
            try {
              resolve(certificateFromResponse(text));
            } catch (err) {
              reject(err);
            }
          });
          res.on('error', (err) => reject(new ExternalCAError(err.message, true)));
        },
      );
      const timer = setTimeout(() => req.destroy(new Error('context deadline exceeded')), this.timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('timeout', () => req.destroy(new Error('context deadline exceeded')));
      req.on('error', (err) => reject(new ExternalCAError(err.message, true)));
      req.end(body);
    });
  }
}

/** The certificate out of a cfssl api.Response; success:false is the CA's refusal. */
function certificateFromResponse(text: string): PemCertificate {
  let r: { success?: boolean; result?: unknown; errors?: { code?: number; message?: string }[] };
  try {
    r = JSON.parse(text) as typeof r;
  } catch {
    throw new ExternalCAError('unable to parse JSON response', true);
  }
  if (!r.success || !r.result) {
    const errs = (r.errors ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim());
    throw new ExternalCAError(
      errs.length ? `response errors: [${errs.join(' ')}]` : 'certificate signing request failed',
      false,
    );
  }
  const cert = (r.result as { certificate?: unknown }).certificate;
  if (typeof cert !== 'string' || !cert.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ExternalCAError('invalid result', false);
  }
  return cert;
}

/**
 * Never a certificate from the wrong CA, for the wrong node or the wrong key: the result must chain to the issuer
 * the swarm signs with now, carry the identity asked for, and certify the CSR's key.
 */
async function checkExternalCertificate(certPem: PemCertificate, req: ExternalSignRequest): Promise<void> {
  if (!verifyChain(certPem, req.issuerCertPem)) {
    throw new ExternalCAError('the external CA returned a certificate that is not issued by the expected CA', false);
  }
  const info = parseNodeCertificate(certPem);
  const id = req.identity;
  if (info.nodeId !== id.nodeId || info.role !== id.role || info.clusterId !== id.clusterId) {
    throw new ExternalCAError(
      `the external CA returned a certificate for CN=${info.nodeId} OU=${info.role} O=${info.clusterId}, not CN=${id.nodeId} OU=${id.role} O=${id.clusterId}`,
      false,
    );
  }
  const [leaf] = decodePemBlocks(certPem, 'CERTIFICATE');
  const spki = rawCertificateFields(leaf).subjectPublicKeyInfo;
  const want = Buffer.from((await publicKeyFromCSR(req.csrPem)).rawData);
  if (!spki.equals(want)) throw new ExternalCAError('the external CA returned a certificate for another key', false);
}

/**
 * swarmkit's validateExternalCAURL: the URL is https, and a TLS handshake with it, presenting `creds`, verifies its
 * certificate against `wantedCertPem` (and its host name against the URL's, as Go's dialer does). 5 s at most.
 */
export function probeExternalCA(url: string, wantedCertPem: PemCertificate, creds: NodeCredentials | undefined) {
  return new Promise<void>((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch (err) {
      return reject(err as Error);
    }
    if (u.protocol !== 'https:') return reject(new Error('invalid HTTP scheme'));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const socket = tls.connect({
      host,
      port: Number(u.port || 443),
      ...(net.isIP(host) ? {} : { servername: host }),
      ca: wantedCertPem,
      ...(creds ? { cert: creds.certPem, key: creds.keyPem } : {}),
      ...TLS_PROTOCOL_OPTIONS,
      timeout: EXTERNAL_CA_TIMEOUT_MS,
    });
    const timer = setTimeout(() => socket.destroy(new Error('i/o timeout')), EXTERNAL_CA_TIMEOUT_MS);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** swarmkit's ExternalCrossSignProfile: the cfssl profile that signs CA certificates. */
export const EXTERNAL_CROSS_SIGN_PROFILE = 'CA';

/**
 * swarmkit's ExternalCA.CrossSignRootCA, for a rotation away from a root whose key only the external CA holds: a
 * CSR made from the new root (its subject and key, signed with its key) goes to the external CA with profile "CA"
 * and the root's basicConstraints (cfssl ignores a CSR's other extensions). The result must be a CA with the new
 * root's subject and key, issued by the current root.
 */
export async function crossSignThroughExternalCA(
  client: ExternalCAClient,
  cas: ExternalCA[],
  newRoot: { certPem: PemCertificate; keyPem: string },
  currentRootPem: PemCertificate,
  trustPem: PemCertificate,
): Promise<PemCertificate> {
  if (cas.length === 0) throw new ExternalCAError(MSG_NO_EXTERNAL_CA_URLS, true);
  const der = decodePemBlocks(newRoot.certPem, 'CERTIFICATE')[0];
  if (!der) throw new Error('could not parse new CA certificate');
  const raw = rawCertificateFields(der);
  const cert = new x509.X509Certificate(der);
  const signing = await importSigningKey(newRoot.keyPem);
  const publicKey = await importPublicKeyPem(
    createPublicKey({ key: raw.subjectPublicKeyInfo, format: 'der', type: 'spki' }).export({
      type: 'spki',
      format: 'pem',
    }) as string,
  );
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: new x509.Name(raw.subject),
    keys: { publicKey, privateKey: signing.key },
    signingAlgorithm: signing.algorithm,
  });
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  const cn = cert.subjectName.getField('CN')[0] ?? '';
  const body = {
    certificate_request: encodePem('CERTIFICATE REQUEST', csr.rawData),
    subject: { CN: cn, names: [] as object[], SerialNumber: '' },
    profile: EXTERNAL_CROSS_SIGN_PROFILE,
    extensions: basic
      ? [{ id: [2, 5, 29, 19], critical: basic.critical, value: Buffer.from(basic.value).toString('hex') }]
      : [],
  };
  let last: ExternalCAError | undefined;
  for (const ca of cas) {
    try {
      const pem = await client.postJson(ca.URL, JSON.stringify(body), trustPem);
      const [out] = decodePemBlocks(pem, 'CERTIFICATE');
      const got = new NodeX509Certificate(out);
      const f = rawCertificateFields(out);
      if (!got.ca || !f.subject.equals(raw.subject) || !f.subjectPublicKeyInfo.equals(raw.subjectPublicKeyInfo)) {
        throw new ExternalCAError('the external CA returned a certificate that is not the cross-signed root', false);
      }
      if (!verifyChain(pem, currentRootPem)) {
        throw new ExternalCAError(
          'the external CA returned a certificate that is not issued by the current root',
          false,
        );
      }
      return encodePem('CERTIFICATE', out);
    } catch (err) {
      last = err instanceof ExternalCAError ? err : new ExternalCAError((err as Error).message, true);
    }
  }
  throw last!;
}
