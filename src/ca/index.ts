// Shoal's PKI, after swarmkit's ca package: root CA, node certificates, join tokens.
// Daemon-side only: loading it pulls in @peculiar/x509, which the CLI has no use for.
export type { PemCertificate, PemCertificateRequest, PemPrivateKey, PemPublicKey } from './pem';
export { encodePem, decodePem, decodePemBlocks, splitCertificateBundle } from './pem';
export type { CryptoKey, CryptoKeyPair, SigningAlgorithm, SigningKey } from './keys';
export {
  NODE_KEY_ALGORITHM,
  generateKeyPair,
  exportPrivateKeyPem,
  exportPublicKeyPem,
  importSigningKey,
  importPublicKeyPem,
  writeFileAtomic,
  writeKeyFile,
} from './keys';
export type { RootCAMaterial, CreateRootCAOptions } from './root-ca';
export { ROOT_CA_CN, DEFAULT_ROOT_CA_EXPIRY_NS, ROOT_CA_BACKDATE_MS, createRootCA, RootCA } from './root-ca';
export type { NodeRole, NodeIdentity, IssueNodeCertificateOptions } from './node-cert';
export {
  MANAGER_ROLE,
  WORKER_ROLE,
  DEFAULT_NODE_CERT_EXPIRY_NS,
  MIN_NODE_CERT_EXPIRY_NS,
  NODE_CERT_BACKDATE_MS,
  createCSR,
  createNodeKeyAndCSR,
  publicKeyFromCSR,
  issueNodeCertificate,
} from './node-cert';
export type { NodeCertificateInfo } from './certificate-info';
export { nodeTLSInfo, parseNodeCertificate, tlsInfoFor, verifyChain } from './certificate-info';
export type { JoinToken, ParsedJoinToken } from './join-token';
export { generateJoinToken, parseJoinToken, rootCADigest, joinTokenPinsRoot, joinTokenMatches } from './join-token';
export { checkRootBundle, checkIssuedCertificate } from './issued';
export type { CACluster, CANode, NewCANode, CAStore, RemovedNodeEntry, ClusterWithRemovedNodes } from './ca-store';
export {
  MemoryCAStore,
  NodeIdTakenError,
  REMOVED_NODE_GRACE_MS,
  withRemovedNode,
  withoutExpiredRemovals,
} from './ca-store';
export type {
  CAServerOptions,
  GetRootCACertificateResponse,
  GetUnlockKeyResponse,
  IssueNodeCertificateRequest,
  IssueNodeCertificateResponse,
} from './ca-server';
export { CAServer, CA_SERVICE, NODE_CA_SERVICE, MSG_INVALID_JOIN_TOKEN } from './ca-server';
