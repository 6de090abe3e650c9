// The TLS settings every node-to-node connection uses, after swarmkit's ca/config.go (NewServerTLSConfig,
// NewClientTLSConfig): TLS 1.2 at least, ECDHE key exchange, AEAD ciphers only.
import type * as tls from 'node:tls';
import type { PemCertificate, PemPrivateKey } from '../ca/pem';

/** What a node holds to speak mutual TLS: its key and certificate chain, and the swarm's root(s). */
export interface NodeCredentials {
  certPem: PemCertificate;
  keyPem: PemPrivateKey;
  /** The root CA bundle peers are verified against. */
  rootCertPem: PemCertificate;
}

export const TLS_MIN_VERSION: tls.SecureVersion = 'TLSv1.2';

/**
 * swarmkit's strongTLSCiphers for TLS 1.2 (ECDHE-ECDSA/RSA with AES-GCM or CHACHA20-POLY1305), plus the TLS 1.3
 * suites, which are all AEAD. OpenSSL names; TLS 1.3 names go in the same list in Node.
 */
export const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Protocol version and cipher options shared by servers and clients. */
export const TLS_PROTOCOL_OPTIONS = {
  minVersion: TLS_MIN_VERSION,
  ciphers: TLS_CIPHERS,
} as const;

/**
 * The secure context of a node's server. Client certificates are requested but not required, because the same
 * port serves the CA's insecure methods to nodes that have none yet (Go's VerifyClientCertIfGiven); each other
 * method checks the verified peer itself.
 */
export function serverContextOptions(creds: NodeCredentials): tls.SecureContextOptions {
  return {
    cert: creds.certPem,
    key: creds.keyPem,
    ca: creds.rootCertPem,
    ...TLS_PROTOCOL_OPTIONS,
    honorCipherOrder: true,
  };
}
