// A swarm of real daemons on 127.0.0.1 for the CA tests: one manager and some workers, heartbeats at 1 s.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, eventually, freePort } from './harness';
import type { Node, Swarm, SwarmInfo, Task } from '../../src/types/swarm';

export const ok = (r: { code: number; stderr: string; stdout?: string }) =>
  assert.equal(r.code, 0, `${r.stderr}\n${r.stdout ?? ''}`);
export const certFile = (d: TestDaemon, name: string) => join(d.dataRoot, 'certificates', name);
export const readCert = (d: TestDaemon, name = 'swarm-node.crt') => readFileSync(certFile(d, name), 'utf8');
/** The node key without swarmkit's PEM headers (kek-version), which OpenSSL does not take. */
export const readKey = (d: TestDaemon) =>
  readFileSync(certFile(d, 'swarm-node.key'), 'utf8').replace(/^[\w-]+: .*\n/gm, '');

export class Cluster {
  readonly manager: TestDaemon;
  readonly workers: TestDaemon[];
  addr = '';
  readonly ids = new Map<TestDaemon, string>();

  constructor(workers: number, env: Record<string, string> = {}) {
    this.manager = new TestDaemon([], env);
    this.workers = Array.from({ length: workers }, () => new TestDaemon([], env));
  }

  get all(): TestDaemon[] {
    return [this.manager, ...this.workers];
  }

  async start(initArgs: string[] = []): Promise<void> {
    await Promise.all(this.all.map((d) => d.start()));
    const port = await freePort();
    this.addr = `127.0.0.1:${port}`;
    ok(this.manager.shoal(['swarm', 'init', '--listen-addr', this.addr, '--advertise-addr', this.addr, ...initArgs]));
    ok(this.manager.shoal(['swarm', 'update', '--dispatcher-heartbeat', '1s']));
    this.ids.set(this.manager, (await this.info(this.manager)).NodeID);
    const token = this.manager.shoal(['swarm', 'join-token', '-q', 'worker']).stdout.trim();
    for (const w of this.workers) await this.join(w, token);
    await eventually(
      async () => {
        const ns = await this.nodes();
        return ns.length === this.all.length && ns.every((n) => n.Status.State === 'ready');
      },
      15_000,
      'every node ready',
    );
  }

  async join(w: TestDaemon, token: string): Promise<void> {
    const p = await freePort();
    const r = w.shoal([
      'swarm',
      'join',
      '--token',
      token,
      '--listen-addr',
      `127.0.0.1:${p}`,
      '--advertise-addr',
      `127.0.0.1:${p}`,
      this.addr,
    ]);
    ok(r);
    this.ids.set(w, (await this.info(w)).NodeID);
  }

  info = async (d: TestDaemon) => (await d.json<{ Swarm: SwarmInfo }>('GET', '/info')).Swarm;
  nodes = () => this.manager.json<Node[]>('GET', '/nodes');
  swarm = () => this.manager.json<Swarm>('GET', '/swarm');
  tasks = () => this.manager.json<Task[]>('GET', '/tasks');

  stop(): Promise<unknown> {
    return Promise.all(this.all.map((d) => d.stop()));
  }
}
