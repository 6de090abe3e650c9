// The values a Raft member keeps, persists and hands to its host.
//
// Entries and snapshots are supersets of src/log/replicated-log.ts's LogEntry and Snapshot, so
// that the disk log (src/log/wal) can store them and the store can apply them unchanged: an
// Entry is a LogEntry with a kind; a RaftSnapshot's meta adds the voters it was taken under.
import type { LogEntry, Snapshot, SnapshotMeta } from '../log/replicated-log';

/** A member's ID. Swarm node IDs are 25-character strings, so IDs are strings throughout. */
export type NodeId = string;

/**
 * 'normal' entries carry the host's opaque data (empty for the entry a new leader appends);
 * 'conf-change' entries carry an encoded ConfChange, which the Raft core applies itself.
 */
export type EntryKind = 'normal' | 'conf-change';

/**
 * One log entry: a LogEntry's index, term and data, plus what kind of data it holds. (The disk log numbers kinds
 * as etcd does, 0 and 1; the host maps between the two.)
 */
export interface Entry extends Omit<LogEntry, 'kind'> {
  kind: EntryKind;
}

/** A membership change of one voter at a time (Raft thesis §4.1). */
export interface ConfChange {
  type: 'add-member' | 'remove-member';
  nodeId: NodeId;
}

export function encodeConfChange(cc: ConfChange): Buffer {
  return Buffer.from(JSON.stringify({ type: cc.type, nodeId: cc.nodeId }));
}

export function decodeConfChange(data: Buffer): ConfChange {
  const v = JSON.parse(data.toString('utf8')) as Partial<ConfChange>;
  if ((v.type !== 'add-member' && v.type !== 'remove-member') || typeof v.nodeId !== 'string') {
    throw new Error(`raft: malformed conf change ${data.toString('utf8')}`);
  }
  return { type: v.type, nodeId: v.nodeId };
}

/** What must be on disk before any message of the same Ready is sent. */
export interface HardState {
  term: number;
  /** Whom this member voted for in `term`; null if nobody. */
  vote: NodeId | null;
  /** Highest index known committed; persisted so a restart re-applies up to it. */
  commit: number;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state the host may want to show or route by; never persisted. */
export interface SoftState {
  /** The leader this member currently follows (itself when leading); null when unknown. */
  leader: NodeId | null;
  role: Role;
}

/** Snapshot metadata: the last entry it covers and the voters as of that entry. */
export interface RaftSnapshotMeta extends SnapshotMeta {
  voters: NodeId[];
}

export interface RaftSnapshot extends Snapshot {
  meta: RaftSnapshotMeta;
}

/**
 * A linearizable read point: once the host has applied up to `index`, its state answers the
 * read `requestId` asked for with readIndex().
 */
export interface ReadState {
  requestId: string;
  index: number;
}

export type ProposalDropReason =
  | 'not-leader'
  | 'leader-transfer-in-progress'
  | 'conf-change-pending'
  | 'conf-change-no-op'
  | 'would-remove-last-voter';

/**
 * What propose() tells the host. An accepted proposal is committed only if the entry later
 * applied at `index` has this `term`; any other term there means it was lost with a leader.
 */
export type ProposeResult =
  { accepted: true; index: number; term: number } | { accepted: false; reason: ProposalDropReason };

export function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Rough wire size of an entry, for the per-message byte budget. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}
