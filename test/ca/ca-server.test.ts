// The CA's RPCs against a real MemoryStore, over real mutual TLS where the caller's certificate matters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeKeyAndCSR, createRootCA, generateJoinToken, parseNodeCertificate, verifyChain } from '../../src/ca';
import { CAServer, MSG_INVALID_JOIN_TOKEN, type IssueNodeCertificateResponse } from '../../src/ca/ca-server';
import {
  MemoryCAStore,
  REMOVED_NODE_GRACE_MS,
  withRemovedNode,
  withoutExpiredRemovals,
  type ClusterWithRemovedNodes,
} from '../../src/ca/ca-store';
import { clusterAuthorizer } from '../../src/manager/authz';
import { RpcClient, RpcError, RpcServer, type NodeCredentials, type PeerAuth } from '../../src/transport';
import { addrOf, issueCredentials, makeSwarm, openStore, tokens, type Swarm } from '../transport/fixtures';

const anonymous = { auth: { state: 'none' } as PeerAuth, remoteAddress: '10.0.0.9' };

async function rejectsRpc(p: Promise<unknown>, code: string, desc: string | RegExp) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (typeof desc === 'string') assert.equal(err.desc, desc);
  else assert.match(err.desc, desc);
  return err;
}

async function csr() {
  return (await createNodeKeyAndCSR()).csrPem;
}

/** A manager's port: the CA behind the cluster authorizer. */
async function serve(swarm: Swarm, ca: CAServer) {
  const caStore = new MemoryCAStore(swarm.store);
  const server = new RpcServer({
    credentials: swarm.creds.manager,
    authorize: clusterAuthorizer({ clusterId: swarm.clusterId, isRemoved: (id) => caStore.isRemoved(id) }),
  });
  ca.register(server);
  return { server, addr: addrOf(await server.listen(0, '127.0.0.1')) };
}

describe('over the wire', () => {
  let swarm: Swarm;
  let server: RpcServer;
  let addr: string;
  const clients: RpcClient[] = [];
  const mtls = (creds: NodeCredentials) => {
    const c = new RpcClient({ credentials: creds });
    clients.push(c);
    return c;
  };
  const anon = () => {
    const c = new RpcClient({ trustRoots: swarm.root.certPem });
    clients.push(c);
    return c;
  };

  before(async () => {
    swarm = await makeSwarm();
    ({ server, addr } = await serve(swarm, new CAServer(new MemoryCAStore(swarm.store))));
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  test('GetRootCACertificate: the stored root, byte for byte, to a caller without a certificate', async () => {
    const c = new RpcClient({ insecure: true });
    clients.push(c);
    const res = await c.call<object, { Certificate: string }>(addr, 'CA', 'GetRootCACertificate', {});
    assert.equal(res.Certificate, swarm.cluster.RootCA.CACert);
  });

  test('a worker token: a new node ID, a worker certificate for it, and a node record', async () => {
    const { keyPem, csrPem } = await createNodeKeyAndCSR();
    const res = await anon().call<object, IssueNodeCertificateResponse>(addr, 'NodeCA', 'IssueNodeCertificate', {
      CSR: csrPem,
      Token: tokens(swarm.store).worker,
      Availability: 'drain',
      // Claims that must be ignored: identity comes from the CA.
      NodeID: swarm.ids.manager,
      Role: 'swarm-manager',
    });
    assert.match(res.NodeID, /^[0-9a-z]{25}$/);
    assert.notEqual(res.NodeID, swarm.ids.manager);
    assert.equal(res.NodeMembership, 'accepted');
    assert.ok(verifyChain(res.Certificate, swarm.root.certPem));
    const info = parseNodeCertificate(res.Certificate);
    assert.deepEqual([info.nodeId, info.role, info.clusterId], [res.NodeID, 'swarm-worker', 'cluster0']);
    const node = swarm.store.get('nodes', res.NodeID)!;
    assert.equal(node.Spec.Role, 'worker');
    assert.equal(node.Spec.Availability, 'drain');
    assert.equal(node.Status.Addr, '127.0.0.1');
    assert.equal(node.Status.State, 'unknown');
    assert.deepEqual(node.Description.TLSInfo, swarm.cluster.TLSInfo);
    // The certificate works at once for mutual TLS.
    const renewed = await mtls({ certPem: res.Certificate, keyPem, rootCertPem: swarm.root.certPem }).call<
      object,
      IssueNodeCertificateResponse
    >(addr, 'NodeCA', 'IssueNodeCertificate', { CSR: await csr() });
    assert.equal(renewed.NodeID, res.NodeID);
  });

  test("a wrong token is refused with docker's message and creates nothing", async () => {
    const before = swarm.store.count('nodes');
    const t = tokens(swarm.store).worker;
    const otherSwarmToken = generateJoinToken((await createRootCA()).certPem);
    const sameDigestOtherSecret = t.slice(0, -25) + '0'.repeat(25);
    const flipped = t.slice(0, -1) + (t.endsWith('a') ? 'b' : 'a');
    for (const token of ['', 'SWMTKN-1-nope', otherSwarmToken, sameDigestOtherSecret, flipped, t + ' ']) {
      const err = await rejectsRpc(
        anon().call(addr, 'NodeCA', 'IssueNodeCertificate', { CSR: await csr(), Token: token }),
        'InvalidArgument',
        MSG_INVALID_JOIN_TOKEN,
      );
      assert.equal(
        err.message,
        'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster',
      );
    }
    assert.equal(swarm.store.count('nodes'), before);
  });

  test('the manager token gets a manager certificate and a manager node', async () => {
    const res = await anon().call<object, IssueNodeCertificateResponse>(addr, 'NodeCA', 'IssueNodeCertificate', {
      CSR: await csr(),
      Token: tokens(swarm.store).manager,
    });
    assert.equal(parseNodeCertificate(res.Certificate).role, 'swarm-manager');
    assert.equal(swarm.store.get('nodes', res.NodeID)?.Spec.Role, 'manager');
  });

  test('renewal over mutual TLS: same node ID, new key, role from the store; the body cannot pick the node', async () => {
    const { keyPem, csrPem } = await createNodeKeyAndCSR();
    const res = await mtls(swarm.creds.worker).call<object, IssueNodeCertificateResponse>(
      addr,
      'NodeCA',
      'IssueNodeCertificate',
      { CSR: csrPem, NodeID: swarm.ids.manager, Token: tokens(swarm.store).manager },
    );
    assert.equal(res.NodeID, swarm.ids.worker);
    const info = parseNodeCertificate(res.Certificate);
    assert.deepEqual([info.nodeId, info.role], [swarm.ids.worker, 'swarm-worker']);
    assert.ok(verifyChain(res.Certificate, swarm.root.certPem));
    assert.notEqual(res.Certificate, swarm.creds.worker.certPem);
    void keyPem;
  });

  test('the role comes from the store, not from the old certificate', async () => {
    // The store says this worker is now a manager (what a promotion will do once it exists).
    await swarm.store.update((tx) => {
      const n = tx.get('nodes', swarm.ids.expired)!;
      tx.update('nodes', { ...n, Spec: { ...n.Spec, Role: 'manager' } });
    });
    const creds = await issueCredentials(swarm.root, 'swarm-worker', swarm.ids.expired);
    const res = await mtls(creds).call<object, IssueNodeCertificateResponse>(addr, 'NodeCA', 'IssueNodeCertificate', {
      CSR: await csr(),
    });
    assert.equal(parseNodeCertificate(res.Certificate).role, 'swarm-manager');
    // And a demotion: the manager's record says worker.
    await swarm.store.update((tx) => {
      const n = tx.get('nodes', swarm.ids.expired)!;
      tx.update('nodes', { ...n, Spec: { ...n.Spec, Role: 'worker' } });
    });
    const managerCreds = await issueCredentials(swarm.root, 'swarm-manager', swarm.ids.expired);
    const res2 = await mtls(managerCreds).call<object, IssueNodeCertificateResponse>(
      addr,
      'NodeCA',
      'IssueNodeCertificate',
      { CSR: await csr() },
    );
    assert.equal(parseNodeCertificate(res2.Certificate).role, 'swarm-worker');
  });

  test('renewal of a node the store does not know is NotFound', async () => {
    const ghost = await issueCredentials(swarm.root, 'swarm-worker', 'ghost000000000000000000001');
    await rejectsRpc(
      mtls(ghost).call(addr, 'NodeCA', 'IssueNodeCertificate', { CSR: await csr() }),
      'NotFound',
      'node ghost000000000000000000001 not found when attempting to renew certificate',
    );
  });

  test('a removed node cannot renew, but may join again with a token under a new ID', async () => {
    await rejectsRpc(
      mtls(swarm.creds.removed).call(addr, 'NodeCA', 'IssueNodeCertificate', { CSR: await csr() }),
      'PermissionDenied',
      `Permission denied: unauthorized peer role: rpc error: code = PermissionDenied desc = Permission denied: node ${swarm.ids.removed} was removed from swarm`,
    );
    const res = await mtls(swarm.creds.removed).call<object, IssueNodeCertificateResponse>(
      addr,
      'NodeCA',
      'IssueNodeCertificate',
      { CSR: await csr(), Token: tokens(swarm.store).worker },
    );
    assert.notEqual(res.NodeID, swarm.ids.removed);
  });

  test('GetUnlockKey: managers get it (empty without autolock)', async () => {
    const res = await mtls(swarm.creds.manager).call<object, { UnlockKey: string; Version: { Index: number } }>(
      addr,
      'CA',
      'GetUnlockKey',
      {},
    );
    assert.equal(res.UnlockKey, '');
    assert.ok(res.Version.Index > 0);
    await rejectsRpc(mtls(swarm.creds.worker).call(addr, 'CA', 'GetUnlockKey', {}), 'PermissionDenied', /OUs/);
  });
});

describe('direct', () => {
  let swarm: Swarm;
  before(async () => {
    swarm = await makeSwarm();
  });

  test('an empty, malformed or forged CSR is InvalidArgument', async () => {
    const ca = new CAServer(new MemoryCAStore(swarm.store));
    const token = tokens(swarm.store).worker;
    await rejectsRpc(
      ca.issueNodeCertificate({ CSR: '', Token: token }, anonymous),
      'InvalidArgument',
      'InvalidArgument',
    );
    await rejectsRpc(
      ca.issueNodeCertificate({ CSR: 5 as unknown as string, Token: token }, anonymous),
      'InvalidArgument',
      'InvalidArgument',
    );
    const before = swarm.store.count('nodes');
    await rejectsRpc(
      ca.issueNodeCertificate(
        { CSR: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', Token: token },
        anonymous,
      ),
      'InvalidArgument',
      'invalid certificate signing request',
    );
    assert.equal(swarm.store.count('nodes'), before);
  });

  test('an unknown availability is InvalidArgument', async () => {
    const ca = new CAServer(new MemoryCAStore(swarm.store));
    await rejectsRpc(
      ca.issueNodeCertificate(
        { CSR: await csr(), Token: tokens(swarm.store).worker, Availability: 'sometimes' as 'active' },
        anonymous,
      ),
      'InvalidArgument',
      'invalid Availability: "sometimes"',
    );
  });

  test('--cert-expiry applies to new certificates (NotBefore backdated 1 h)', async () => {
    const s = await makeSwarm({ nodeCertExpiryNs: 2 * 3600e9 });
    const now = new Date('2030-01-01T00:00:10Z');
    const ca = new CAServer(new MemoryCAStore(s.store), { now: () => now });
    const res = await ca.issueNodeCertificate({ CSR: await csr(), Token: tokens(s.store).worker }, anonymous);
    const info = parseNodeCertificate(res.Certificate);
    assert.equal(info.notBefore.toISOString(), '2029-12-31T23:00:00.000Z');
    assert.equal(info.notAfter.toISOString(), '2030-01-01T02:00:00.000Z');
    // The default is 90 days.
    const dflt = new CAServer(new MemoryCAStore(swarm.store), { now: () => now });
    const info2 = parseNodeCertificate(
      (await dflt.issueNodeCertificate({ CSR: await csr(), Token: tokens(swarm.store).worker }, anonymous)).Certificate,
    );
    assert.equal(info2.notAfter.getTime() - info2.notBefore.getTime(), (2160 + 1) * 3600_000);
  });

  test('a rotated token: the old one stops working at once, the new one works', async () => {
    const ca = new CAServer(new MemoryCAStore(swarm.store));
    const old = tokens(swarm.store).worker;
    const fresh = generateJoinToken(swarm.root.certPem);
    await swarm.store.update((tx) => {
      const c = tx.list('cluster')[0];
      tx.update('cluster', { ...c, RootCA: { ...c.RootCA, JoinTokens: { ...c.RootCA.JoinTokens, Worker: fresh } } });
    });
    await rejectsRpc(
      ca.issueNodeCertificate({ CSR: await csr(), Token: old }, anonymous),
      'InvalidArgument',
      MSG_INVALID_JOIN_TOKEN,
    );
    const res = await ca.issueNodeCertificate({ CSR: await csr(), Token: fresh }, anonymous);
    assert.equal(parseNodeCertificate(res.Certificate).role, 'swarm-worker');
  });

  test('a node ID collision is retried (3 times at most)', async () => {
    const taken = swarm.ids.worker;
    let calls = 0;
    const ca = new CAServer(new MemoryCAStore(swarm.store), {
      newId: () => (++calls <= 2 ? taken : `fresh${String(calls).padStart(20, '0')}`),
    });
    const res = await ca.issueNodeCertificate({ CSR: await csr(), Token: tokens(swarm.store).worker }, anonymous);
    assert.equal(calls, 3);
    assert.notEqual(res.NodeID, taken);
    const stuck = new CAServer(new MemoryCAStore(swarm.store), { newId: () => taken });
    await assert.rejects(
      stuck.issueNodeCertificate({ CSR: await csr(), Token: tokens(swarm.store).worker }, anonymous),
      /already exists/,
    );
  });

  test('a new root (CA rotation) signs from then on', async () => {
    const s = await makeSwarm();
    const ca = new CAServer(new MemoryCAStore(s.store));
    const first = await ca.issueNodeCertificate({ CSR: await csr(), Token: tokens(s.store).worker }, anonymous);
    assert.ok(verifyChain(first.Certificate, s.root.certPem));
    const next = await createRootCA();
    await s.store.update((tx) => {
      const c = tx.list('cluster')[0];
      tx.update('cluster', { ...c, RootCA: { ...c.RootCA, CACert: next.certPem, CAKey: next.keyPem } });
    });
    const second = await ca.issueNodeCertificate({ CSR: await csr(), Token: tokens(s.store).worker }, anonymous);
    assert.ok(verifyChain(second.Certificate, next.certPem));
    assert.ok(!verifyChain(second.Certificate, s.root.certPem));
    assert.equal(ca.getRootCACertificate().Certificate, next.certPem);
  });

  test('GetUnlockKey returns the key only while autolock is on', async () => {
    const s = await makeSwarm();
    await s.store.update((tx) => {
      const c = tx.list('cluster')[0];
      tx.update('cluster', {
        ...c,
        UnlockKey: 'SWMKEY-1-abc',
        Spec: { ...c.Spec, EncryptionConfig: { AutoLockManagers: true } },
      });
    });
    const ca = new CAServer(new MemoryCAStore(s.store));
    assert.equal(ca.getUnlockKey().UnlockKey, 'SWMKEY-1-abc');
  });

  test('no cluster yet: Aborted', async () => {
    const ca = new CAServer(new MemoryCAStore(openStore()));
    assert.throws(
      () => ca.getRootCACertificate(),
      (e: unknown) => e instanceof RpcError && e.code === 'Aborted',
    );
    await rejectsRpc(ca.issueNodeCertificate({ CSR: await csr(), Token: 'x' }, anonymous), 'Aborted', /starting/);
  });
});

describe('removed nodes in the cluster object', () => {
  test('withRemovedNode records the ID until the last certificate it could hold has expired', async () => {
    const s = await makeSwarm({ nodeCertExpiryNs: 2 * 3600e9 });
    const now = new Date('2030-01-01T00:00:00Z');
    const c = withRemovedNode(s.store.list('cluster')[0], 'n1', now);
    assert.equal(c.BlacklistedCertificates!.n1.Expiry, '2030-01-01T03:00:00Z');
    const store = new MemoryCAStore(s.store);
    assert.equal(store.isRemoved(s.ids.removed), true);
    assert.equal(store.isRemoved(s.ids.worker), false);
    assert.equal(store.isRemoved('toString'), false);
  });

  test('withoutExpiredRemovals drops entries a week past their expiry', async () => {
    const s = await makeSwarm();
    const base = s.store.list('cluster')[0] as ClusterWithRemovedNodes;
    const c: ClusterWithRemovedNodes = {
      ...base,
      BlacklistedCertificates: { old: { Expiry: '2030-01-01T00:00:00Z' }, recent: { Expiry: '2030-01-05T00:00:00Z' } },
    };
    const now = new Date(Date.parse('2030-01-01T00:00:00Z') + REMOVED_NODE_GRACE_MS + 1000);
    assert.deepEqual(Object.keys(withoutExpiredRemovals(c, now).BlacklistedCertificates!), ['recent']);
  });
});
