// Autolock: a manager restarted with autolock on is locked until the unlock key is given, and
// nothing under its data root (nor its command line or environment) holds a secret in the clear.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, eventually } from './harness';
import { allFiles, findIn } from '../support/files';
import { KeyReadWriter } from '../../src/ca/key-read-writer';
import { parseUnlockKey } from '../../src/manager/encryption/unlock-key';
import type { Task } from '../../src/types/swarm';

const LOCKED =
  'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';
const SECRET_ENV = 'SHOAL_TEST_SECRET=correct-horse-battery-staple-4411';

const d = new TestDaemon();
before(() => d.start());
after(() => d.stop());

async function unlockKey(daemon: TestDaemon): Promise<string> {
  return (await daemon.json<{ UnlockKey: string }>('GET', '/swarm/unlockkey')).UnlockKey;
}

const running = async (daemon: TestDaemon, service: string) =>
  (
    await daemon.json<Task[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`)
  ).filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');

/** Every form in which a secret could sit in a file: raw bytes and the encodings we use. */
function forms(secret: Buffer): Buffer[] {
  return [secret, Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('hex'))];
}

async function searchForSecrets(daemon: TestDaemon, key: string): Promise<string[]> {
  const { material } = await new KeyReadWriter(join(daemon.dataRoot, 'certificates', 'swarm-node.key')).read(
    parseUnlockKey(key),
  );
  const tls = createPrivateKey(material.keyPem);
  const jwk = tls.export({ format: 'jwk' });
  const needles: [string, Buffer][] = [
    ['unlock key', Buffer.from(key)],
    ...forms(parseUnlockKey(key)).map((b): [string, Buffer] => ['raw KEK', b]),
    ...forms(material.dek!).map((b): [string, Buffer] => ['DEK', b]),
    ['TLS key (PKCS#8 DER)', tls.export({ format: 'der', type: 'pkcs8' })],
    ['TLS key (PEM line)', Buffer.from(material.keyPem.split('\n')[1])],
    ['TLS key (private scalar)', Buffer.from(jwk.d!, 'base64url')],
    ['service env', Buffer.from(SECRET_ENV)],
    ['service env value', Buffer.from('correct-horse-battery-staple')],
  ];
  const files = allFiles(daemon.dataRoot);
  // The daemon's own command line and environment.
  files.push({ path: '/proc/daemon/cmdline', data: readFileSync(`/proc/${daemon.pid}/cmdline`) });
  files.push({ path: '/proc/daemon/environ', data: readFileSync(`/proc/${daemon.pid}/environ`) });
  return needles.flatMap(([what, n]) => findIn(files, n).map((where) => `${what} in ${where}`));
}

test('init --autolock: the key is shown once, and nothing on disk holds a secret in the clear', async () => {
  const r = d.shoal(['swarm', 'init', '--autolock', '--advertise-addr', '127.0.0.1']);
  assert.equal(r.code, 0, r.stderr);
  const key = await unlockKey(d);
  assert.match(key, /^SWMKEY-1-[A-Za-z0-9+/]{43}$/);
  assert.ok(
    r.stdout.includes(`run the \`shoal swarm unlock\`\ncommand and provide the following key:\n\n    ${key}\n`),
  );
  const c = d.shoal([
    'service',
    'create',
    '--name',
    'locked-web',
    '--replicas',
    '2',
    '-e',
    SECRET_ENV,
    'busybox',
    'sleep',
    '301',
  ]);
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(await searchForSecrets(d, key), []);
  assert.match(readFileSync(join(d.dataRoot, 'certificates', 'swarm-node.key'), 'utf8'), /ENCRYPTED PRIVATE KEY/);
});

test('restarted, the manager is locked: ping, info, unlock and leave --force work; the rest is 503; no task runs', async () => {
  const key = await unlockKey(d);
  await d.halt('SIGTERM');
  await d.start();
  const ping = await d.api('GET', '/_ping');
  assert.equal(ping.headers['swarm'], 'locked');
  const info = await d.json<{ Swarm: { LocalNodeState: string; Error: string; ControlAvailable: boolean } }>(
    'GET',
    '/info',
  );
  assert.equal(info.Swarm.LocalNodeState, 'locked');
  assert.equal(info.Swarm.ControlAvailable, false);
  for (const [method, path] of [
    ['GET', '/swarm'],
    ['GET', '/swarm/unlockkey'],
    ['GET', '/services'],
    ['GET', '/nodes'],
    ['GET', '/tasks'],
    ['POST', '/swarm/update?version=1'],
  ] as const) {
    const res = await d.api(method, path, method === 'POST' ? {} : undefined);
    assert.equal(res.status, 503, `${method} ${path}`);
    assert.equal(JSON.parse(res.body).message, LOCKED, `${method} ${path}`);
  }
  const leave = await d.api('POST', '/swarm/leave');
  assert.equal(leave.status, 503);
  assert.match(
    JSON.parse(leave.body).message,
    /^Swarm is encrypted and locked\. Please unlock it first or use `--force`/,
  );
  const init = await d.api('POST', '/swarm/init', {});
  assert.equal(init.status, 503);
  assert.match(JSON.parse(init.body).message, /already part of a swarm/);
  // No task of the locked manager runs: its processes died with the old daemon and none started.
  assert.equal(findProcesses('sleep 301').length, 0);

  const malformed = await d.api('POST', '/swarm/unlock', { UnlockKey: 'not-a-key' });
  assert.equal(malformed.status, 400);
  assert.equal(JSON.parse(malformed.body).message, 'invalid key string');
  const wrong = await d.api('POST', '/swarm/unlock', { UnlockKey: 'SWMKEY-1-' + 'A'.repeat(43) });
  assert.equal(wrong.status, 401);
  assert.equal(JSON.parse(wrong.body).message, 'swarm could not be unlocked: invalid key provided');
  assert.deepEqual(await searchForSecrets(d, key), []);

  const ok = await d.api('POST', '/swarm/unlock', { UnlockKey: key });
  assert.equal(ok.status, 200, ok.body);
  await eventually(async () => (await running(d, 'locked-web')).length === 2, 20_000, 'tasks running after unlock');
  const again = await d.api('POST', '/swarm/unlock', { UnlockKey: key });
  assert.equal(again.status, 409);
  assert.equal(JSON.parse(again.body).message, 'swarm is not locked');
});

test('unlock-key --rotate: the old key no longer unlocks a restarted manager, the new one does', async () => {
  const oldKey = await unlockKey(d);
  const r = d.shoal(['swarm', 'unlock-key', '--rotate']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Successfully rotated manager unlock key\.\n/);
  const newKey = await unlockKey(d);
  assert.notEqual(newKey, oldKey);
  await eventually(async () => {
    const text = readFileSync(join(d.dataRoot, 'certificates', 'swarm-node.key'), 'utf8');
    return /kek-version: [1-9]/.test(text) && text;
  });
  await d.halt('SIGTERM');
  await d.start();
  assert.equal((await d.api('POST', '/swarm/unlock', { UnlockKey: oldKey })).status, 401);
  assert.equal((await d.api('POST', '/swarm/unlock', { UnlockKey: newKey })).status, 200);
});

test('update --autolock=false stores the keys in the clear again: a restart is not locked', async () => {
  const r = d.shoal(['swarm', 'update', '--autolock=false']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await unlockKey(d), '');
  const k = d.shoal(['swarm', 'unlock-key']);
  assert.equal(k.code, 1);
  // As docker prints it: no "Error:" prefix.
  assert.equal(k.stderr.trim(), 'no unlock key is set');
  const rot = d.shoal(['swarm', 'unlock-key', '--rotate']);
  assert.equal(rot.code, 1);
  assert.match(rot.stderr, /cannot rotate because autolock is not turned on/);
  await eventually(() => !/ENCRYPTED/.test(readFileSync(join(d.dataRoot, 'certificates', 'swarm-node.key'), 'utf8')));
  await d.halt('SIGTERM');
  await d.start();
  const info = await d.json<{ Swarm: { LocalNodeState: string } }>('GET', '/info');
  assert.equal(info.Swarm.LocalNodeState, 'active');
});

test('update --autolock=true on a running swarm rotates the DEK and the TLS key: the old ones open nothing', async () => {
  const keyFile = new KeyReadWriter(join(d.dataRoot, 'certificates', 'swarm-node.key'));
  const before = (await keyFile.read()).material;
  const r = d.shoal(['swarm', 'update', '--autolock=true']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Swarm updated\.\n/);
  const key = await unlockKey(d);
  assert.ok(r.stdout.includes(key));
  await eventually(
    async () => {
      const m = (await keyFile.read(parseUnlockKey(key)).catch(() => undefined))?.material;
      return m && !m.pendingDek && !m.dek!.equals(before.dek!) && m.keyPem !== before.keyPem;
    },
    20_000,
    'DEK and TLS key rotated',
  );
  const files = allFiles(d.dataRoot);
  assert.deepEqual(findIn(files, before.dek!), []);
  assert.deepEqual(findIn(files, createPrivateKey(before.keyPem).export({ format: 'der', type: 'pkcs8' })), []);
  assert.deepEqual(await searchForSecrets(d, key), []);
  await d.halt('SIGTERM');
  await d.start();
  assert.equal((await d.json<{ Swarm: { LocalNodeState: string } }>('GET', '/info')).Swarm.LocalNodeState, 'locked');
  assert.equal((await d.api('POST', '/swarm/unlock', { UnlockKey: key })).status, 200);
  await eventually(
    async () => (await running(d, 'locked-web')).length === 2,
    20_000,
    'tasks running after unlock',
  ).catch((err) => {
    throw new Error(`${err.message}\n${d.shoal(['service', 'ps', 'locked-web']).stdout}\n${d.log}`);
  });
});

test('leave --force on a locked manager forgets the swarm', async () => {
  await d.halt('SIGTERM');
  await d.start();
  const leave = await d.api('POST', '/swarm/leave?force=1');
  assert.equal(leave.status, 200, leave.body);
  assert.equal((await d.json<{ Swarm: { LocalNodeState: string } }>('GET', '/info')).Swarm.LocalNodeState, 'inactive');
});

function findProcesses(cmdline: string): number[] {
  const { readdirSync } = require('node:fs') as typeof import('node:fs');
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() === cmdline;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const docker = new TestDaemon();

test('the docker CLI: swarm init --autolock, unlock, unlock-key [--rotate], update --autolock', async (t) => {
  await docker.start();
  t.after(() => docker.stop());
  const init = docker.docker(['swarm', 'init', '--autolock', '--advertise-addr', '127.0.0.1']);
  assert.equal(init.code, 0, init.stderr);
  const key = docker.docker(['swarm', 'unlock-key', '-q']).stdout.trim();
  assert.match(key, /^SWMKEY-1-/);
  assert.ok(init.stdout.includes(key));
  const rot = docker.docker(['swarm', 'unlock-key', '--rotate', '-q']);
  assert.equal(rot.code, 0, rot.stderr);
  const key2 = rot.stdout.trim();
  assert.notEqual(key2, key);
  await docker.halt('SIGTERM');
  await docker.start();
  const ls = docker.docker(['node', 'ls']);
  assert.equal(ls.code, 1);
  assert.ok(ls.stderr.includes(LOCKED), ls.stderr);
  const bad = docker.docker(['swarm', 'unlock'], 'SWMKEY-1-' + 'B'.repeat(43) + '\n');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /swarm could not be unlocked: invalid key provided/);
  const unlock = docker.docker(['swarm', 'unlock'], key2 + '\n');
  assert.equal(unlock.code, 0, unlock.stderr);
  assert.equal(docker.docker(['node', 'ls', '-q']).code, 0);
  const off = docker.docker(['swarm', 'update', '--autolock=false']);
  assert.equal(off.code, 0, off.stderr);
  assert.equal(docker.docker(['swarm', 'unlock-key']).stderr.trim(), 'no unlock key is set');
  const on = docker.docker(['swarm', 'update', '--autolock=true']);
  assert.equal(on.code, 0, on.stderr);
  assert.match(
    on.stdout,
    /Swarm updated\.\nTo unlock a swarm manager after it restarts, run the `docker swarm unlock`/,
  );
});
