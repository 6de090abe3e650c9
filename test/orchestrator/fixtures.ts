// What the orchestrator tests share: a node as the store keeps it, a manager on an in-memory log that the test
// closes, and polling for a condition.
import { after } from 'node:test';
import { Manager } from '../../src/manager/manager';
import type { Node } from '../../src/types/swarm';

export function testNode(id: string, opts: { labels?: Record<string, string>; state?: 'ready' | 'down' } = {}): Node {
  return {
    ID: id,
    Version: {},
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Labels: opts.labels ?? {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
      Engine: { EngineVersion: 'test' },
      TLSInfo: {},
    },
    Status: { State: opts.state ?? 'ready', Addr: '127.0.0.1' },
  };
}

const open: Manager[] = [];
after(async () => {
  for (const m of open) await m.stop();
});

/** A manager (store, orchestrator, scheduler) with `nodes` registered, not yet started; stopped after the file's tests. */
export async function managerWith(nodes: Node[]): Promise<Manager> {
  const m = await Manager.open();
  open.push(m);
  await m.store.update((tx) => nodes.forEach((n) => tx.create('nodes', n)));
  return m;
}

/** Polls `fn` every 10 ms until it returns something truthy; fails after `ms`. */
export async function until<T>(fn: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
