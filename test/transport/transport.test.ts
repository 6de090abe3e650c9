// The RPC layer over real mutual TLS on loopback: handshakes, identities, unary and streaming calls, errors,
// limits, protocol and cipher policy, credential swaps.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { createRootCA } from '../../src/ca';
import { rpcError } from '../../src/api/errors';
import {
  RpcClient,
  RpcError,
  isUnknownAuthority,
  RpcServer,
  TLS_CIPHERS,
  type Authorizer,
  type NodeCredentials,
  type PeerAuth,
} from '../../src/transport';
import { addrOf, issueCredentials, makeSwarm, type Swarm } from './fixtures';
import { probe } from './tls-probe';

/** Open/* needs no certificate; Test/* needs a verified one. */
const authorize: Authorizer = ({ service, auth }) => {
  if (service === 'Open') return auth.state === 'verified' ? auth.identity : undefined;
  if (auth.state !== 'verified') throw new RpcError('PermissionDenied', `not verified: ${auth.state}`);
  return auth.identity;
};

const describeAuth = (a: PeerAuth) =>
  a.state === 'verified' ? { state: a.state, notAfter: a.notAfter.toISOString() } : { state: a.state };

function testServer(credentials: NodeCredentials, extra: Partial<ConstructorParameters<typeof RpcServer>[0]> = {}) {
  const canceled: string[] = [];
  const server = new RpcServer({ credentials, authorize, ...extra });
  server
    .unary<{ NodeID?: string }, unknown>('Test', 'WhoAmI', (req, ctx) => ({
      peer: ctx.peer,
      claimed: req.NodeID,
      auth: describeAuth(ctx.auth),
      remoteAddress: ctx.remoteAddress,
    }))
    .unary('Test', 'Echo', (req) => req)
    .unary<{ kind: string }, unknown>('Test', 'Fail', (req) => {
      if (req.kind === 'rpc') throw new RpcError('FailedPrecondition', 'not now');
      if (req.kind === 'api') throw rpcError('NotFound', 'no such thing');
      throw new Error('plain failure');
    })
    .unary<{ ms: number }, unknown>('Test', 'Slow', async (req, ctx) => {
      await new Promise((r) => setTimeout(r, req.ms));
      return { aborted: ctx.signal.aborted };
    })
    .unary('Open', 'Ping', (_req, ctx) => ({ pong: true, peer: ctx.peer ?? null }))
    .serverStream<{ n: number; failAt?: number; big?: number }, unknown>('Test', 'Count', async (req, sink) => {
      for (let i = 0; i < req.n; i++) {
        if (req.failAt === i) throw new RpcError('Aborted', `stopped at ${i}`);
        await sink.send({ i, pad: req.big ? 'x'.repeat(req.big) : undefined });
      }
    })
    .serverStream<{ id: string }, unknown>('Test', 'Forever', async (req, sink, ctx) => {
      try {
        for (let i = 0; ; i++) {
          await sink.send({ i });
          await new Promise((r) => setTimeout(r, 5));
        }
      } catch (err) {
        if (ctx.signal.aborted) canceled.push(req.id);
        throw err;
      }
    });
  return { server, canceled };
}

let swarm: Swarm;
let server: RpcServer;
let canceled: string[];
let addr: string;
const clients: RpcClient[] = [];
const client = (opts: ConstructorParameters<typeof RpcClient>[0]) => {
  const c = new RpcClient(opts);
  clients.push(c);
  return c;
};

before(async () => {
  swarm = await makeSwarm();
  ({ server, canceled } = testServer(swarm.creds.manager));
  addr = addrOf(await server.listen(0, '127.0.0.1'));
});

after(async () => {
  for (const c of clients) c.close();
  await server.close();
});

const rejectsWith = (p: Promise<unknown>, code: string, message?: string | RegExp) =>
  assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.equal(err.desc, message);
    else if (message) assert.match(err.desc, message);
    return true;
  });

describe('handshake and identity', () => {
  test('a manager certificate: mutual TLS 1.3, and the server knows the caller from its certificate', async () => {
    const c = client({ credentials: swarm.creds.manager });
    const res = await c.call<object, { peer: unknown; auth: { state: string } }>(addr, 'Test', 'WhoAmI', {});
    assert.deepEqual(res.peer, { nodeId: swarm.ids.manager, role: 'swarm-manager', clusterId: 'cluster0' });
    assert.equal(res.auth.state, 'verified');
    const p = await probe(Number(addr.split(':')[1]), {
      cert: swarm.creds.manager.certPem,
      key: swarm.creds.manager.keyPem,
    });
    assert.equal(p.protocol, 'TLSv1.3');
    assert.equal(p.serverCert?.subject.OU, 'swarm-manager');
  });

  test('a worker is known as a worker', async () => {
    const c = client({ credentials: swarm.creds.worker });
    const res = await c.call<object, { peer: unknown }>(addr, 'Test', 'WhoAmI', {});
    assert.deepEqual(res.peer, { nodeId: swarm.ids.worker, role: 'swarm-worker', clusterId: 'cluster0' });
  });

  test('a body that claims another node ID changes nothing', async () => {
    const c = client({ credentials: swarm.creds.worker });
    const res = await c.call<object, { peer: { nodeId: string }; claimed: string }>(addr, 'Test', 'WhoAmI', {
      NodeID: swarm.ids.manager,
      nodeId: swarm.ids.manager,
      role: 'swarm-manager',
    });
    assert.equal(res.claimed, swarm.ids.manager);
    assert.equal(res.peer.nodeId, swarm.ids.worker);
  });

  test('no certificate: insecure methods answer, the others refuse', async () => {
    const c = client({ trustRoots: swarm.root.certPem });
    assert.deepEqual(await c.call(addr, 'Open', 'Ping', {}), { pong: true, peer: null });
    await rejectsWith(c.call(addr, 'Test', 'WhoAmI', {}), 'PermissionDenied', 'not verified: none');
  });

  test('an insecure method still sees a verified caller', async () => {
    const c = client({ credentials: swarm.creds.worker });
    const res = await c.call<object, { peer: { nodeId: string } }>(addr, 'Open', 'Ping', {});
    assert.equal(res.peer.nodeId, swarm.ids.worker);
  });

  for (const kind of ['foreign', 'expired'] as const) {
    test(`a ${kind} certificate is not an identity`, async () => {
      const c = client({ credentials: { ...swarm.creds[kind], rootCertPem: swarm.root.certPem } });
      await rejectsWith(c.call(addr, 'Test', 'WhoAmI', {}), 'PermissionDenied', 'not verified: unverified');
      const res = await c.call<object, { peer: unknown }>(addr, 'Open', 'Ping', {});
      assert.equal(res.peer, null);
    });
  }

  test("the server judges validity by its own clock: 200 days on, the manager's certificate has expired", async () => {
    const { server: s } = testServer(swarm.creds.manager, { now: () => new Date(Date.now() + 200 * 86_400_000) });
    const a = addrOf(await s.listen(0, '127.0.0.1'));
    try {
      const c = client({ credentials: swarm.creds.manager });
      await rejectsWith(c.call(a, 'Test', 'WhoAmI', {}), 'PermissionDenied', 'not verified: unverified');
    } finally {
      await s.close();
    }
  });
});

describe('the client checks the server', () => {
  async function serveAs(creds: NodeCredentials) {
    const { server: s } = testServer(creds);
    return { s, a: addrOf(await s.listen(0, '127.0.0.1')) };
  }

  test('a server with a worker certificate is not a manager', async () => {
    const { s, a } = await serveAs(swarm.creds.worker);
    try {
      const c = client({ credentials: swarm.creds.worker });
      await rejectsWith(c.call(a, 'Open', 'Ping', {}), 'Unavailable', /role swarm-worker, expected swarm-manager/);
    } finally {
      await s.close();
    }
  });

  test('a manager of another cluster (same CA, other O) is refused', async () => {
    const { s, a } = await serveAs(swarm.creds.otherCluster);
    try {
      const c = client({ credentials: swarm.creds.worker });
      await rejectsWith(c.call(a, 'Open', 'Ping', {}), 'Unavailable', /belongs to cluster cluster1/);
    } finally {
      await s.close();
    }
  });

  test("a manager certified by another swarm's CA is refused, even with the right subject", async () => {
    const { s, a } = await serveAs({ ...swarm.creds.foreignManager, rootCertPem: swarm.otherRoot.certPem });
    try {
      const c = client({ credentials: swarm.creds.worker });
      const failed = c.call(a, 'Open', 'Ping', {});
      await rejectsWith(failed, 'Unavailable', /connection error/);
      // Told apart from other failures: a node that sees it may have missed a root rotation.
      assert.ok(isUnknownAuthority(await failed.catch((e: unknown) => e)));
      const anon = client({ trustRoots: swarm.root.certPem });
      await rejectsWith(anon.call(a, 'Open', 'Ping', {}), 'Unavailable', /connection error/);
    } finally {
      await s.close();
    }
  });

  test('an expected node ID is checked too', async () => {
    const c = client({ credentials: swarm.creds.worker, expect: { role: 'swarm-manager', nodeId: 'someone' } });
    await rejectsWith(c.call(addr, 'Open', 'Ping', {}), 'Unavailable', /is for node manager0+1/);
  });

  test('an insecure client verifies nothing (root CA download only)', async () => {
    const { s, a } = await serveAs({ ...swarm.creds.foreignManager, rootCertPem: swarm.otherRoot.certPem });
    try {
      const c = client({ insecure: true });
      assert.deepEqual(await c.call(a, 'Open', 'Ping', {}), { pong: true, peer: null });
    } finally {
      await s.close();
    }
  });

  test('a client needs exactly one way to trust', () => {
    assert.throws(() => new RpcClient({}), /exactly one/);
    assert.throws(() => new RpcClient({ insecure: true, trustRoots: swarm.root.certPem }), /exactly one/);
  });
});

describe('protocol and cipher policy', () => {
  const port = () => Number(addr.split(':')[1]);

  test('a TLS 1.1 client is refused', async () => {
    const r = await probe(port(), { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    assert.equal(r.ok, false);
    assert.match(String(r.error?.message), /protocol version|unsupported protocol/i);
  });

  test('a TLS 1.0 client is refused', async () => {
    const r = await probe(port(), { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
    assert.equal(r.ok, false);
  });

  for (const cipher of ['ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA']) {
    test(`TLS 1.2 with a non-AEAD cipher (${cipher}) is refused`, async () => {
      const r = await probe(port(), { maxVersion: 'TLSv1.2', ciphers: `${cipher}@SECLEVEL=0` });
      assert.equal(r.ok, false);
      assert.match(String(r.error?.message), /handshake failure|no shared cipher/i);
    });
  }

  for (const cipher of [
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
  ]) {
    test(`TLS 1.2 with ${cipher} is accepted`, async () => {
      const r = await probe(port(), { maxVersion: 'TLSv1.2', ciphers: cipher });
      assert.equal(r.ok, true, String(r.error));
      assert.equal(r.protocol, 'TLSv1.2');
      assert.equal(r.cipher, cipher);
    });
  }

  test('the configured list holds AEAD suites only', () => {
    for (const c of TLS_CIPHERS.split(':')) assert.match(c, /GCM|CHACHA20-POLY1305|CHACHA20_POLY1305/);
  });

  test('the client will not speak below TLS 1.2 either', async () => {
    const c = client({ credentials: swarm.creds.worker });
    // The client's own options carry minVersion TLSv1.2: a server stuck at 1.1 is unreachable for it.
    const legacy = http2.createSecureServer({
      cert: swarm.creds.manager.certPem,
      key: swarm.creds.manager.keyPem,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    legacy.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => legacy.listen(0, '127.0.0.1', r));
    try {
      await rejectsWith(c.call(addrOf(legacy.address() as { port: number }), 'Open', 'Ping', {}), 'Unavailable');
    } finally {
      await new Promise((r) => legacy.close(r));
    }
  });
});

describe('calls', () => {
  test('unary JSON round trip', async () => {
    const c = client({ credentials: swarm.creds.worker });
    const body = { a: 1, s: 'line\nbreak', nested: { list: [1, 2, 3] }, unicode: 'héllo ✓' };
    assert.deepEqual(await c.call(addr, 'Test', 'Echo', body), body);
  });

  test("errors keep their code and Docker's wording", async () => {
    const c = client({ credentials: swarm.creds.worker });
    const e1 = await c.call(addr, 'Test', 'Fail', { kind: 'rpc' }).catch((e: RpcError) => e);
    assert.ok(e1 instanceof RpcError);
    assert.equal(e1.code, 'FailedPrecondition');
    assert.equal(e1.message, 'rpc error: code = FailedPrecondition desc = not now');
    await rejectsWith(c.call(addr, 'Test', 'Fail', { kind: 'api' }), 'NotFound', 'no such thing');
    await rejectsWith(c.call(addr, 'Test', 'Fail', { kind: 'plain' }), 'Unknown', 'plain failure');
  });

  test('an unknown method is Unimplemented', async () => {
    const c = client({ credentials: swarm.creds.worker });
    await rejectsWith(c.call(addr, 'Test', 'Nope', {}), 'Unimplemented', 'unknown method Nope for service Test');
    await rejectsWith(c.call(addr, 'Nope', 'Ping', {}), 'Unimplemented', 'unknown method Ping for service Nope');
  });

  test('a malformed body is InvalidArgument; a GET is refused', async () => {
    const creds = swarm.creds.worker;
    const s = http2.connect(`https://${addr}`, {
      ca: creds.rootCertPem,
      cert: creds.certPem,
      key: creds.keyPem,
      checkServerIdentity: () => undefined,
    });
    try {
      const send = (method: string, body: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const r = s.request({ ':method': method, ':path': '/Test/Echo' });
          let status = 0;
          let data = '';
          r.on('response', (h) => (status = Number(h[':status'])));
          r.setEncoding('utf8');
          r.on('data', (d: string) => (data += d));
          r.on('end', () => resolve({ status, body: data }));
          r.on('error', reject);
          if (method === 'POST') r.end(body);
          else r.end();
        });
      const bad = await send('POST', '{not json');
      assert.equal(bad.status, 400);
      assert.equal(JSON.parse(bad.body).code, 'InvalidArgument');
      const get = await send('GET', '');
      assert.equal(JSON.parse(get.body).code, 'Unimplemented');
    } finally {
      s.close();
    }
  });

  test('a request over the size limit is ResourceExhausted', async () => {
    const { server: s } = testServer(swarm.creds.manager, { maxMessageBytes: 1024 });
    const a = addrOf(await s.listen(0, '127.0.0.1'));
    try {
      const c = client({ credentials: swarm.creds.worker });
      await rejectsWith(c.call(a, 'Test', 'Echo', { x: 'y'.repeat(5000) }), 'ResourceExhausted', /larger than max/);
      assert.deepEqual(await c.call(a, 'Test', 'Echo', { x: 'small' }), { x: 'small' });
    } finally {
      await s.close();
    }
  });

  test('a call past its deadline is DeadlineExceeded, and the handler sees the call go away', async () => {
    const c = client({ credentials: swarm.creds.worker });
    await rejectsWith(c.call(addr, 'Test', 'Slow', { ms: 300 }, { timeoutMs: 50 }), 'DeadlineExceeded');
    const ac = new AbortController();
    const p = c.call(addr, 'Test', 'Slow', { ms: 300 }, { signal: ac.signal });
    ac.abort();
    await rejectsWith(p, 'Canceled');
  });

  test('an unreachable peer is Unavailable', async () => {
    const c = client({ credentials: swarm.creds.worker, connectTimeoutMs: 2000 });
    const failed = c.call('127.0.0.1:1', 'Open', 'Ping', {});
    await rejectsWith(failed, 'Unavailable', /connection error/);
    assert.equal(isUnknownAuthority(await failed.catch((e: unknown) => e)), false);
  });

  test('one connection per peer, whatever the number of calls', async () => {
    const { server: s } = testServer(swarm.creds.manager);
    const a = addrOf(await s.listen(0, '127.0.0.1'));
    try {
      const c = client({ credentials: swarm.creds.worker });
      await Promise.all([1, 2, 3, 4, 5].map((i) => c.call(a, 'Test', 'Echo', { i })));
      const msgs: unknown[] = [];
      for await (const m of c.stream(a, 'Test', 'Count', { n: 3 })) msgs.push(m);
      assert.equal(msgs.length, 3);
      assert.equal(s.connections, 1);
    } finally {
      await s.close();
    }
  });
});

describe('server streams', () => {
  test('messages in order, then a clean end', async () => {
    const c = client({ credentials: swarm.creds.worker });
    const got: number[] = [];
    for await (const m of c.stream<object, { i: number }>(addr, 'Test', 'Count', { n: 50 })) got.push(m.i);
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test('an error mid-stream arrives after the messages before it', async () => {
    const c = client({ credentials: swarm.creds.worker });
    const got: number[] = [];
    await rejectsWith(
      (async () => {
        for await (const m of c.stream<object, { i: number }>(addr, 'Test', 'Count', { n: 10, failAt: 3 }))
          got.push(m.i);
      })(),
      'Aborted',
      'stopped at 3',
    );
    assert.deepEqual(got, [0, 1, 2]);
  });

  test('a refused stream fails before any message', async () => {
    const c = client({ trustRoots: swarm.root.certPem });
    await rejectsWith(
      (async () => {
        for await (const _ of c.stream(addr, 'Test', 'Count', { n: 3 })) assert.fail('no message expected');
      })(),
      'PermissionDenied',
    );
  });

  test('a slow reader loses nothing (the server waits for it)', async () => {
    const c = client({ credentials: swarm.creds.worker });
    let n = 0;
    for await (const m of c.stream<object, { i: number }>(addr, 'Test', 'Count', { n: 400, big: 4096 })) {
      assert.equal(m.i, n++);
      if (n % 100 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(n, 400);
  });

  test('cancelling on the client ends the handler', async () => {
    const c = client({ credentials: swarm.creds.worker });
    const st = c.stream<object, { i: number }>(addr, 'Test', 'Forever', { id: 'cancel-1' });
    let n = 0;
    await rejectsWith(
      (async () => {
        for await (const _ of st) if (++n === 3) st.cancel();
      })(),
      'Canceled',
    );
    for (let i = 0; i < 100 && !canceled.includes('cancel-1'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(canceled.includes('cancel-1'));
  });

  test('breaking out of the loop also ends the call', async () => {
    const c = client({ credentials: swarm.creds.worker });
    for await (const m of c.stream<object, { i: number }>(addr, 'Test', 'Forever', { id: 'break-1' })) {
      if (m.i === 2) break;
    }
    for (let i = 0; i < 100 && !canceled.includes('break-1'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(canceled.includes('break-1'));
  });

  test('closing the server ends open streams', async () => {
    const { server: s } = testServer(swarm.creds.manager);
    const a = addrOf(await s.listen(0, '127.0.0.1'));
    const c = client({ credentials: swarm.creds.worker });
    const it = c.stream<object, { i: number }>(a, 'Test', 'Forever', { id: 'close-1' })[Symbol.asyncIterator]();
    assert.equal((await it.next()).value.i, 0);
    await s.close();
    await assert.rejects(
      (async () => {
        for (;;) if ((await it.next()).done) throw new Error('ended cleanly');
      })(),
      (err: unknown) => err instanceof RpcError && ['Unavailable', 'Canceled'].includes(err.code),
    );
  });
});

describe('credentials at run time', () => {
  test('the server swaps its certificate for new connections (renewal)', async () => {
    const { server: s } = testServer(swarm.creds.manager);
    const a = await s.listen(0, '127.0.0.1');
    try {
      const before = await probe(a.port);
      const renewed = await issueCredentials(swarm.root, 'swarm-manager', swarm.ids.manager);
      s.setCredentials(renewed);
      const afterSwap = await probe(a.port);
      assert.notEqual(before.serverCert?.serialNumber, afterSwap.serverCert?.serialNumber);
      assert.equal(afterSwap.serverCert?.subject.CN, swarm.ids.manager);
      const c = client({ credentials: swarm.creds.worker });
      assert.deepEqual(await c.call(addrOf(a), 'Test', 'Echo', { ok: 1 }), { ok: 1 });
    } finally {
      await s.close();
    }
  });

  test('new roots (CA rotation): old-root callers lose access, even on a connection opened before', async () => {
    const { server: s } = testServer(swarm.creds.manager);
    const a = addrOf(await s.listen(0, '127.0.0.1'));
    try {
      const old = client({ credentials: swarm.creds.worker });
      await old.call(a, 'Test', 'WhoAmI', {});
      const newRoot = await createRootCA();
      s.setCredentials(await issueCredentials(newRoot, 'swarm-manager', swarm.ids.manager));
      await rejectsWith(old.call(a, 'Test', 'WhoAmI', {}), 'PermissionDenied', 'not verified: unverified');
      const fresh = client({ credentials: await issueCredentials(newRoot, 'swarm-worker', swarm.ids.worker) });
      const res = await fresh.call<object, { peer: { nodeId: string } }>(a, 'Test', 'WhoAmI', {});
      assert.equal(res.peer.nodeId, swarm.ids.worker);
      // A new connection from the old client cannot even verify the server any more.
      const again = client({ credentials: swarm.creds.worker });
      await rejectsWith(again.call(a, 'Open', 'Ping', {}), 'Unavailable');
    } finally {
      await s.close();
    }
  });

  test('the client presents a renewed certificate on its next connection', async () => {
    const c = client({ credentials: swarm.creds.worker });
    const first = await c.call<object, { auth: { notAfter: string } }>(addr, 'Test', 'WhoAmI', {});
    const renewed = await issueCredentials(swarm.root, 'swarm-worker', swarm.ids.worker, { expiryNs: 7200e9 });
    c.setCredentials(renewed);
    const second = await c.call<object, { auth: { notAfter: string }; peer: { nodeId: string } }>(
      addr,
      'Test',
      'WhoAmI',
      {},
    );
    assert.notEqual(first.auth.notAfter, second.auth.notAfter);
    assert.equal(second.peer.nodeId, swarm.ids.worker);
  });
});
