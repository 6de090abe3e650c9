// A store proposal as a Raft entry carries it: a tag naming the member's pending proposal, then the store's bytes.
//
//   0  version  u8 (1)
//   1  id       12 bytes, random: the proposer's handle on the entry
//  13  data     what the store proposed
// The ID lets the member that proposed an entry (perhaps through the leader) give the store's result back to the
// caller when that member applies it; other members ignore it.

const VERSION = 1;
const ID_BYTES = 12;
const HEADER = 1 + ID_BYTES;

export function encodeProposal(idHex: string, data: Buffer): Buffer {
  const id = Buffer.from(idHex, 'hex');
  if (id.length !== ID_BYTES) throw new RangeError(`a proposal ID is ${ID_BYTES} bytes`);
  return Buffer.concat([Buffer.from([VERSION]), id, data]);
}

export function decodeProposal(entry: Buffer): { id?: string; data: Buffer } {
  if (entry.length < HEADER || entry[0] !== VERSION) {
    throw new Error(`raft: an entry of ${entry.length} bytes is not a store proposal (version ${entry[0]})`);
  }
  return { id: entry.subarray(1, HEADER).toString('hex'), data: entry.subarray(HEADER) };
}
