/** Errors that applying a change can end in. They are deterministic, so every member agrees on them. */

/** The object changed since the proposer read it: the API's "update out of sequence". */
export class SequenceConflictError extends Error {
  constructor() {
    super('update out of sequence');
  }
}

export class ExistsError extends Error {
  constructor(
    public readonly table: string,
    public override readonly name: string,
  ) {
    super(`${table} ${name} already exists`);
  }
}

export class MissingError extends Error {
  constructor(
    public readonly table: string,
    public readonly id: string,
  ) {
    super(`${table} ${id} not found`);
  }
}
