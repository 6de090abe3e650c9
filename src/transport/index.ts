// The node-to-node transport: RPCs over HTTP/2 on mutual TLS.
export type { RpcCode } from './errors';
export { RPC_CODES, RpcError, toRpcError, httpStatusFor, isRpcCode, isUnknownAuthority } from './errors';
export type { Frame } from './framing';
export { DEFAULT_MAX_MESSAGE_BYTES, FrameDecoder, encodeFrame } from './framing';
export type { PeerIdentity, PeerAuth, ExpectedPeer } from './identity';
export { peerAuthFromSocket, peerAuthAt, checkPeerSubject } from './identity';
export type { NodeCredentials } from './tls-config';
export { TLS_MIN_VERSION, TLS_CIPHERS, TLS_PROTOCOL_OPTIONS, serverContextOptions } from './tls-config';
export type {
  Authorizer,
  AuthorizeRequest,
  CallContext,
  RpcServerOptions,
  ServerStreamHandler,
  StreamSink,
  UnaryHandler,
} from './server';
export { RpcServer } from './server';
export type { CallOptions, RpcClientOptions, RpcStream } from './client';
export { RpcClient } from './client';
