// `shoal swarm unlock` and `swarm unlock-key` against a real daemon with autolock: a restarted
// manager is locked, and the CLI unlocks it from stdin, from the masked prompt on a
// pseudo-terminal and from the OS keychain (gnome-keyring on a private D-Bus session).
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BIN, TestDaemon } from './harness';
import { plainText, ptyUnavailable, spawnInPty } from '../support/pty';
import { KeyringSession, keyringUnavailable } from '../support/keyring';

const INVALID_KEY = 'swarm could not be unlocked: invalid key provided';
const NOT_LOCKED_YET = 'daemon autolock lands with issue 3';

const d = new TestDaemon();
/** No keychain for the CLI: its own HOME and a session bus that is not there. */
const NO_KEYCHAIN: NodeJS.ProcessEnv = {
  HOME: d.dir,
  DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(d.dir, 'no-bus')}`,
};
/** Why these tests cannot run yet (the daemon refuses autolock with 501), or undefined. */
let unsupported: string | undefined;
let key = '';
let clusterId = '';

before(async () => {
  // Probe on a throw-away daemon, so that the real one is initialised by the CLI.
  const probe = new TestDaemon();
  await probe.start();
  try {
    const r = await probe.api('POST', '/swarm/init', {
      ListenAddr: '127.0.0.1:0',
      AdvertiseAddr: '127.0.0.1',
      AutoLockManagers: true,
    });
    if (r.status === 501) unsupported = NOT_LOCKED_YET;
  } finally {
    await probe.stop();
  }
  await d.start();
});
after(() => d.stop());

/** Skips the test when the daemon has no autolock yet; true when it was skipped. */
function skipped(t: TestContext): boolean {
  if (unsupported) t.skip(unsupported);
  return unsupported !== undefined;
}

function shoal(args: string[], input = '', env: NodeJS.ProcessEnv = NO_KEYCHAIN) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env, SHOAL_HOST: `unix://${d.socket}` },
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function nodeState(): Promise<{ state: string; clusterId: string }> {
  const info = await d.json<{ Swarm: { LocalNodeState: string; Cluster?: { ID: string } } }>('GET', '/info');
  return { state: info.Swarm.LocalNodeState, clusterId: info.Swarm.Cluster?.ID ?? '' };
}

/** Restarts the daemon on its data root; with autolock on, it comes back locked. */
async function restartLocked(): Promise<void> {
  await d.halt('SIGTERM');
  await d.start();
  assert.deepEqual(await nodeState(), { state: 'locked', clusterId });
}

test('swarm init --autolock prints the unlock key', async (t) => {
  if (skipped(t)) return;
  const r = shoal(['swarm', 'init', '--autolock', '--advertise-addr', '127.0.0.1']);
  assert.equal(r.code, 0, r.stderr);
  const m =
    /run the `shoal swarm unlock`\ncommand and provide the following key:\n\n {4}(\S+)\n\nRemember to store this key/.exec(
      r.stdout,
    );
  assert.ok(m, r.stdout);
  key = m[1];
  assert.match(key, /^SWMKEY-1-[A-Za-z0-9+/]{43}$/);
  clusterId = (await d.json<{ ID: string }>('GET', '/swarm')).ID;
  assert.deepEqual(await nodeState(), { state: 'active', clusterId });
});

test('restarted, the manager is locked and reports its cluster ID', async (t) => {
  if (skipped(t)) return;
  await restartLocked();
  const r = shoal(['swarm', 'unlock-key', '-q']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^could not fetch unlock key: Error response from daemon: Swarm is encrypted and needs to be unlocked/,
  );
});

test("wrong and malformed keys are rejected with docker's messages", (t) => {
  if (skipped(t)) return;
  const wrong = shoal(['swarm', 'unlock'], 'SWMKEY-1-' + 'A'.repeat(43) + '\n');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, new RegExp(`(^|\n)Error response from daemon: ${INVALID_KEY}\n$`));
  const malformed = shoal(['swarm', 'unlock', '--no-keychain'], 'not-a-key\n');
  assert.deepEqual(malformed, { code: 1, stdout: '', stderr: 'Error response from daemon: invalid key string\n' });
});

test('unlock with the key on stdin (a pipeline)', async (t) => {
  if (skipped(t)) return;
  const r = shoal(['swarm', 'unlock', '--no-keychain'], `${key}\n`);
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  assert.equal((await nodeState()).state, 'active');
  const again = shoal(['swarm', 'unlock', '--no-keychain'], `${key}\n`);
  assert.deepEqual(again, { code: 1, stdout: '', stderr: 'Error: swarm is not locked\n' });
});

test('unlock through the masked prompt on a terminal', { skip: ptyUnavailable() }, async (t) => {
  if (skipped(t)) return;
  await restartLocked();
  const s = spawnInPty([process.execPath, BIN, 'swarm', 'unlock'], {
    env: { ...process.env, ...NO_KEYCHAIN, SHOAL_HOST: `unix://${d.socket}` },
  });
  await s.waitFor('Enter unlock key:');
  s.write(`${key}\r`);
  const r = await s.exited;
  const text = plainText(r.output);
  assert.equal(r.code, 0, text);
  assert.match(text, /^Keychain not available \([^\n]+\); asking for the unlock key\.\n/);
  assert.ok(!r.output.includes(key), 'the key was echoed');
  assert.equal((await nodeState()).state, 'active');
});

describe('with the OS keychain (gnome-keyring)', { skip: keyringUnavailable() }, () => {
  let kr: KeyringSession;
  before(async () => {
    if (!unsupported) kr = await new KeyringSession().start();
  });
  after(() => kr?.stop());

  test('--save-to-keychain stores the key; the next unlock takes it from the keychain', async (t) => {
    if (skipped(t)) return;
    await restartLocked();
    const save = shoal(['swarm', 'unlock', '--save-to-keychain'], `${key}\n`, kr.env);
    assert.deepEqual(save, { code: 0, stdout: '', stderr: '' });
    assert.equal(kr.get(clusterId), key);

    await restartLocked();
    const r = shoal(['swarm', 'unlock'], '', kr.env);
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    assert.equal((await nodeState()).state, 'active');
  });

  test('unlock-key --rotate updates the stored key, which then unlocks', async (t) => {
    if (skipped(t)) return;
    const r = shoal(['swarm', 'unlock-key', '--rotate'], '', kr.env);
    assert.equal(r.code, 0, r.stderr);
    const m = /\n {4}(SWMKEY-1-\S+)\n/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.notEqual(m[1], key);
    key = m[1];
    assert.ok(
      r.stdout.startsWith('Successfully rotated manager unlock key.\nUpdated the unlock key stored in the keychain.\n'),
    );
    assert.equal(kr.get(clusterId), key);

    await restartLocked();
    const unlock = shoal(['swarm', 'unlock'], '', kr.env);
    assert.deepEqual(unlock, { code: 0, stdout: '', stderr: '' });
  });

  test('a stale stored key: one line, then the key from stdin; the entry is kept', async (t) => {
    if (skipped(t)) return;
    const stale = 'SWMKEY-1-' + 'A'.repeat(43);
    kr.set(clusterId, stale);
    await restartLocked();
    const r = shoal(['swarm', 'unlock'], `${key}\n`, kr.env);
    assert.deepEqual(r, {
      code: 0,
      stdout: '',
      stderr: `The unlock key stored in the keychain was rejected (${INVALID_KEY}); reading the unlock key from stdin.\n`,
    });
    assert.equal(kr.get(clusterId), stale);
  });

  test('unlock-key --forget removes the stored key', async (t) => {
    if (skipped(t)) return;
    const r = shoal(['swarm', 'unlock-key', '--forget'], '', kr.env);
    assert.deepEqual(r, {
      code: 0,
      stdout: 'Removed the unlock key stored in the keychain for this swarm.\n',
      stderr: '',
    });
    assert.equal(kr.get(clusterId), null);

    await restartLocked();
    const empty = shoal(['swarm', 'unlock'], '', kr.env);
    assert.deepEqual(empty, { code: 1, stdout: '', stderr: 'Error response from daemon: invalid key string\n' });
    assert.equal(shoal(['swarm', 'unlock'], `${key}\n`, kr.env).code, 0);
  });
});
