// RPC errors as gRPC carries them: a code and a description, shown as Go's status errors print
// (`rpc error: code = X desc = Y`), since swarmkit's messages are quoted in that form.
import { ApiError } from '../api/errors';

/** The gRPC status codes, by name. */
export const RPC_CODES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
] as const;
export type RpcCode = (typeof RPC_CODES)[number];

/** The HTTP status a code travels under on the wire (informative only: the code itself is in the body). */
const HTTP_STATUS: Record<RpcCode, number> = {
  OK: 200,
  Canceled: 499,
  Unknown: 500,
  InvalidArgument: 400,
  DeadlineExceeded: 504,
  NotFound: 404,
  AlreadyExists: 409,
  PermissionDenied: 403,
  ResourceExhausted: 429,
  FailedPrecondition: 400,
  Aborted: 409,
  OutOfRange: 400,
  Unimplemented: 501,
  Internal: 500,
  Unavailable: 503,
  DataLoss: 500,
  Unauthenticated: 401,
};

export function httpStatusFor(code: RpcCode): number {
  return HTTP_STATUS[code];
}

export function isRpcCode(s: unknown): s is RpcCode {
  return typeof s === 'string' && (RPC_CODES as readonly string[]).includes(s);
}

/** An RPC failure. `message` is the Go form; `desc` is what the handler said. */
export class RpcError extends Error {
  /** For a connection that failed: the system's or OpenSSL's code for why (ECONNREFUSED, UNABLE_TO_VERIFY_LEAF_SIGNATURE). */
  causeCode?: string;

  constructor(
    readonly code: RpcCode,
    readonly desc: string,
  ) {
    super(`rpc error: code = ${code} desc = ${desc}`);
    this.name = 'RpcError';
  }

  /** The error as it crosses the wire. */
  toJSON(): { code: RpcCode; message: string } {
    return { code: this.code, message: this.desc };
  }
}

const GO_FORM = /^rpc error: code = (\w+) desc = ([\s\S]*)$/;

const API_STATUS_CODES: Record<number, RpcCode> = {
  400: 'InvalidArgument',
  401: 'Unauthenticated',
  403: 'PermissionDenied',
  404: 'NotFound',
  409: 'AlreadyExists',
  501: 'Unimplemented',
  503: 'Unavailable',
};

/**
 * Any thrown value as an RpcError. Errors from the control API (ApiError, whose message is already in Go's
 * form when it came from swarmkit-like code) keep their code; anything else is Unknown with its message, as
 * grpc-go reports a plain error returned by a handler.
 */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof Error) {
    const m = GO_FORM.exec(err.message);
    if (m && isRpcCode(m[1])) return new RpcError(m[1], m[2]);
    if (err instanceof ApiError) return new RpcError(API_STATUS_CODES[err.status] ?? 'Unknown', err.message);
    return new RpcError('Unknown', err.message);
  }
  return new RpcError('Unknown', String(err));
}

/**
 * OpenSSL's codes for a peer certificate that does not chain to the roots this side trusts: Go's "x509: certificate
 * signed by unknown authority".
 */
const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/** Whether a call failed because the server's certificate does not chain to this side's trust root. */
export function isUnknownAuthority(err: unknown): boolean {
  return err instanceof RpcError && !!err.causeCode && UNKNOWN_AUTHORITY.has(err.causeCode);
}
