// Three managers under a write load while a chaos loop kills one of them with SIGKILL (sometimes the leader) and
// restarts it on the same data root, at least 100 times, never more than one down at a time so that a majority
// stays. Writers create services with unique names on random live managers and record what they were told
// (acknowledged, failed, or indeterminate: a timeout, a lost connection, a no-leader answer that may come after
// the leader took the proposal); readers list services on random live managers. Afterwards every acknowledged
// create must be on every manager, nothing that was never attempted may appear, and the whole history must be
// linearizable as a grow-only set (test/support/set-linearizability.ts). Raft ticks are 100 ms here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { TestDaemon, eventually, formManagers, freePort, sleep } from './harness';
import { checkSetLinearizability, type AddOp, type ReadOp } from '../support/set-linearizability';
import type { Node, Service, SwarmInfo } from '../../src/types/swarm';

const TICK_MS = 100;
const CYCLES = Number(process.env.SHOAL_FAULT_CYCLES ?? 100);
const WRITERS = 4;
const READERS = 2;
/** A client gives up on a request after this long: the outcome of a write is then unknown. */
const REQUEST_TIMEOUT_MS = 10_000;
const env = { SHOAL_DEBUG_RAFT_TICK_MS: String(TICK_MS) };
const managers = [new TestDaemon([], env), new TestDaemon([], env), new TestDaemon([], env)];
const names = ['m0', 'm1', 'm2'];
const ids: string[] = [];
/** The manager the chaos loop has killed, if any: clients pick among the others. */
let down: TestDaemon | undefined;

interface Reply {
  status: number;
  body: string;
}

/** One request on a daemon's socket, failing after `timeoutMs` (the daemon may be dead or stuck). */
function call(d: TestDaemon, method: string, path: string, body?: object, timeoutMs = REQUEST_TIMEOUT_MS) {
  return new Promise<Reply>((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: d.socket,
        agent: false,
        method,
        path,
        headers: data !== undefined ? { 'Content-Type': 'application/json' } : {},
      },
      (res) => {
        let out = '';
        res.on('data', (c) => (out += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: out }));
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error('client timeout')), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(data);
  });
}

const info = async (d: TestDaemon) => (await d.json<{ Swarm: SwarmInfo }>('GET', '/info')).Swarm;
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)];
const live = () => managers.filter((d) => d !== down);
const serviceNames = (body: string) => (JSON.parse(body) as Service[]).map((s) => s.Spec.Name!);

/** The leader's index, as some live manager reports it, if one does now. */
async function leaderIndex(): Promise<number | undefined> {
  for (const d of live()) {
    const r = await call(d, 'GET', '/nodes', undefined, 3000).catch(() => undefined);
    if (r?.status !== 200) continue;
    const l = (JSON.parse(r.body) as Node[]).find((n) => n.ManagerStatus?.Leader);
    if (l && ids.includes(l.ID)) return ids.indexOf(l.ID);
  }
  return undefined;
}

before(async () => {
  await Promise.all(managers.map((d) => d.start()));
  const addrs: string[] = [];
  for (let i = 0; i < 3; i++) addrs.push(`127.0.0.1:${await freePort()}`);
  formManagers(managers, addrs);
  for (const d of managers) ids.push((await info(d)).NodeID);
  await eventually(async () => (await leaderIndex()) !== undefined, 20_000, 'a leader');
});
after(() => Promise.all(managers.map((d) => d.stop())));

test(`${CYCLES} kill -9 / restart cycles under a write load: no acknowledged write lost, the history linearizable`, async () => {
  const adds: AddOp[] = [];
  const reads: ReadOp[] = [];
  const answers = new Map<string, number>();
  const tally = (what: string) => answers.set(what, (answers.get(what) ?? 0) + 1);
  let stop = false;

  async function writer(w: number): Promise<void> {
    for (let seq = 0; !stop; seq++) {
      const d = pick(live());
      const op: AddOp = { element: `w${w}-${seq}`, invoke: performance.now(), complete: 0, outcome: 'indeterminate' };
      adds.push(op);
      const spec = {
        Name: op.element,
        TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '600'] } },
        Mode: { Replicated: { Replicas: 0 } },
      };
      try {
        const r = await call(d, 'POST', '/v1.41/services/create', spec);
        op.complete = performance.now();
        const message = r.status < 300 ? '' : ((JSON.parse(r.body) as { message?: string }).message ?? r.body);
        if (r.status === 201) op.outcome = 'ok';
        // Known not to have been committed: the entry the leader placed it at holds another, or a client error.
        else if (/lost with a change of leader/.test(message) || (r.status >= 400 && r.status < 500))
          op.outcome = 'failed';
        // Anything else (no leader after the deadline, a forward whose answer was lost) may still commit.
        else op.outcome = 'indeterminate';
        tally(r.status === 201 ? '201' : `${r.status} ${message.slice(0, 80)}`);
      } catch (err) {
        op.complete = performance.now();
        tally(`error ${(err as Error).message.slice(0, 40)}`);
      }
      // As a client would, wait a little before trying again after a failure (an election takes a second or two).
      if (op.outcome !== 'ok') await sleep(100 + Math.random() * 100);
    }
  }

  async function reader(): Promise<void> {
    while (!stop) {
      const d = pick(live());
      const invoke = performance.now();
      const r = await call(d, 'GET', '/v1.41/services').catch(() => undefined);
      const complete = performance.now();
      if (r?.status === 200)
        reads.push({ invoke, complete, elements: serviceNames(r.body), where: names[managers.indexOf(d)] });
      else tally(`read ${r ? `${r.status} ${r.body.slice(0, 80)}` : 'error'}`);
      await sleep(50);
    }
  }

  let leaderKills = 0;
  async function chaos(): Promise<void> {
    for (let c = 0; c < CYCLES; c++) {
      // A third of the cycles aim at the leader; the others at any manager (which may be the leader too).
      const li = c % 3 === 0 ? await leaderIndex() : undefined;
      const i = li ?? Math.floor(Math.random() * 3);
      if (i === (await leaderIndex())) leaderKills++;
      const victim = managers[i];
      down = victim;
      await victim.halt('SIGKILL');
      await sleep(Math.random() * 200);
      await victim.start();
      down = undefined;
      await sleep(100 + Math.random() * 300);
    }
  }

  const t0 = Date.now();
  const load = [...Array.from({ length: WRITERS }, (_, w) => writer(w)), ...Array.from({ length: READERS }, reader)];
  await chaos();
  stop = true;
  await Promise.all(load);
  const chaosMs = Date.now() - t0;

  // Healed (all three run): they converge on one set of services.
  const finals = (await eventually(
    async () => {
      const sets = await Promise.all(
        managers.map(async (d) => {
          const invoke = performance.now();
          const r = await call(d, 'GET', '/v1.41/services');
          if (r.status !== 200) throw new Error(`${r.status} ${r.body}`);
          return {
            invoke,
            complete: performance.now(),
            elements: serviceNames(r.body),
            where: names[managers.indexOf(d)],
          };
        }),
      );
      const key = (s: ReadOp) => JSON.stringify([...s.elements].sort());
      return sets.every((s) => key(s) === key(sets[0])) ? sets : undefined;
    },
    60_000,
    'the managers to converge',
  ))!;
  reads.push(...finals);

  const ok = adds.filter((a) => a.outcome === 'ok');
  const failed = adds.filter((a) => a.outcome === 'failed');
  const attempted = new Set(adds.map((a) => a.element));
  const summary = {
    cycles: CYCLES,
    leaderKills,
    chaosSeconds: Math.round(chaosMs / 1000),
    writes: adds.length,
    acknowledged: ok.length,
    failed: failed.length,
    indeterminate: adds.length - ok.length - failed.length,
    indeterminateCommitted: adds.filter(
      (a) => a.outcome === 'indeterminate' && [...finals[0].elements].includes(a.element),
    ).length,
    reads: reads.length,
    finalServices: [...finals[0].elements].length,
    answers: Object.fromEntries([...answers].sort((a, b) => b[1] - a[1])),
  };
  console.log(`raft-faults: ${JSON.stringify(summary, null, 2)}`);

  // (a) every acknowledged create is on every manager; (b) nothing that was never attempted appears.
  for (const f of finals) {
    const have = new Set(f.elements);
    const lost = ok.filter((a) => !have.has(a.element)).map((a) => a.element);
    assert.deepEqual(lost, [], `acknowledged creates missing on ${f.where}`);
    const phantoms = [...have].filter((x) => !attempted.has(x));
    assert.deepEqual(phantoms, [], `services on ${f.where} that no one created`);
    const happened = failed.filter((a) => have.has(a.element)).map((a) => a.element);
    assert.deepEqual(happened, [], `creates that failed but exist on ${f.where}`);
  }
  // (c) the history is linearizable.
  const res = checkSetLinearizability(adds, reads);
  assert.ok(res.ok, `the history is not linearizable:\n${res.errors.join('\n')}`);
  assert.ok(ok.length > CYCLES, `too few acknowledged writes to mean anything: ${ok.length}`);
});
