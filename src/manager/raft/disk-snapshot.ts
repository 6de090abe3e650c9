// A Raft snapshot as the disk log keeps it. The log's snapshot files carry index and term; the voters the snapshot
// was taken under travel inside the sealed payload, ahead of the store's own bytes:
//
//   0  length  u32   of the JSON header that follows
//   4  header        {"voters": [...]}
//   …  state         the store's snapshot bytes
import type { Snapshot } from '../../log/replicated-log';
import type { RaftSnapshot } from '../../raft';

export function encodeDiskSnapshot(s: RaftSnapshot): Snapshot {
  const header = Buffer.from(JSON.stringify({ voters: s.meta.voters }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(header.length, 0);
  return { meta: { index: s.meta.index, term: s.meta.term }, data: Buffer.concat([len, header, s.data]) };
}

export function decodeDiskSnapshot(s: Snapshot): RaftSnapshot {
  const n = s.data.length >= 4 ? s.data.readUInt32BE(0) : -1;
  let voters: unknown;
  try {
    voters = n >= 0 && n <= s.data.length - 4 ? JSON.parse(s.data.subarray(4, 4 + n).toString('utf8')) : undefined;
  } catch {
    voters = undefined;
  }
  const list = (voters as { voters?: unknown } | undefined)?.voters;
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
    throw new Error(`the raft snapshot at index ${s.meta.index} has no readable member list`);
  }
  return { meta: { ...s.meta, voters: list as string[] }, data: s.data.subarray(4 + n) };
}
