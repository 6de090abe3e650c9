// The two ways a log on disk can fail to load. Neither is ever recovered from silently: a damaged
// log is not applied in part, and a log under a key we were not given is not guessed at.

/** A file of the log is damaged or was tampered with: not a crash's torn tail, which is repaired. */
export class LogCorruptionError extends Error {
  override readonly name = 'LogCorruptionError';

  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`raft log is corrupted: ${file} at offset ${offset}: ${reason}`);
  }
}

/** A file of the log is encrypted under a data encryption key that is not among those given. */
export class LogKeyError extends Error {
  override readonly name = 'LogKeyError';

  constructor(
    readonly file: string,
    /** Hex key ID named by the file's header. */
    readonly keyId: string,
    /** Hex key IDs of the keys given. */
    readonly candidates: string[],
  ) {
    super(
      `raft log cannot be read: ${file} is encrypted under data encryption key ${keyId}, ` +
        `which is not among the keys given (${candidates.join(', ') || 'none'}): the key is wrong or missing`,
    );
  }
}
