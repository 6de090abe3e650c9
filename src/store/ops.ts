import type { TableName, StoredObject } from './objects';

/**
 * One change inside a proposal. Updates and deletes may carry the Version.Index the proposer
 * read (`expect`); applying checks it, so two writers that raced cannot both win even when
 * their proposals are in flight together.
 */
export type StoreOp =
  | { op: 'create'; table: TableName; object: StoredObject }
  | { op: 'update'; table: TableName; object: StoredObject; expect?: number }
  | { op: 'delete'; table: TableName; id: string; expect?: number };

/** A proposal: a set of changes applied all together or not at all. */
export interface Proposal {
  ops: StoreOp[];
}

export function encodeProposal(p: Proposal): Buffer {
  return Buffer.from(JSON.stringify(p));
}

export function decodeProposal(data: Buffer): Proposal {
  return JSON.parse(data.toString('utf8')) as Proposal;
}
