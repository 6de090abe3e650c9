// The swarm outlives its daemon: state comes back exactly after a clean stop and after kill -9,
// and a damaged log stops the daemon with an error that names the file and offset.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, eventually, sleep } from './harness';
import type { Node, Service, Task } from '../../src/types/swarm';

const d = new TestDaemon();
before(() => d.start());
after(() => d.stop());

interface SwarmView {
  ID: string;
  Version: { Index: number };
  JoinTokens: { Worker: string; Manager: string };
  TLSInfo: unknown;
  Spec: unknown;
}

const runningTasks = async (service: string) =>
  (await d.json<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`)).filter(
    (t) => t.Status.State === 'running' && t.DesiredState === 'running',
  );

test('after a restart the swarm comes back exactly: cluster, CA, tokens, nodes, services; tasks run again', async () => {
  const init = d.shoal(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  assert.equal(init.code, 0, init.stderr);
  assert.equal(d.shoal(['swarm', 'join-token', '--rotate', '-q', 'worker']).code, 0);
  const self = d.shoal(['node', 'inspect', '--format', '{{.ID}}', 'self']).stdout.trim();
  assert.equal(d.shoal(['node', 'update', '--label-add', 'zone=a', self]).code, 0);
  const c = d.shoal(['service', 'create', '--name', 'keep', '--replicas', '2', '-e', 'A=1', 'busybox', 'sleep', '300']);
  assert.equal(c.code, 0, c.stderr);
  const swarm = await d.json<SwarmView>('GET', '/swarm');
  const nodes = await d.json<Node[]>('GET', '/nodes');
  const services = await d.json<Service[]>('GET', '/services');
  const tasksBefore = await runningTasks('keep');
  assert.equal(tasksBefore.length, 2);
  const caCert = readFileSync(join(d.dataRoot, 'certificates', 'swarm-root-ca.crt'), 'utf8');

  assert.equal(await d.halt('SIGTERM'), 0);
  await d.start();

  const info = await d.json<{ Swarm: { LocalNodeState: string; NodeID: string } }>('GET', '/info');
  assert.equal(info.Swarm.LocalNodeState, 'active');
  assert.equal(info.Swarm.NodeID, nodes[0].ID);
  const swarm2 = await d.json<SwarmView>('GET', '/swarm');
  assert.equal(swarm2.ID, swarm.ID);
  assert.deepEqual(swarm2.JoinTokens, swarm.JoinTokens);
  assert.deepEqual(swarm2.TLSInfo, swarm.TLSInfo);
  assert.deepEqual(swarm2.Spec, swarm.Spec);
  assert.equal(readFileSync(join(d.dataRoot, 'certificates', 'swarm-root-ca.crt'), 'utf8'), caCert);
  const nodes2 = await d.json<Node[]>('GET', '/nodes');
  assert.deepEqual(
    nodes2.map((n) => [n.ID, n.Spec]),
    nodes.map((n) => [n.ID, n.Spec]),
  );
  const services2 = await d.json<Service[]>('GET', '/services');
  assert.deepEqual(
    services2.map((s) => [s.ID, s.Spec, s.Version]),
    services.map((s) => [s.ID, s.Spec, s.Version]),
  );
  // The tasks' processes died with the daemon; they are replaced and run again.
  await eventually(async () => (await runningTasks('keep')).length === 2, 20_000, 'two running tasks again');
  assert.equal(d.shoal(['service', 'rm', 'keep']).code, 0);
});

test('kill -9 during a burst of writes, 20 times: every acknowledged write is there after the restart', async () => {
  const acknowledged: string[] = [];
  for (let round = 0; round < 20; round++) {
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const name = `crash-${round}-${w}-${i}`;
        const r = await d
          .api('POST', '/services/create', {
            Name: name,
            TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['true'] } },
            Mode: { Replicated: { Replicas: 0 } },
          })
          .catch(() => undefined);
        if (r?.status === 201) acknowledged.push(name);
        else break;
      }
    });
    await sleep(100 + Math.floor(Math.random() * 200));
    await d.halt('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await d.start();
    const names = new Set((await d.json<Service[]>('GET', '/services')).map((s) => s.Spec.Name));
    const lost = acknowledged.filter((n) => !names.has(n));
    assert.deepEqual(lost, [], `round ${round}: acknowledged services missing after kill -9`);
  }
  assert.ok(acknowledged.length > 100, `only ${acknowledged.length} writes were acknowledged`);
});

test('a flipped byte in a WAL segment or a snapshot stops the daemon with the file and offset', async () => {
  // A small snapshot interval, then enough writes for a snapshot and a segment after it.
  const sw = await d.json<SwarmView & { Spec: { Raft: Record<string, unknown> } }>('GET', '/swarm');
  const up = await d.api('POST', `/swarm/update?version=${sw.Version.Index}`, {
    ...sw.Spec,
    Raft: { ...sw.Spec.Raft, SnapshotInterval: 20 },
  });
  assert.equal(up.status, 200, up.body);
  for (let i = 0; i < 30; i++) {
    const [n] = await d.json<Node[]>('GET', '/nodes');
    const r = await d.api('POST', `/nodes/${n.ID}/update?version=${n.Version.Index}`, {
      ...n.Spec,
      Labels: { i: String(i) },
    });
    assert.equal(r.status, 200, r.body);
  }
  await d.halt('SIGTERM');
  const raft = join(d.dataRoot, 'raft');
  const files = ['wal-v3-encrypted', 'snap-v3-encrypted'].flatMap((sub) =>
    readdirSync(join(raft, sub)).map((f) => join(raft, sub, f)),
  );
  assert.ok(
    files.some((f) => f.includes('snap-v3-encrypted')),
    `no snapshot file among ${files.join(', ')}`,
  );
  assert.ok(
    files.some((f) => f.includes('wal-v3-encrypted')),
    'no WAL segment',
  );
  for (const file of files) {
    const original = readFileSync(file);
    // Somewhere inside the payload, not the last byte: a torn tail is legitimately truncated.
    const at = Math.floor(original.length / 2);
    const flipped = Buffer.from(original);
    flipped[at] ^= 0x40;
    writeFileSync(file, flipped);
    await assert.rejects(d.start(), (err: Error) => {
      assert.match(err.message, /corrupt/i);
      assert.ok(err.message.includes(file), `the error names ${file}:\n${err.message}`);
      return true;
    });
    writeFileSync(file, original);
  }
  await d.start();
  assert.equal((await d.json<Node[]>('GET', '/nodes'))[0].Spec.Labels.i, '29');
});
