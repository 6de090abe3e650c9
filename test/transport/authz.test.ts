// Authorization on a manager, over real mutual TLS: every method of the policy table, tried with every kind of
// caller. Only a manager of this cluster reaches control methods; a worker reaches the dispatcher and renewal;
// another CA's certificate, an expired one, a removed node's and none at all reach nothing that needs a certificate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CAServer } from '../../src/ca/ca-server';
import { MemoryCAStore } from '../../src/ca/ca-store';
import { createNodeKeyAndCSR } from '../../src/ca';
import {
  ANY_NODE,
  INSECURE,
  MANAGERS_ONLY,
  METHOD_POLICIES,
  authorizePeer,
  clusterAuthorizer,
  policyFor,
} from '../../src/manager/authz';
import { RpcClient, RpcError, RpcServer, type PeerAuth } from '../../src/transport';
import { addrOf, makeSwarm, type Swarm } from './fixtures';

/** A concrete method for each table entry (wildcards get a real swarmkit method name). */
const SAMPLE: Record<string, string> = {
  'Control/*': 'Control/RemoveNode',
  'Raft/*': 'Raft/ProcessRaftMessage',
  'RaftMembership/*': 'RaftMembership/Join',
  'Health/*': 'Health/Check',
  'Watch/*': 'Watch/Watch',
  'Logs/*': 'Logs/SubscribeLogs',
};
const methods = Object.keys(METHOD_POLICIES).map((k) => SAMPLE[k] ?? k);
const isManagerOnly = (m: string) => policyFor(...(m.split('/') as [string, string])) === MANAGERS_ONLY;
const secured = methods.filter((m) => policyFor(...(m.split('/') as [string, string])) !== INSECURE);
const managerOnly = secured.filter((m) => isManagerOnly(m));
const anyNode = secured.filter((m) => policyFor(...(m.split('/') as [string, string])) === ANY_NODE);
/** What CAServer.register adds. */
const CA_METHODS = new Set(['CA/GetRootCACertificate', 'CA/GetUnlockKey', 'NodeCA/IssueNodeCertificate']);
/** Registered, but in no policy: refused to everyone. */
const UNLISTED = 'Secrets/GetSecret';

let swarm: Swarm;
let server: RpcServer;
let addr: string;
const clients: RpcClient[] = [];

before(async () => {
  swarm = await makeSwarm();
  const caStore = new MemoryCAStore(swarm.store);
  server = new RpcServer({
    credentials: swarm.creds.manager,
    authorize: clusterAuthorizer({ clusterId: swarm.clusterId, isRemoved: (id) => caStore.isRemoved(id) }),
  });
  new CAServer(caStore).register(server);
  for (const m of [...secured, UNLISTED]) {
    const [service, method] = m.split('/');
    if (CA_METHODS.has(m)) continue;
    server.unary(service, method, (_req, ctx) => ({ ok: true, caller: ctx.peer?.nodeId }));
  }
  server.serverStream('Raft', 'StreamRaftMessage', async (_req, sink, ctx) => {
    await sink.send({ caller: ctx.peer?.nodeId });
  });
  addr = addrOf(await server.listen(0, '127.0.0.1'));
});

after(async () => {
  for (const c of clients) c.close();
  await server.close();
});

type Kind =
  | 'manager'
  | 'worker'
  | 'foreign'
  | 'foreignManager'
  | 'expired'
  | 'expiredManager'
  | 'removed'
  | 'removedManager'
  | 'otherCluster'
  | 'none';

function clientFor(kind: Kind): RpcClient {
  const trust = { expect: { role: 'swarm-manager' as const, clusterId: 'cluster0' } };
  const c =
    kind === 'none'
      ? new RpcClient({ trustRoots: swarm.root.certPem, ...trust })
      : // The caller trusts the real server; what it presents is the point.
        new RpcClient({ credentials: { ...swarm.creds[kind], rootCertPem: swarm.root.certPem }, ...trust });
  clients.push(c);
  return c;
}

const WRAP = 'Permission denied: unauthorized peer role: rpc error: code = PermissionDenied desc = ';
function expectedDenial(kind: Kind, method: string): string {
  switch (kind) {
    case 'none':
      return WRAP + 'no client certificates in request';
    case 'foreign':
    case 'foreignManager':
    case 'expired':
    case 'expiredManager':
      return WRAP + 'no verified chains for remote certificate';
    case 'removed':
      // swarmkit checks the role first: a removed worker asking for a manager method hears about its role.
      if (isManagerOnly(method)) return WRAP + 'Permission denied: remote certificate not part of OUs: [swarm-manager]';
      return WRAP + `Permission denied: node ${swarm.ids.removed} was removed from swarm`;
    case 'removedManager':
      return WRAP + `Permission denied: node ${swarm.ids.removed} was removed from swarm`;
    case 'otherCluster':
      return WRAP + 'Permission denied: remote certificate not part of organization: cluster0';
    case 'worker':
      assert.ok(isManagerOnly(method));
      return WRAP + 'Permission denied: remote certificate not part of OUs: [swarm-manager]';
    default:
      throw new Error(`no denial expected for ${kind}`);
  }
}

async function denied(kind: Kind, method: string, message: string) {
  const [service, name] = method.split('/');
  const err = await clientFor(kind)
    .call(addr, service, name, { NodeID: swarm.ids.manager })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof RpcError, `${kind} calling ${method} must fail`);
  assert.equal(err.code, 'PermissionDenied', `${kind} calling ${method}: ${err.message}`);
  assert.equal(err.desc, message);
}

describe('the table', () => {
  test('covers the CA, the dispatcher and the control plane as swarmkit does', () => {
    assert.equal(policyFor('CA', 'GetRootCACertificate'), INSECURE);
    assert.equal(policyFor('NodeCA', 'IssueNodeCertificate'), INSECURE);
    assert.equal(policyFor('CA', 'GetUnlockKey'), MANAGERS_ONLY);
    for (const m of ['Session', 'Heartbeat', 'UpdateTaskStatus', 'Tasks', 'Assignments']) {
      assert.deepEqual(policyFor('Dispatcher', m), ['swarm-worker', 'swarm-manager']);
    }
    for (const m of ['ListNodes', 'RemoveNode', 'UpdateCluster', 'CreateService', 'GetSecret']) {
      assert.equal(policyFor('Control', m), MANAGERS_ONLY);
    }
    assert.equal(policyFor('Raft', 'ProcessRaftMessage'), MANAGERS_ONLY);
    assert.equal(policyFor('Dispatcher', 'Unknown'), undefined);
    assert.equal(policyFor('Secrets', 'GetSecret'), undefined);
  });

  test('authorizePeer checks role, then removal, then organization, in swarmkit words', () => {
    const trust = { clusterId: 'c1', isRemoved: (id: string) => id === 'gone' };
    const v = (nodeId: string, role: 'swarm-manager' | 'swarm-worker', clusterId: string): PeerAuth => ({
      state: 'verified',
      identity: { nodeId, role, clusterId },
      notBefore: new Date(0),
      notAfter: new Date(8.64e15),
    });
    assert.deepEqual(authorizePeer(v('n', 'swarm-manager', 'c1'), MANAGERS_ONLY, trust), {
      nodeId: 'n',
      role: 'swarm-manager',
      clusterId: 'c1',
    });
    const msg = (a: PeerAuth, roles = MANAGERS_ONLY) => {
      try {
        authorizePeer(a, roles, trust);
      } catch (e) {
        return (e as RpcError).message;
      }
      return 'allowed';
    };
    assert.equal(
      msg(v('n', 'swarm-worker', 'c1')),
      'rpc error: code = PermissionDenied desc = Permission denied: unauthorized peer role: rpc error: code = PermissionDenied desc = Permission denied: remote certificate not part of OUs: [swarm-manager]',
    );
    assert.match(msg(v('gone', 'swarm-worker', 'c2'), ANY_NODE), /node gone was removed from swarm$/);
    assert.match(msg(v('gone', 'swarm-worker', 'c2')), /not part of OUs: \[swarm-manager\]$/);
    assert.match(msg(v('n', 'swarm-worker', 'c2'), ANY_NODE), /not part of organization: c1$/);
    assert.match(msg({ state: 'none' }), /desc = no client certificates in request$/);
    assert.match(msg({ state: 'unverified', reason: 'x' }), /desc = no verified chains for remote certificate$/);
  });
});

describe('a manager of this cluster reaches every method', () => {
  for (const m of secured) {
    test(m, async () => {
      const [service, name] = m.split('/');
      const res = await clientFor('manager').call<object, { caller?: string }>(addr, service, name, {});
      if (m !== 'CA/GetUnlockKey') assert.equal(res.caller, swarm.ids.manager);
    });
  }
});

describe('a worker reaches the dispatcher, and nothing that needs a manager', () => {
  for (const m of anyNode) {
    test(`allowed: ${m}`, async () => {
      const [service, name] = m.split('/');
      const res = await clientFor('worker').call<object, { caller: string }>(addr, service, name, {
        NodeID: swarm.ids.manager,
      });
      // The dispatcher knows the caller by its certificate, whatever the body says.
      assert.equal(res.caller, swarm.ids.worker);
    });
  }
  for (const m of managerOnly) {
    test(`refused: ${m}`, () => denied('worker', m, expectedDenial('worker', m)));
  }
});

const intruders: Kind[] = [
  'foreign',
  'foreignManager',
  'expired',
  'expiredManager',
  'removed',
  'removedManager',
  'otherCluster',
  'none',
];
for (const kind of intruders) {
  describe(`${kind}: every method that needs a certificate is refused`, () => {
    for (const m of secured) {
      test(m, () => denied(kind, m, expectedDenial(kind, m)));
    }
    test('a server stream (Raft/StreamRaftMessage)', async () => {
      const err = await (async () => {
        for await (const _ of clientFor(kind).stream(addr, 'Raft', 'StreamRaftMessage', {})) assert.fail('no message');
      })().catch((e: unknown) => e);
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, 'PermissionDenied');
      assert.equal(err.desc, expectedDenial(kind, 'Raft/StreamRaftMessage'));
    });
  });
}

describe('a method in no policy is refused to everyone', () => {
  for (const kind of ['manager', 'worker', 'none'] as Kind[]) {
    test(kind, () => denied(kind, UNLISTED, 'Permission denied: Secrets/GetSecret is not open to any role'));
  }
});

describe('renewal (IssueNodeCertificate without a token) is refused to every intruder', () => {
  for (const kind of intruders) {
    test(kind, async () => {
      const { csrPem } = await createNodeKeyAndCSR();
      const removed = kind === 'removed' || kind === 'removedManager';
      const err = await clientFor(kind)
        .call(addr, 'NodeCA', 'IssueNodeCertificate', { CSR: csrPem, NodeID: swarm.ids.worker })
        .catch((e: unknown) => e);
      assert.ok(err instanceof RpcError, `${kind} must not get a certificate`);
      // A removed node is told so; the others, having no valid certificate of this cluster, need a token.
      assert.equal(err.code, removed ? 'PermissionDenied' : 'InvalidArgument');
      assert.equal(
        err.desc,
        removed ? expectedDenial(kind, '') : 'A valid join token is necessary to join this cluster',
      );
    });
  }
});
