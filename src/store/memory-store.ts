import { EventEmitter } from 'node:events';
import type { LogEntry, ReplicatedLog, Snapshot, StateMachine } from '../log/replicated-log';
import { ExistsError, MissingError, SequenceConflictError } from './errors';
import { TABLES, type StoredObject, type TableName, type Tables } from './objects';
import { decodeProposal, encodeProposal, type Proposal, type StoreOp } from './ops';

export interface StoreEvent {
  table: TableName;
  action: 'create' | 'update' | 'delete';
  object: StoredObject;
  index: number;
}

/** Reads see committed state plus the transaction's own writes. */
export interface ReadTx {
  get<T extends TableName>(table: T, id: string): Tables[T] | undefined;
  list<T extends TableName>(table: T): Tables[T][];
}

export interface WriteTx extends ReadTx {
  create<T extends TableName>(table: T, object: Tables[T]): void;
  /** Writes the object; applying fails with "update out of sequence" if it changed since its Version was read. */
  update<T extends TableName>(table: T, object: Tables[T]): void;
  delete(table: TableName, id: string, expectVersion?: number): void;
}

/**
 * The in-memory store of cluster state: the state machine that the replicated log applies to,
 * and the place components read from and watch. Changes go only through update(), which turns a
 * transaction into a proposal; nothing changes until the log has committed it.
 */
export class MemoryStore extends EventEmitter implements StateMachine {
  private tables = new Map<TableName, Map<string, StoredObject>>(TABLES.map((t) => [t, new Map()]));
  private log?: ReplicatedLog;
  private applied = 0;
  /** Service name (lower-cased) → IDs holding it, so a create checks uniqueness without a scan. */
  private serviceNames = new Map<string, Set<string>>();

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  attach(log: ReplicatedLog): void {
    this.log = log;
  }

  appliedIndex(): number {
    return this.applied;
  }

  // ---- reads ---------------------------------------------------------------

  get<T extends TableName>(table: T, id: string): Tables[T] | undefined {
    const o = this.tables.get(table)!.get(id);
    return o === undefined ? undefined : (structuredClone(o) as Tables[T]);
  }

  list<T extends TableName>(table: T): Tables[T][] {
    return [...this.tables.get(table)!.values()].map((o) => structuredClone(o) as Tables[T]);
  }

  /** A read without copying, for hot paths that promise not to mutate what they get. */
  peek<T extends TableName>(table: T): IterableIterator<Readonly<Tables[T]>> {
    return this.tables.get(table)!.values() as IterableIterator<Tables[T]>;
  }

  count(table: TableName): number {
    return this.tables.get(table)!.size;
  }

  // ---- writes --------------------------------------------------------------

  /**
   * Runs fn against a transaction, then proposes its writes as one entry and waits until it is
   * applied. Returns fn's result. Throws what applying threw (e.g. SequenceConflictError).
   */
  async update<R>(fn: (tx: WriteTx) => R): Promise<R> {
    if (!this.log) throw new Error('store has no log attached');
    const ops: StoreOp[] = [];
    const overlay = new Map<string, StoredObject | null>();
    const key = (t: TableName, id: string) => `${t}/${id}`;
    const tx: WriteTx = {
      get: (table, id) => {
        const k = key(table, id);
        if (overlay.has(k)) {
          const o = overlay.get(k);
          return o === null ? undefined : (structuredClone(o) as never);
        }
        return this.get(table, id);
      },
      list: (table) => {
        const out = new Map<string, StoredObject>();
        for (const [id, o] of this.tables.get(table)!) out.set(id, o);
        for (const [k, o] of overlay) {
          const [t, id] = k.split('/');
          if (t !== table) continue;
          if (o === null) out.delete(id);
          else out.set(id, o);
        }
        return [...out.values()].map((o) => structuredClone(o) as never);
      },
      create: (table, object) => {
        ops.push({ op: 'create', table, object: structuredClone(object) });
        overlay.set(key(table, object.ID), object);
      },
      update: (table, object) => {
        ops.push({ op: 'update', table, object: structuredClone(object), expect: object.Version?.Index });
        overlay.set(key(table, object.ID), object);
      },
      delete: (table, id, expect) => {
        ops.push({ op: 'delete', table, id, expect });
        overlay.set(key(table, id), null);
      },
    };
    const result = fn(tx);
    if (ops.length > 0) await this.log.propose(encodeProposal({ ops }));
    return result;
  }

  /**
   * update() for internal writers (orchestrator, agent): a conflict means someone else wrote
   * first, so read again and retry.
   */
  async retryUpdate<R>(fn: (tx: WriteTx) => R, attempts = 10): Promise<R> {
    for (let i = 0; ; i++) {
      try {
        return await this.update(fn);
      } catch (err) {
        if (!(err instanceof SequenceConflictError) || i >= attempts) throw err;
      }
    }
  }

  // ---- the state machine ---------------------------------------------------

  apply(entry: LogEntry): unknown {
    const proposal: Proposal = decodeProposal(entry.data);
    this.applied = entry.index;
    this.check(proposal.ops);
    const events: StoreEvent[] = [];
    for (const op of proposal.ops) {
      const table = this.tables.get(op.table)!;
      if (op.op === 'delete') {
        const old = table.get(op.id);
        if (old) {
          table.delete(op.id);
          if (op.table === 'services') this.unindexName(old);
          events.push({ table: op.table, action: 'delete', object: old, index: entry.index });
        }
        continue;
      }
      const object = op.object;
      object.Version = { Index: entry.index };
      if (op.table === 'services') {
        const old = table.get(object.ID);
        if (old) this.unindexName(old);
        this.indexName(object);
      }
      table.set(object.ID, object);
      events.push({ table: op.table, action: op.op, object, index: entry.index });
    }
    for (const e of events) this.emit('change', e);
    if (events.length) this.emit('commit', events);
    return undefined;
  }

  /** All-or-nothing: every precondition is checked before anything is written. */
  private check(ops: StoreOp[]): void {
    const creatingNames = new Set<string>();
    for (const op of ops) {
      const table = this.tables.get(op.table)!;
      if (op.op === 'create') {
        if (table.has(op.object.ID)) throw new ExistsError(op.table, op.object.ID);
        if (op.table === 'services') {
          const name = serviceNameKey(op.object);
          if (creatingNames.has(name) || this.serviceNameTaken(name)) {
            throw new ExistsError('service', (op.object as Tables['services']).Spec.Name ?? '');
          }
          creatingNames.add(name);
        }
        continue;
      }
      const id = op.op === 'delete' ? op.id : op.object.ID;
      const current = table.get(id);
      if (!current) {
        if (op.op === 'delete') continue;
        throw new MissingError(op.table, id);
      }
      if (op.expect !== undefined && current.Version.Index !== op.expect) throw new SequenceConflictError();
    }
  }

  private serviceNameTaken(nameKey: string): boolean {
    return (this.serviceNames.get(nameKey)?.size ?? 0) > 0;
  }

  private indexName(service: StoredObject): void {
    const k = serviceNameKey(service);
    let ids = this.serviceNames.get(k);
    if (!ids) this.serviceNames.set(k, (ids = new Set()));
    ids.add(service.ID);
  }

  private unindexName(service: StoredObject): void {
    const k = serviceNameKey(service);
    const ids = this.serviceNames.get(k);
    ids?.delete(service.ID);
    if (ids?.size === 0) this.serviceNames.delete(k);
  }

  snapshot(): Buffer {
    const out: Record<string, StoredObject[]> = {};
    for (const t of TABLES) out[t] = [...this.tables.get(t)!.values()];
    return Buffer.from(JSON.stringify({ applied: this.applied, tables: out }));
  }

  restore(snapshot: Snapshot): void {
    const parsed = JSON.parse(snapshot.data.toString('utf8')) as { tables: Record<string, StoredObject[]> };
    for (const t of TABLES) this.tables.set(t, new Map((parsed.tables[t] ?? []).map((o) => [o.ID, o])));
    this.serviceNames.clear();
    for (const s of this.tables.get('services')!.values()) this.indexName(s);
    this.applied = snapshot.meta.index;
    this.emit('restore');
  }
}

/** Service names are unique regardless of case, as swarmkit indexes them lower-cased. */
function serviceNameKey(o: StoredObject): string {
  return ((o as Tables['services']).Spec?.Name ?? '').toLowerCase();
}
