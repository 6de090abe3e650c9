// The messages members exchange. The host carries them (src/transport later) and feeds each
// to the recipient's step(); the Raft core never sees a socket. Every message carries the
// sender's term (for pre-votes: the term the sender would campaign at).
import type { Entry, NodeId, RaftSnapshotMeta } from './types';

interface Envelope {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** Leader → follower: entries after (index, logTerm), and the leader's commit index. */
export interface AppendMessage extends Envelope {
  type: 'append';
  index: number;
  logTerm: number;
  entries: Entry[];
  commit: number;
}

/**
 * Follower → leader. Accepted: `index` is the follower's last index matching the leader.
 * Rejected: `index` echoes the rejected append's index and (rejectHint, logTerm) name the
 * follower's last entry whose term is at most the append's logTerm, so the leader can skip a
 * whole conflicting term in one round trip instead of one index at a time.
 */
export interface AppendResponse extends Envelope {
  type: 'append-response';
  index: number;
  reject: boolean;
  rejectHint: number;
  logTerm: number;
}

/** Candidate → voters. `transfer` marks an election a leader asked for (lease is ignored). */
export interface VoteRequest extends Envelope {
  type: 'vote' | 'pre-vote';
  index: number;
  logTerm: number;
  transfer: boolean;
}

export interface VoteResponse extends Envelope {
  type: 'vote-response' | 'pre-vote-response';
  reject: boolean;
}

/** Leader → follower. `context` tags a read-index round; the follower echoes it back. */
export interface HeartbeatMessage extends Envelope {
  type: 'heartbeat';
  commit: number;
  context: string | null;
}

export interface HeartbeatResponse extends Envelope {
  type: 'heartbeat-response';
  context: string | null;
}

/** Leader → follower: bytes [offset, offset + chunk.length) of a snapshot of `total` bytes. */
export interface SnapshotChunk extends Envelope {
  type: 'snapshot';
  meta: RaftSnapshotMeta;
  offset: number;
  total: number;
  chunk: Buffer;
}

/**
 * Follower → leader: "send the snapshot at `index` from `offset` on". `rewind` is set when the
 * follower cannot use what it got (lost its partial copy, or a chunk went missing) so that the
 * leader goes back instead of taking the ack for a stale one.
 */
export interface SnapshotAck extends Envelope {
  type: 'snapshot-ack';
  index: number;
  offset: number;
  rewind: boolean;
}

/** Leader → transfer target: campaign now, without pre-vote and past any lease. */
export interface TimeoutNowMessage extends Envelope {
  type: 'timeout-now';
}

/** Follower → leader: a read the follower's host wants to serve. */
export interface ReadIndexRequest extends Envelope {
  type: 'read-index';
  requestId: string;
}

export interface ReadIndexResponse extends Envelope {
  type: 'read-index-response';
  requestId: string;
  index: number;
}

export type Message =
  | AppendMessage
  | AppendResponse
  | VoteRequest
  | VoteResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotAck
  | TimeoutNowMessage
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message['type'];
