// `swarm join` against real managers on loopback: the root is pinned by the token's digest, the certificate
// comes over TLS verified against that root, and a man in the middle with another CA is caught before the token
// is ever sent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateJoinToken, parseNodeCertificate, verifyChain } from '../../src/ca';
import { CAServer, NODE_CA_SERVICE } from '../../src/ca/ca-server';
import { MemoryCAStore } from '../../src/ca/ca-store';
import { MSG_FIPS_REQUIRED, fetchPinnedRoot, joinSwarm } from '../../src/agent/join';
import { clusterAuthorizer } from '../../src/manager/authz';
import { RpcClient, RpcError, RpcServer, type NodeCredentials } from '../../src/transport';
import { addrOf, makeSwarm, tokens, type Swarm } from '../transport/fixtures';

/** A manager's port with the CA and a dispatcher stand-in; counts the certificate requests it gets. */
async function manager(swarm: Swarm, creds: NodeCredentials = swarm.creds.manager, rootOverride?: string) {
  const caStore = new MemoryCAStore(swarm.store);
  const server = new RpcServer({
    credentials: creds,
    authorize: clusterAuthorizer({ clusterId: swarm.clusterId, isRemoved: (id) => caStore.isRemoved(id) }),
  });
  const ca = new CAServer(caStore);
  const seen = { issue: 0 };
  server.unary('CA', 'GetRootCACertificate', () => ({
    Certificate: rootOverride ?? ca.getRootCACertificate().Certificate,
  }));
  server.unary(NODE_CA_SERVICE, 'IssueNodeCertificate', (req: never, ctx) => {
    seen.issue++;
    return ca.issueNodeCertificate(req, ctx);
  });
  server.unary('Dispatcher', 'Session', (_req, ctx) => ({ node: ctx.peer }));
  const addr = addrOf(await server.listen(0, '127.0.0.1'));
  return { server, addr, seen };
}

let swarm: Swarm;
let real: Awaited<ReturnType<typeof manager>>;

before(async () => {
  swarm = await makeSwarm();
  real = await manager(swarm);
});
after(async () => {
  await real.server.close();
});

const quick = { attempts: 1, retryDelayMs: 10, timeoutMs: 5000 };

describe('joining', () => {
  test('with the worker token: a worker certificate, then mutual TLS with it', async () => {
    const before = swarm.store.count('nodes');
    const r = await joinSwarm({ token: tokens(swarm.store).worker, remoteAddr: real.addr, ...quick });
    assert.equal(r.role, 'swarm-worker');
    assert.equal(r.clusterId, swarm.clusterId);
    assert.equal(r.rootCertPem, swarm.root.certPem);
    assert.ok(verifyChain(r.certPem, swarm.root.certPem));
    assert.equal(parseNodeCertificate(r.certPem).nodeId, r.nodeId);
    assert.match(r.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(swarm.store.count('nodes'), before + 1);
    assert.equal(swarm.store.get('nodes', r.nodeId)!.Spec.Role, 'worker');

    const c = new RpcClient({ credentials: { certPem: r.certPem, keyPem: r.keyPem, rootCertPem: r.rootCertPem } });
    try {
      const res = await c.call<object, { node: unknown }>(real.addr, 'Dispatcher', 'Session', {});
      assert.deepEqual(res.node, { nodeId: r.nodeId, role: 'swarm-worker', clusterId: swarm.clusterId });
    } finally {
      c.close();
    }
  });

  test('the availability asked for is recorded', async () => {
    const r = await joinSwarm({
      token: tokens(swarm.store).worker,
      remoteAddr: real.addr,
      availability: 'pause',
      ...quick,
    });
    assert.equal(swarm.store.get('nodes', r.nodeId)!.Spec.Availability, 'pause');
  });

  test('a token with the right root but a wrong secret is refused by the manager', async () => {
    const t = tokens(swarm.store).worker;
    const wrong = t.slice(0, -25) + 'z'.repeat(25);
    await assert.rejects(
      joinSwarm({ token: wrong, remoteAddr: real.addr, ...quick }),
      (err: unknown) =>
        err instanceof RpcError &&
        err.message === 'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster',
    );
  });

  test('the manager token makes a manager: its certificate says so', async () => {
    const r = await joinSwarm({ token: tokens(swarm.store).manager, remoteAddr: real.addr, ...quick });
    assert.equal(r.role, 'swarm-manager');
  });

  test('a malformed token fails before any connection', async () => {
    await assert.rejects(
      joinSwarm({ token: 'SWMTKN-1-abc', remoteAddr: '127.0.0.1:1', ...quick }),
      /^Error: invalid join token$/,
    );
  });

  test('a FIPS cluster token is refused: this node is not FIPS-enabled', async () => {
    const fips = generateJoinToken(swarm.root.certPem, { fips: true });
    await assert.rejects(joinSwarm({ token: fips, remoteAddr: real.addr, ...quick }), { message: MSG_FIPS_REQUIRED });
  });

  test('an unreachable manager is Unavailable after the retries', async () => {
    const started = Date.now();
    await assert.rejects(
      joinSwarm({ token: tokens(swarm.store).worker, remoteAddr: '127.0.0.1:1', attempts: 3, retryDelayMs: 20 }),
      (err: unknown) => err instanceof RpcError && err.code === 'Unavailable',
    );
    assert.ok(Date.now() - started >= 40);
  });
});

describe('a man in the middle', () => {
  test('a fake manager with its own CA: the root does not match the token, and no token is sent', async () => {
    const fakeSwarm = await makeSwarm();
    const fake = await manager(fakeSwarm);
    try {
      const token = tokens(swarm.store).worker;
      const expected = createHash('sha256').update(swarm.root.certPem).digest('hex');
      await assert.rejects(joinSwarm({ token, remoteAddr: fake.addr, ...quick }), {
        message: `remote CA does not match fingerprint. Expected: ${expected}`,
      });
      assert.equal(fake.seen.issue, 0);
    } finally {
      await fake.server.close();
    }
  });

  test("a fake manager that relays the real root but holds another CA's certificate: TLS stops it first", async () => {
    const fakeSwarm = await makeSwarm();
    const fake = await manager(fakeSwarm, fakeSwarm.creds.manager, swarm.root.certPem);
    try {
      // The root it relays passes the digest check...
      assert.equal(await fetchPinnedRoot(tokens(swarm.store).worker, fake.addr, quick), swarm.root.certPem);
      // ...but its certificate does not chain to that root, so the token never leaves.
      await assert.rejects(
        joinSwarm({ token: tokens(swarm.store).worker, remoteAddr: fake.addr, ...quick }),
        (err: unknown) => err instanceof RpcError && err.code === 'Unavailable',
      );
      assert.equal(fake.seen.issue, 0);
    } finally {
      await fake.server.close();
    }
  });

  test('a root bundle with one extra certificate does not match the digest', async () => {
    const fakeSwarm = await makeSwarm();
    const fake = await manager(fakeSwarm, fakeSwarm.creds.manager, swarm.root.certPem + fakeSwarm.root.certPem);
    try {
      await assert.rejects(
        fetchPinnedRoot(tokens(swarm.store).worker, fake.addr, quick),
        /^Error: remote CA does not match fingerprint\. Expected: [0-9a-f]{64}$/,
      );
    } finally {
      await fake.server.close();
    }
  });

  test('a worker posing as a manager (our CA, worker certificate) is refused', async () => {
    const fake = await manager(swarm, swarm.creds.worker);
    try {
      await assert.rejects(
        joinSwarm({ token: tokens(swarm.store).worker, remoteAddr: fake.addr, ...quick }),
        (err: unknown) => err instanceof RpcError && err.code === 'Unavailable' && /role swarm-worker/.test(err.desc),
      );
      assert.equal(fake.seen.issue, 0);
    } finally {
      await fake.server.close();
    }
  });
});
