// A network partition between real network namespaces: three managers, each a daemon in its own netns with a veth
// to a bridge in the root namespace and an address in a private /24, listening on port 2377 there. Cutting the
// leader's veth leaves it in a minority: it cannot commit (a write sent to it fails with the no-leader error, and
// it serves no reads), while the two others elect a leader within three election timeouts and accept writes. Once
// the link is back the old leader follows the new one, has every committed write, and the write it was asked for
// during the partition is nowhere. The API stays on each daemon's Unix socket, reachable from the root namespace.
// Needs root, iproute2 and the bridge and veth drivers. Raft ticks are 100 ms here (election timeout 1–2 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { TestDaemon, eventually, formManagers } from './harness';
import { MSG } from '../../src/api/errors';
import type { Node, Service, SwarmInfo } from '../../src/types/swarm';

const TICK_MS = 100;
const ELECTION_TIMEOUT_MS = 2 * 10 * TICK_MS; // the longest: electionTick randomised in [10, 20) ticks
const env = { SHOAL_DEBUG_RAFT_TICK_MS: String(TICK_MS) };

// Names unique to this run (interface names have at most 15 characters), and a /24 unlikely to clash.
const tag = `s${process.pid % 1_000_000}`;
const subnet = `10.213.${1 + Math.floor(Math.random() * 254)}`;
const bridge = `${tag}br`;
const nets = [0, 1, 2].map((i) => ({
  ns: `shoal-${process.pid}-m${i}`,
  /** The root namespace's end, on the bridge: down cuts this manager off. */
  hostVeth: `${tag}m${i}`,
  nsVeth: `${tag}m${i}p`,
  ip: `${subnet}.${i + 1}`,
  addr: `${subnet}.${i + 1}:2377`,
}));
const managers = nets.map((n) => new TestDaemon([], env, ['ip', 'netns', 'exec', n.ns]));
const ids: string[] = [];

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
}

const info = async (d: TestDaemon) => (await d.json<{ Swarm: SwarmInfo }>('GET', '/info')).Swarm;
const serviceNames = async (d: TestDaemon) =>
  (await d.json<Service[]>('GET', '/services')).map((s) => s.Spec.Name).sort();
/** Who `d` says leads, when it can tell (reading nodes needs a quorum). */
const leaderSeenBy = async (d: TestDaemon) =>
  (await d.json<Node[]>('GET', '/nodes').catch(() => undefined))?.find((n) => n.ManagerStatus?.Leader)?.ID;
const create = (d: TestDaemon, name: string) =>
  d.api('POST', '/v1.41/services/create', {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '600'] } },
    Mode: { Replicated: { Replicas: 0 } },
  });

async function agreedLeader(live: TestDaemon[], ms = 20_000): Promise<string> {
  return (await eventually(
    async () => {
      const seen = new Set(await Promise.all(live.map(leaderSeenBy)));
      const [l] = [...seen];
      return seen.size === 1 && l ? l : undefined;
    },
    ms,
    'the managers to agree on a leader',
  ))!;
}

before(async () => {
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('link', 'set', bridge, 'up');
  for (const n of nets) {
    ip('netns', 'add', n.ns);
    ip('link', 'add', n.hostVeth, 'type', 'veth', 'peer', 'name', n.nsVeth);
    ip('link', 'set', n.nsVeth, 'netns', n.ns);
    ip('link', 'set', n.hostVeth, 'master', bridge);
    ip('link', 'set', n.hostVeth, 'up');
    ip('-n', n.ns, 'link', 'set', 'lo', 'up');
    ip('-n', n.ns, 'addr', 'add', `${n.ip}/24`, 'dev', n.nsVeth);
    ip('-n', n.ns, 'link', 'set', n.nsVeth, 'up');
  }
  // The namespaces must reach each other across the bridge (a host firewall on bridged traffic, e.g. a FORWARD
  // policy of DROP with br_netfilter, would stop them): a connection refused (a reset came back) proves it.
  for (const n of nets.slice(1)) {
    const probe = `require('net').connect(9, '${n.ip}').on('error', (e) => process.exit(e.code === 'ECONNREFUSED' ? 0 : 1))`;
    const r = spawnSync('ip', ['netns', 'exec', nets[0].ns, process.execPath, '-e', probe], {
      encoding: 'utf8',
      timeout: 5000,
    });
    assert.equal(r.status, 0, `${nets[0].ns} cannot reach ${n.ip} across ${bridge}: ${r.stderr}`);
  }

  await Promise.all(managers.map((d) => d.start()));
  formManagers(
    managers,
    nets.map((n) => n.addr),
  );
  for (const d of managers) ids.push((await info(d)).NodeID);
});

after(async () => {
  await Promise.all(managers.map((d) => d.stop()));
  // Removing a namespace removes the veth end in it, and with it the pair; then the bridge.
  for (const n of nets) {
    spawnSync('ip', ['netns', 'del', n.ns]);
    spawnSync('ip', ['link', 'del', n.hostVeth], { stdio: 'ignore' });
  }
  spawnSync('ip', ['link', 'del', bridge]);
});

test('three managers in three network namespaces agree on a leader and replicate a write', async () => {
  await agreedLeader(managers);
  const r = await create(managers[1], 'before');
  assert.equal(r.status, 201, r.body);
  for (const d of managers) assert.deepEqual(await serviceNames(d), ['before']);
});

test('a partitioned leader cannot commit; the majority elects another and writes; healed, the old leader converges', async () => {
  const leaderId = await agreedLeader(managers);
  const i = ids.indexOf(leaderId);
  const old = managers[i];
  const rest = managers.filter((d) => d !== old);

  ip('link', 'set', nets[i].hostVeth, 'down');
  const cut = Date.now();
  try {
    // Meanwhile: a write sent to the old leader (which may still believe it leads for an election timeout).
    const minority = create(old, 'minority').then((r) => ({ ...r, after: Date.now() - cut }));

    const next = await eventually(
      async () => {
        for (const d of rest) {
          const l = await leaderSeenBy(d);
          if (l && l !== leaderId) return l;
        }
        return undefined;
      },
      3 * ELECTION_TIMEOUT_MS + 5000,
      'a new leader in the majority',
    );
    const elected = Date.now() - cut;
    assert.ok(elected <= 3 * ELECTION_TIMEOUT_MS, `elected after ${elected} ms`);
    const w = await create(rest[0], 'during');
    assert.equal(w.status, 201, w.body);
    for (const d of rest) assert.deepEqual(await serviceNames(d), ['before', 'during']);

    const m = await minority;
    // The old leader either took the proposal and could not commit it in time, or had already stepped down.
    const refused = `${m.status} ${(JSON.parse(m.body) as { message: string }).message}`;
    assert.ok(
      refused === '500 rpc error: code = DeadlineExceeded desc = context deadline exceeded' ||
        refused === `503 ${MSG.noLeader}`,
      `the minority accepted a write after ${m.after} ms: ${m.body}`,
    );
    // The old leader has stepped down and serves no reads of the cluster: it cannot tell what is committed.
    const r = await old.api('GET', '/services');
    assert.equal(r.status, 503, r.body);
    assert.equal((JSON.parse(r.body) as { message: string }).message, MSG.noLeader);
    const again = await create(old, 'minority-2');
    assert.equal(again.status, 503, again.body);
    console.log(
      `partition: new leader after ${elected} ms; the minority's write failed after ${m.after} ms; ${next} leads`,
    );
  } finally {
    ip('link', 'set', nets[i].hostVeth, 'up');
  }

  // Healed: the old leader follows the new one and holds exactly what was committed.
  const newLeader = await agreedLeader(managers);
  assert.notEqual(newLeader, leaderId);
  await eventually(
    async () => JSON.stringify(await serviceNames(old)) === JSON.stringify(['before', 'during']),
    20_000,
    'the old leader to catch up',
  );
  for (const d of managers) assert.deepEqual(await serviceNames(d), ['before', 'during']);
  // And it can write again, through the new leader.
  const w = await create(old, 'after');
  assert.equal(w.status, 201, w.body);
  for (const d of managers) assert.deepEqual(await serviceNames(d), ['after', 'before', 'during']);
});
