// `swarm init --force-new-cluster`: a manager that survived the loss of its swarm's quorum becomes the single
// manager of the same swarm, from its own log. As etcd's --force-new-cluster, every entry this member has is taken
// (even one it never saw committed), the store is rebuilt from them, and a snapshot of it is written whose
// configuration is this member alone, with a higher term so that no old leader's messages are taken.
import { ENTRY_CONF_CHANGE, type LogStorage } from '../../log/replicated-log';
import { MemoryStore } from '../../store/memory-store';
import { decodeDiskSnapshot, encodeDiskSnapshot } from './disk-snapshot';
import { decodeProposal } from './proposal';

export async function rewriteAsSingleMember(storage: LogStorage, selfId: string): Promise<void> {
  const { snapshot, entries, hardState } = await storage.load();
  const store = new MemoryStore();
  let index = 0;
  let term = 0;
  if (snapshot) {
    const snap = decodeDiskSnapshot(snapshot);
    store.restore({ meta: snap.meta, data: snap.data });
    index = snap.meta.index;
    term = snap.meta.term;
  }
  for (const e of entries) {
    index = e.index;
    term = e.term;
    if (e.kind === ENTRY_CONF_CHANGE || e.data.length === 0) continue;
    try {
      store.apply({ index: e.index, term: e.term, data: decodeProposal(e.data).data });
    } catch {
      // A proposal the store rejected (a conflict) was rejected everywhere; it changes nothing here either.
    }
  }
  const newTerm = Math.max(term, hardState?.term ?? 0) + 1;
  await storage.saveSnapshot(encodeDiskSnapshot({ meta: { index, term, voters: [selfId] }, data: store.snapshot() }));
  await storage.append([], { term: newTerm, vote: '', commit: index });
}
