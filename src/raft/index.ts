// Raft consensus for several managers: a pure, deterministic core (no timers, sockets or disk)
// that the host drives through RawNode's Ready loop. See raw-node.ts for the loop.
export { RawNode, type Ready, type Status } from './raw-node';
export type { RaftConfig } from './raft';
export type * from './messages';
export * from './types';
export { RaftCompactedError, RaftUnavailableError, type RaftStorage } from './storage';
export { MemoryRaftStorage, bootstrapEntries } from './memory-storage';
