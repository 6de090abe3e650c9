// A linearizability checker for a grow-only set: operations add(x) (each element added by one operation) and
// read() (which returns the whole set), each with the real times it was invoked and completed. An add's outcome is
// 'ok' (acknowledged), 'failed' (known not to have happened) or 'indeterminate' (a timeout, a lost connection: it
// may or may not have happened, possibly after the client gave up).
//
// A linearizable history has one point per operation, within its interval, such that every read returns exactly
// the adds placed before it. For a grow-only set that order is forced up to ties: the distinct sets the reads
// returned must form a chain S1 ⊂ S2 ⊂ … ⊂ Sk, and then the order is
//   adds of S1, reads of S1, adds of S2∖S1, reads of S2, …, adds never seen (acknowledged ones; the others may
//   be placed at infinity or dropped).
// Within one batch the operations are unordered among themselves, so a greedy pass decides it: each operation is
// placed at max(t, invoked), where t is where the previous batch ended, and fails if it completed before t.
//
// Before that exact check, simpler ones name the usual faults: a phantom (an element no one added), a failed add
// that is seen, a lost acknowledged add, an add seen before it was invoked, a stale read, two incomparable reads.

export type AddOutcome = 'ok' | 'failed' | 'indeterminate';

export interface AddOp {
  element: string;
  /** Times on one monotonic clock (e.g. performance.now()). */
  invoke: number;
  /** When the client got the answer, or gave up (for indeterminate adds this bounds nothing). */
  complete: number;
  outcome: AddOutcome;
}

export interface ReadOp {
  invoke: number;
  complete: number;
  /** What the read returned; elements may repeat. */
  elements: Iterable<string>;
  /** Where it was read (a manager's name), for messages. */
  where?: string;
}

export interface CheckResult {
  ok: boolean;
  /** Human-readable violations (at most a few of each kind). */
  errors: string[];
}

const MAX_PER_KIND = 5;

export function checkSetLinearizability(adds: AddOp[], reads: ReadOp[]): CheckResult {
  const errors: string[] = [];
  const counts = new Map<string, number>();
  const report = (kind: string, msg: string) => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    if (n <= MAX_PER_KIND) errors.push(`${kind}: ${msg}`);
    else if (n === MAX_PER_KIND + 1) errors.push(`${kind}: (more left out)`);
  };

  const byElement = new Map<string, AddOp>();
  for (const a of adds) {
    if (byElement.has(a.element)) throw new Error(`element ${a.element} is added twice: elements must be unique`);
    byElement.set(a.element, a);
  }
  const rs = reads.map((r, i) => ({ ...r, i, set: new Set(r.elements) }));
  const label = (r: (typeof rs)[number]) =>
    `read #${r.i}${r.where ? ` on ${r.where}` : ''} [${r.invoke.toFixed(1)}, ${r.complete.toFixed(1)}] (${r.set.size} elements)`;
  const addLabel = (a: AddOp) => `add(${a.element}) [${a.invoke.toFixed(1)}, ${a.complete.toFixed(1)}] ${a.outcome}`;

  // Per read, against the adds.
  for (const r of rs) {
    for (const x of r.set) {
      const a = byElement.get(x);
      if (!a) report('phantom', `${label(r)} returned ${x}, which no one added`);
      else if (a.outcome === 'failed') report('failed add seen', `${label(r)} returned ${addLabel(a)}`);
      else if (a.invoke > r.complete) report('add seen before invoked', `${label(r)} returned ${addLabel(a)}`);
    }
    for (const a of adds) {
      if (a.outcome === 'ok' && a.complete < r.invoke && !r.set.has(a.element))
        report('lost acknowledged add', `${label(r)} lacks ${addLabel(a)}, acknowledged before the read began`);
    }
  }

  // Reads against each other: sorted by size, each must include the one before (a chain), and a read that
  // completed before another began returned no more than it.
  const chain = [...rs].sort((a, b) => a.set.size - b.set.size);
  const subset = (a: Set<string>, b: Set<string>) => a.size <= b.size && [...a].every((x) => b.has(x));
  for (let k = 1; k < chain.length; k++) {
    if (!subset(chain[k - 1].set, chain[k].set)) {
      const missing = [...chain[k - 1].set].filter((x) => !chain[k].set.has(x)).slice(0, 3);
      report(
        'incomparable reads',
        `${label(chain[k - 1])} and ${label(chain[k])}: the larger lacks ${missing.join(', ')}`,
      );
    }
  }
  const byComplete = [...rs].sort((a, b) => a.complete - b.complete);
  const byInvoke = [...rs].sort((a, b) => a.invoke - b.invoke);
  // For each read r2 (by invoke), the largest set among reads that completed before r2 began must be ⊆ r2.
  let j = 0;
  let biggest: (typeof rs)[number] | undefined;
  for (const r2 of byInvoke) {
    while (j < byComplete.length && byComplete[j].complete < r2.invoke) {
      if (!biggest || byComplete[j].set.size > biggest.set.size) biggest = byComplete[j];
      j++;
    }
    if (biggest && !subset(biggest.set, r2.set)) {
      const missing = [...biggest.set].filter((x) => !r2.set.has(x)).slice(0, 3);
      report('stale read', `${label(r2)} began after ${label(biggest)} completed but lacks ${missing.join(', ')}`);
    }
  }

  // The exact check, if the reads form a chain (otherwise no order exists and that was reported).
  if (!counts.has('incomparable reads') && !counts.has('phantom') && !counts.has('failed add seen')) {
    const groups: { set: Set<string>; reads: typeof rs }[] = [];
    for (const r of chain) {
      const last = groups[groups.length - 1];
      if (last && last.set.size === r.set.size) last.reads.push(r);
      else groups.push({ set: r.set, reads: [r] });
    }
    // A batch's operations are unordered among themselves: each is checked against where the batch before
    // ended, and the batch ends at the latest invocation in it.
    let t = -Infinity;
    let setter = 'the start';
    type Placed = { invoke: number; complete: number; what: string; why: string };
    const placeBatch = (batch: Placed[]) => {
      for (const p of batch)
        if (p.complete < t)
          report('no linearization', `${p.what} must follow ${setter}, invoked after it completed (${p.why})`);
      for (const p of batch) {
        if (p.invoke > t) {
          t = p.invoke;
          setter = p.what;
        }
      }
    };
    let seen = new Set<string>();
    for (const g of groups) {
      const fresh: Placed[] = [];
      for (const x of g.set) {
        if (seen.has(x)) continue;
        const a = byElement.get(x)!;
        const complete = a.outcome === 'ok' ? a.complete : Infinity;
        fresh.push({ invoke: a.invoke, complete, what: addLabel(a), why: `it is in ${label(g.reads[0])}` });
      }
      placeBatch(fresh);
      placeBatch(g.reads.map((r) => ({ ...r, what: label(r), why: 'the reads before it returned less' })));
      seen = g.set;
    }
    placeBatch(
      adds
        .filter((a) => a.outcome === 'ok' && !seen.has(a.element))
        .map((a) => ({ ...a, what: addLabel(a), why: 'no read saw it, so it comes after every read' })),
    );
  }

  return { ok: errors.length === 0, errors };
}
