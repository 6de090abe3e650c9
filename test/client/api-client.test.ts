import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, ConnectionError, DaemonError, encodeFilters, encodeQuery } from '../../src/client/api-client';
import { ShoalClient } from '../../src/client/shoal-client';
import { FakeDaemon } from '../cli/helpers/fake-daemon';

let daemon: FakeDaemon;

before(async () => {
  daemon = await new FakeDaemon().start();
});
after(async () => {
  await daemon.stop();
});

test('query strings are encoded like Go url.Values: keys sorted, QueryEscape, filters as JSON maps', () => {
  assert.equal(encodeQuery({ b: '2', a: 'x y', c: undefined }), 'a=x+y&b=2');
  assert.equal(encodeQuery({ q: "it's (a)*!" }), 'q=it%27s+%28a%29%2A%21');
  assert.equal(
    encodeFilters({ name: ['web'], id: ['b', 'a'], empty: [] }),
    '{"id":{"a":true,"b":true},"name":{"web":true}}',
  );
  assert.equal(encodeQuery({ filters: {} }), '');
  assert.equal(
    encodeQuery({ status: 'true', filters: { name: ['web'] } }),
    'filters=%7B%22name%22%3A%7B%22web%22%3Atrue%7D%7D&status=true',
  );
});

test('versioned paths, JSON bodies with Content-Type, parsed JSON answers', async () => {
  daemon.on('POST', '/things/create', (req) => ({ status: 201, body: { ID: 'id1', Got: req.json } }));
  const client = new ApiClient({ socketPath: daemon.socketPath });
  const res = await client.post<{ ID: string; Got: unknown }>('/things/create', { Name: 'x' }, { b: 1, a: true });
  assert.deepEqual(res, { ID: 'id1', Got: { Name: 'x' } });
  const req = daemon.requests.at(-1)!;
  assert.equal(req.rawUrl, '/v1.51/things/create?a=true&b=1');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers.host, 'api.moby.localhost');
});

test('no body means no Content-Type; empty answers resolve to undefined', async () => {
  daemon.on('POST', '/swarm/leave', {});
  const client = new ShoalClient({ socketPath: daemon.socketPath });
  assert.equal(await client.swarmLeave(true), undefined);
  const req = daemon.requests.at(-1)!;
  assert.equal(req.rawUrl, '/v1.51/swarm/leave?force=1');
  assert.equal(req.headers['content-type'], undefined);
  assert.equal(req.body, '');
});

test('daemon errors carry the status and the message, printed as docker prints them', async () => {
  daemon.on('GET', '/nodes/*', (req) => ({
    status: 404,
    body: { message: `node ${req.path.split('/')[2]} not found` },
  }));
  const client = new ShoalClient({ socketPath: daemon.socketPath });
  await assert.rejects(client.nodeInspect('nope'), (err: unknown) => {
    assert.ok(err instanceof DaemonError);
    assert.equal(err.statusCode, 404);
    assert.equal(err.daemonMessage, 'node nope not found');
    assert.equal(err.message, 'Error response from daemon: node nope not found');
    return true;
  });
  daemon.on('GET', '/plain', { status: 500, body: 'boom', contentType: 'text/plain' });
  await assert.rejects(client.get('/plain'), /Error response from daemon: boom/);
  daemon.on('GET', '/empty', { status: 503 });
  await assert.rejects(
    client.get('/empty'),
    /request returned Service Unavailable for API route and version GET \/v1.51\/empty/,
  );
});

test('ping reads the docker headers from HEAD /_ping (unversioned)', async () => {
  daemon.on('HEAD', '/_ping', {
    headers: { Ostype: 'linux', Swarm: 'active/manager', 'Docker-Experimental': 'false' },
  });
  const info = await new ShoalClient({ socketPath: daemon.socketPath }).ping();
  assert.deepEqual(info, { apiVersion: '1.51', osType: 'linux', experimental: false, swarm: 'active/manager' });
  assert.equal(daemon.requests.at(-1)!.rawUrl, '/_ping');
});

test('typed calls send the docker CLI requests', async () => {
  daemon.on('POST', '/swarm/update', {});
  daemon.on('GET', '/services', { body: [] });
  daemon.on('POST', '/services/*/update', { body: { Warnings: null } });
  const client = new ShoalClient({ socketPath: daemon.socketPath });
  await client.swarmUpdate(13, { Labels: {} }, { rotateWorkerToken: true });
  assert.equal(
    daemon.requests.at(-1)!.rawUrl,
    '/v1.51/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=true&version=13',
  );
  await client.serviceList({ filters: { name: ['web'] }, status: true });
  assert.equal(
    daemon.requests.at(-1)!.rawUrl,
    '/v1.51/services?filters=%7B%22name%22%3A%7B%22web%22%3Atrue%7D%7D&status=true',
  );
  await client.serviceUpdate('abc', 23, { Labels: {}, TaskTemplate: { ForceUpdate: 0 } }, { registryAuthFrom: 'spec' });
  assert.equal(daemon.requests.at(-1)!.rawUrl, '/v1.51/services/abc/update?registryAuthFrom=spec&version=23');
});

test("a dead socket gives docker's connection message", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-dead-'));
  try {
    const missing = join(dir, 'missing.sock');
    await assert.rejects(new ApiClient({ socketPath: missing }).get('/info'), (err: unknown) => {
      assert.ok(err instanceof ConnectionError);
      assert.equal(err.code, 'ENOENT');
      assert.equal(
        err.message,
        `Cannot connect to the shoal daemon at unix://${missing}. Is the shoal daemon running?`,
      );
      return true;
    });
    // a path nobody listens on (ECONNREFUSED)
    const stale = join(dir, 'stale.sock');
    writeFileSync(stale, '');
    await assert.rejects(
      new ApiClient({ socketPath: stale }).get('/info'),
      new RegExp(
        `^ConnectionError: Cannot connect to the shoal daemon at unix://${stale}\\. Is the shoal daemon running\\?$`,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
