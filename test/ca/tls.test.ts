// Real mutual-TLS handshakes with the certificates this module issues, as nodes use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRootCA } from '../../src/ca';
import { issueNode } from './fixtures';
import { tryHandshake } from './tls-harness';

async function setup() {
  const root = await createRootCA();
  const other = await createRootCA();
  return {
    root,
    other,
    manager: await issueNode(root, 'swarm-manager', 'managerid00000000000000001'),
    worker: await issueNode(root, 'swarm-worker', 'workerid000000000000000001'),
    foreignWorker: await issueNode(other, 'swarm-worker', 'workerid000000000000000002'),
    foreignManager: await issueNode(other, 'swarm-manager', 'managerid00000000000000002'),
  };
}

type Fixture = Awaited<ReturnType<typeof setup>>;
let fixture: Promise<Fixture> | undefined;
const get = (): Promise<Fixture> => (fixture ??= setup());

const mtlsServer = (f: Fixture, cert = f.manager) => ({
  cert: cert.certPem,
  key: cert.keyPem,
  ca: f.root.certPem,
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: 'TLSv1.2' as const,
});

for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${maxVersion}: a worker connects to a manager as "swarm-manager"; both sides authenticate`, async () => {
    const f = await get();
    const r = await tryHandshake(mtlsServer(f), {
      cert: f.worker.certPem,
      key: f.worker.keyPem,
      ca: f.root.certPem,
      servername: 'swarm-manager',
      maxVersion,
    });
    assert.equal(r.clientError, undefined);
    assert.equal(r.serverError, undefined);
    assert.ok(r.ok);
    assert.equal(r.serverSawPeer?.subject.CN, f.worker.nodeId);
    assert.equal(r.serverSawPeer?.subject.OU, 'swarm-worker');
    assert.equal(r.serverSawPeer?.subject.O, 'cluster0');
  });

  test(`${maxVersion}: the server refuses a client certificate signed by another root`, async () => {
    const f = await get();
    const r = await tryHandshake(mtlsServer(f), {
      cert: f.foreignWorker.certPem,
      key: f.foreignWorker.keyPem,
      ca: f.root.certPem,
      servername: 'swarm-manager',
      maxVersion,
    });
    assert.equal(r.ok, false);
    assert.ok(r.serverError, 'server must report the rejected client');
    assert.equal(r.serverSawPeer, undefined);
  });
}

test('the server refuses a client with no certificate', async () => {
  const f = await get();
  const r = await tryHandshake(mtlsServer(f), { ca: f.root.certPem, servername: 'swarm-manager' });
  assert.equal(r.ok, false);
  assert.ok(r.serverError);
});

test('a manager certificate also answers to "swarm-ca", for CA requests', async () => {
  const f = await get();
  const r = await tryHandshake(mtlsServer(f), {
    cert: f.worker.certPem,
    key: f.worker.keyPem,
    ca: f.root.certPem,
    servername: 'swarm-ca',
  });
  assert.ok(r.ok, String(r.clientError ?? r.serverError));
});

test('a worker certificate cannot pose as a manager: no "swarm-manager" SAN', async () => {
  const f = await get();
  const r = await tryHandshake(mtlsServer(f, f.worker), {
    cert: f.worker.certPem,
    key: f.worker.keyPem,
    ca: f.root.certPem,
    servername: 'swarm-manager',
  });
  assert.equal(r.ok, false);
  assert.equal((r.clientError as NodeJS.ErrnoException | undefined)?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('the client refuses a manager whose certificate comes from another root', async () => {
  const f = await get();
  const r = await tryHandshake(
    { ...mtlsServer(f, f.foreignManager), ca: f.other.certPem },
    { cert: f.worker.certPem, key: f.worker.keyPem, ca: f.root.certPem, servername: 'swarm-manager' },
  );
  assert.equal(r.ok, false);
  assert.match(
    String((r.clientError as NodeJS.ErrnoException | undefined)?.code),
    /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/,
  );
});
