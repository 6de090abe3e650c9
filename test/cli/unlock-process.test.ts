// `shoal swarm unlock` as a process (bin/run.js, built in dist/) against a fake locked manager:
// the masked prompt on a pseudo-terminal, a key piped on stdin, and the real OS keychain
// (gnome-keyring's Secret Service on a private D-Bus session).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDaemon } from './helpers/fake-daemon';
import { LockedManager, MSG, makeUnlockKey } from './helpers/locked-manager';
import { plainText, ptyUnavailable, spawnInPty, type PtyResult } from '../support/pty';
import { KeyringSession, keyringUnavailable } from '../support/keyring';

const BIN = join(__dirname, '..', '..', 'bin', 'run.js');
const home = mkdtempSync(join(tmpdir(), 'shoal-unlock-home-'));
/** No keychain: a HOME of our own and a session bus that is not there. */
const NO_KEYCHAIN: NodeJS.ProcessEnv = { HOME: home, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(home, 'no-bus')}` };

let d: FakeDaemon;
let m: LockedManager;

before(async () => {
  d = await new FakeDaemon().start();
});
after(async () => {
  await d.stop();
  rmSync(home, { recursive: true, force: true });
});
beforeEach(() => {
  m = new LockedManager(d);
});

/** Runs the CLI with `input` on its stdin (a pipe). Asynchronous: the fake daemon answers from this process. */
function shoal(
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv = NO_KEYCHAIN,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawn(process.execPath, [BIN, ...args, '-H', d.host], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (c) => (stdout += c));
  p.stderr.on('data', (c) => (stderr += c));
  p.stdin.end(input);
  const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** `shoal swarm unlock` on a terminal: waits for the prompt, types `key` (unless undefined). */
async function unlockOnTty(
  key: string | undefined,
  args: string[] = [],
  env: NodeJS.ProcessEnv = NO_KEYCHAIN,
): Promise<PtyResult & { text: string }> {
  const s = spawnInPty([process.execPath, BIN, 'swarm', 'unlock', ...args, '-H', d.host], {
    env: { ...process.env, ...env },
  });
  if (key !== undefined) {
    await s.waitFor('Enter unlock key:');
    s.write(key + '\r');
  }
  const r = await s.exited;
  return { ...r, text: plainText(r.output) };
}

const noPty = ptyUnavailable();

describe('on a terminal', { skip: noPty }, () => {
  test('the masked prompt unlocks; the key never shows', async () => {
    const r = await unlockOnTty(m.key, ['--no-keychain']);
    assert.equal(r.code, 0, r.text);
    assert.equal(m.state, 'active');
    assert.deepEqual(m.attempts, [m.key]);
    assert.ok(!r.output.includes(m.key), 'the key was echoed');
    assert.ok(!r.output.includes(m.key.slice(9, 20)), 'part of the key was echoed');
    assert.match(r.text, /Enter unlock key: \*{52}\n$/, 'one * per character, then a new line');
  });

  test('a wrong and a malformed key typed at the prompt are rejected', async () => {
    const wrong = await unlockOnTty(makeUnlockKey(), ['--no-keychain']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.text, new RegExp(`\nError response from daemon: ${MSG.invalidKey}\n$`));
    const malformed = await unlockOnTty('SWMKEY-1-not base64!', ['--no-keychain']);
    assert.equal(malformed.code, 1);
    assert.match(malformed.text, new RegExp(`\nError response from daemon: ${MSG.invalidKeyString}\n$`));
    assert.equal(m.state, 'locked');
  });

  test('with no keychain reachable, one line says so before the prompt', async () => {
    const r = await unlockOnTty(m.key);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /^Keychain not available \([^\n]+\); asking for the unlock key\.\n[^\n]*Enter unlock key:/);
    assert.equal(m.state, 'active');
  });

  test('Ctrl-C at the prompt ends with status 130 and sends nothing', async () => {
    const s = spawnInPty([process.execPath, BIN, 'swarm', 'unlock', '--no-keychain', '-H', d.host], {
      env: { ...process.env, ...NO_KEYCHAIN },
    });
    await s.waitFor('Enter unlock key:');
    s.write('SWMKEY-1-abc\x03');
    const r = await s.exited;
    assert.equal(r.code, 130, plainText(r.output));
    assert.deepEqual(m.attempts, []);
  });

  test('a node that is not locked never prompts', async () => {
    m.state = 'active';
    const r = await unlockOnTty(undefined, ['--no-keychain']);
    assert.equal(r.code, 1);
    assert.equal(r.text, 'Error: swarm is not locked\n');
  });
});

test('in a pipeline the key is read from stdin', async () => {
  const r = await shoal(['swarm', 'unlock', '--no-keychain'], `${m.key}\n`);
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  assert.equal(m.state, 'active');
  m.state = 'locked';
  const wrong = await shoal(['swarm', 'unlock', '--no-keychain'], `${makeUnlockKey()}\n`);
  assert.deepEqual(wrong, { code: 1, stdout: '', stderr: `Error response from daemon: ${MSG.invalidKey}\n` });
});

test('in a pipeline with no keychain reachable, one line says so', async () => {
  const r = await shoal(['swarm', 'unlock'], `${m.key}\n`);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^Keychain not available \([^\n]+\); reading the unlock key from stdin\.\n$/);
});

describe('with the OS keychain (gnome-keyring)', { skip: keyringUnavailable() }, () => {
  let kr: KeyringSession;
  before(async () => {
    kr = await new KeyringSession().start();
  });
  after(() => kr?.stop());

  test('--save-to-keychain stores the key; the next unlock uses it and reads nothing', async () => {
    const save = await shoal(['swarm', 'unlock', '--save-to-keychain'], `${m.key}\n`, kr.env);
    assert.deepEqual(save, { code: 0, stdout: '', stderr: '' });
    assert.equal(kr.get(m.clusterId), m.key);

    m.state = 'locked';
    const again = await shoal(['swarm', 'unlock'], '', kr.env);
    assert.deepEqual(again, { code: 0, stdout: '', stderr: '' });
    assert.equal(m.state, 'active');
    assert.deepEqual(m.attempts, [m.key, m.key]);
  });

  test('on a terminal, a stored key unlocks without a prompt', { skip: noPty }, async () => {
    kr.set(m.clusterId, m.key);
    const r = await unlockOnTty(undefined, [], kr.env);
    assert.equal(r.code, 0, r.text);
    assert.equal(r.text, '');
    assert.equal(m.state, 'active');
  });

  test('a stale stored key: one line, the prompt, and the entry is kept', { skip: noPty }, async () => {
    const stale = makeUnlockKey();
    kr.set(m.clusterId, stale);
    const r = await unlockOnTty(m.key, [], kr.env);
    assert.equal(r.code, 0, r.text);
    assert.match(
      r.text,
      new RegExp(
        `^The unlock key stored in the keychain was rejected \\(${MSG.invalidKey}\\); asking for the unlock key\\.\n`,
      ),
    );
    assert.equal(kr.get(m.clusterId), stale);
  });

  test('unlock-key --rotate updates the stored key; --forget removes it', async () => {
    m.state = 'active';
    kr.set(m.clusterId, m.key);
    const r = await shoal(['swarm', 'unlock-key', '--rotate', '-q'], '', kr.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${m.key}\n`);
    assert.equal(kr.get(m.clusterId), m.key);

    const forget = await shoal(['swarm', 'unlock-key', '--forget'], '', kr.env);
    assert.deepEqual(forget, {
      code: 0,
      stdout: 'Removed the unlock key stored in the keychain for this swarm.\n',
      stderr: '',
    });
    assert.equal(kr.get(m.clusterId), null);
  });

  test('unlock-key --rotate does not create an entry', async () => {
    m.state = 'active';
    const r = await shoal(['swarm', 'unlock-key', '--rotate', '-q'], '', kr.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(kr.get(m.clusterId), null);
  });
});
