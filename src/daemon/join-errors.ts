// How a failed `swarm join` answers: an RPC refusal keeps its code's HTTP status and Go's `rpc error: code = X
// desc = Y` text, as moby passes swarmkit's errors on; a check on this side (a token that does not parse, a root
// CA that does not match the token's digest) is the joining node's own error.
import { ApiError } from '../api/errors';
import { RpcError, httpStatusFor } from '../transport/errors';

export function joinError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof RpcError) {
    const status = err.code === 'Unknown' ? 500 : httpStatusFor(err.code);
    return new ApiError(status >= 400 && status < 600 ? status : 500, err.message);
  }
  const msg = (err as Error)?.message ?? String(err);
  // Tokens that do not parse are the caller's mistake.
  return new ApiError(/join token/i.test(msg) ? 400 : 500, msg);
}
