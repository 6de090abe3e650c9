// The grow-only-set linearizability checker used by the Raft fault tests: it accepts linearizable histories
// (hand-written and generated from a sequential set with random intervals around the linearization points) and
// rejects the faults a replicated store can show: a stale read, a lost acknowledged add, a phantom, a failed add
// that happened, an add that is seen and then unseen, and orders no interval assignment allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSetLinearizability, type AddOp, type ReadOp } from './set-linearizability';

const add = (element: string, invoke: number, complete: number, outcome: AddOp['outcome'] = 'ok'): AddOp => ({
  element,
  invoke,
  complete,
  outcome,
});
const read = (invoke: number, complete: number, elements: string[]): ReadOp => ({ invoke, complete, elements });

function rejects(adds: AddOp[], reads: ReadOp[], kind: string): void {
  const r = checkSetLinearizability(adds, reads);
  assert.equal(r.ok, false, `expected a violation (${kind})`);
  assert.ok(
    r.errors.some((e) => e.startsWith(kind)),
    `expected "${kind}" among ${JSON.stringify(r.errors)}`,
  );
}

function accepts(adds: AddOp[], reads: ReadOp[]): void {
  const r = checkSetLinearizability(adds, reads);
  assert.deepEqual(r.errors, []);
  assert.equal(r.ok, true);
}

test('accepts sequential and concurrent histories', () => {
  accepts([add('a', 0, 1), add('b', 2, 3)], [read(1.5, 1.8, ['a']), read(4, 5, ['a', 'b'])]);
  // A read concurrent with an add may or may not see it, and two reads concurrent with it may differ.
  const adds = [add('a', 0, 10)];
  accepts(adds, [read(1, 2, [])]);
  accepts(adds, [read(1, 2, ['a'])]);
  accepts(adds, [read(1, 5, ['a']), read(2, 6, [])]);
  // An indeterminate add may take effect, even long after the client gave up, or never.
  accepts([add('a', 0, 1, 'indeterminate')], [read(2, 3, []), read(50, 51, ['a'])]);
  accepts([add('a', 0, 1, 'indeterminate')], [read(2, 3, [])]);
  // A failed add that is never seen; an acknowledged add no read saw, with every read before or during it.
  accepts([add('a', 0, 1, 'failed'), add('b', 5, 9)], [read(2, 6, [])]);
  accepts([], []);
});

test('rejects a stale read', () => {
  rejects([add('a', 0, 10)], [read(1, 2, ['a']), read(3, 4, [])], 'stale read');
});

test('rejects a lost acknowledged add', () => {
  rejects([add('a', 0, 1), add('b', 0, 1)], [read(2, 3, ['b'])], 'lost acknowledged add');
});

test('rejects a phantom', () => {
  rejects([add('a', 0, 1)], [read(2, 3, ['a', 'zz'])], 'phantom');
});

test('rejects a failed add that is seen, and an add seen before it was invoked', () => {
  rejects([add('a', 0, 1, 'failed')], [read(2, 3, ['a'])], 'failed add seen');
  rejects([add('a', 5, 6)], [read(2, 3, ['a'])], 'add seen before invoked');
});

test('rejects an indeterminate add seen and then unseen', () => {
  rejects([add('a', 0, 1, 'indeterminate')], [read(2, 3, ['a']), read(4, 5, [])], 'stale read');
});

test('rejects incomparable reads, even concurrent ones', () => {
  rejects([add('a', 0, 10), add('b', 0, 10)], [read(1, 9, ['a']), read(1, 9, ['b'])], 'incomparable reads');
});

test('rejects what only the exact check sees', () => {
  // b was acknowledged before a began, so any read that sees a must see b; the read began before both.
  rejects([add('b', 0, 1), add('a', 2, 3)], [read(-1, 4, ['a'])], 'no linearization');
  // Two reads each concurrent with the other: r1 saw x, r2 saw x and y; y completed before r1 began, so r1 must
  // have seen it.
  rejects([add('x', 0, 100), add('y', 0, 1)], [read(2, 10, ['x']), read(5, 20, ['x', 'y'])], 'lost acknowledged add');
  // Reads r1 ⊂ r2, with r2 over before r1 began: the chain order runs against real time.
  rejects([add('a', 0, 100)], [read(50, 60, []), read(10, 20, ['a'])], 'stale read');
});

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A history of a sequential set with random intervals around each operation's point, and some outcomes blurred. */
function generate(seed: number): { adds: AddOp[]; reads: ReadOp[] } {
  const r = rng(seed);
  const adds: AddOp[] = [];
  const reads: ReadOp[] = [];
  const state: string[] = [];
  let t = 0;
  for (let i = 0; i < 60; i++) {
    t += r() * 3;
    const invoke = t - r() * 10;
    const complete = t + r() * 10;
    if (r() < 0.5) {
      const element = `s${i}`;
      const u = r();
      if (u < 0.1) {
        // Never took effect: failed, or indeterminate.
        adds.push(add(element, invoke, complete, r() < 0.5 ? 'failed' : 'indeterminate'));
        continue;
      }
      state.push(element);
      // Took effect at t; the client may not know (a timeout before or after the point).
      adds.push(add(element, invoke, complete, u < 0.25 ? 'indeterminate' : 'ok'));
      if (u < 0.25) adds[adds.length - 1].complete = invoke + r() * 20;
    } else {
      reads.push(
        read(
          invoke,
          complete,
          [...state].sort(() => r() - 0.5),
        ),
      );
    }
  }
  return { adds, reads };
}

test('accepts generated linearizable histories, and rejects them with one read made stale', () => {
  let mutated = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const { adds, reads } = generate(seed);
    const res = checkSetLinearizability(adds, reads);
    assert.deepEqual(res.errors, [], `seed ${seed}`);
    // Drop from the last read an element an earlier, finished read returned: a stale read.
    const last = reads[reads.length - 1];
    const before = reads.find((x) => x.complete < last.invoke && [...x.elements].length > 0);
    if (!last || !before) continue;
    const gone = [...before.elements][0];
    const bad = [...reads.slice(0, -1), { ...last, elements: [...last.elements].filter((x) => x !== gone) }];
    assert.equal(checkSetLinearizability(adds, bad).ok, false, `seed ${seed}: stale read accepted`);
    mutated++;
  }
  assert.ok(mutated > 100, `only ${mutated} histories could be mutated`);
});
