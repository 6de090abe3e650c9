// `swarm unlock` and `swarm unlock-key`, in-process against a fake locked manager, with the key
// on a stdin stream and an in-memory keychain. The terminal prompt and the real keychain are
// covered by unlock-process.test.ts.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { FakeDaemon } from './helpers/fake-daemon';
import { LockedManager, MSG, makeUnlockKey, type NodeState } from './helpers/locked-manager';
import { MemoryKeychain, noKeychain } from './helpers/memory-keychain';
import type { CommandResult } from './helpers/run-command';
import SwarmUnlock from '../../src/cli/commands/swarm/unlock';
import SwarmUnlockKey from '../../src/cli/commands/swarm/unlock-key';
import type { UnlockKeyStore } from '../../src/cli/swarm/keychain';

let d: FakeDaemon;
let m: LockedManager;
let kc: MemoryKeychain;

before(async () => {
  d = await new FakeDaemon().start();
});
after(() => d.stop());
beforeEach(() => {
  d.requests.length = 0;
  m = new LockedManager(d);
  kc = new MemoryKeychain();
});

/** A stdin that is not a terminal and holds `text`; `read` says whether the command read it. */
function pipeStdin(text: string): Readable & { isTTY?: boolean; read_?: boolean } {
  const s = Readable.from([text]) as Readable & { isTTY?: boolean; read_?: boolean };
  s.once('data', () => (s.read_ = true));
  s.pause();
  return s;
}

async function run(
  Cmd: typeof SwarmUnlock | typeof SwarmUnlockKey,
  argv: string[],
  opts: { stdin?: Readable; keychain?: () => UnlockKeyStore } = {},
): Promise<CommandResult> {
  const cmd = new Cmd(['-H', d.host, ...argv]);
  let stdout = '';
  let stderr = '';
  cmd.stdout = { write: (s: string) => (stdout += s) };
  cmd.stderr = { write: (s: string) => (stderr += s) };
  cmd.env = {};
  cmd.keychain = opts.keychain ?? (() => kc);
  if (cmd instanceof SwarmUnlock) cmd.stdin = opts.stdin ?? pipeStdin('');
  const code = await cmd.execute();
  return { code, stdout, stderr };
}

const unlock = (argv: string[], stdinText = '', keychain?: () => UnlockKeyStore) =>
  run(SwarmUnlock, argv, { stdin: pipeStdin(stdinText), keychain });

// ---- docker's behaviour ------------------------------------------------------------------------

test('unlock reads one line from a non-terminal stdin, unlocks and prints nothing', async () => {
  const stdin = pipeStdin(`  ${m.key}  \nsecond line\n`);
  const r = await run(SwarmUnlock, [], { stdin });
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  assert.equal(stdin.read_, true);
  assert.equal(m.state, 'active');
  assert.deepEqual(m.attempts, [m.key]);
  assert.deepEqual(
    d.requests.map((q) => `${q.method} ${q.path}`),
    ['GET /info', 'POST /swarm/unlock'],
  );
  assert.deepEqual(d.requests[1].json, { UnlockKey: m.key });
  assert.deepEqual(kc.calls, [`get ${m.clusterId}`], 'looked for a stored key, stored nothing');
});

test('a key without a newline at the end of stdin is read too', async () => {
  assert.equal((await unlock([], m.key)).code, 0);
  assert.equal(m.state, 'active');
});

test("a wrong key and a malformed key are rejected with the daemon's messages", async () => {
  const wrong = await unlock([], makeUnlockKey() + '\n');
  assert.deepEqual(wrong, { code: 1, stdout: '', stderr: `Error response from daemon: ${MSG.invalidKey}\n` });
  const malformed = await unlock([], 'not-a-key\n');
  assert.deepEqual(malformed, {
    code: 1,
    stdout: '',
    stderr: `Error response from daemon: ${MSG.invalidKeyString}\n`,
  });
  const empty = await unlock([], '');
  assert.equal(empty.stderr, `Error response from daemon: ${MSG.invalidKeyString}\n`);
  assert.equal(m.state, 'locked');
  assert.equal(kc.entries.size, 0);
});

test('unlock checks /info first: inactive, and every state but locked, never read a key', async () => {
  const cases: [NodeState, string][] = [
    ['inactive', 'Error: This node is not part of a swarm\n'],
    ['active', 'Error: swarm is not locked\n'],
    ['pending', 'Error: swarm is not locked\n'],
    ['error', 'Error: swarm is not locked\n'],
  ];
  for (const [state, stderr] of cases) {
    m.state = state;
    d.requests.length = 0;
    const stdin = pipeStdin(m.key + '\n');
    const r = await run(SwarmUnlock, ['--save-to-keychain'], { stdin, keychain: noKeychain });
    assert.deepEqual(r, { code: 1, stdout: '', stderr }, state);
    assert.deepEqual(
      d.requests.map((q) => q.path),
      ['/info'],
    );
    assert.equal(stdin.read_, undefined, 'stdin was not read');
  }
});

test('unlock takes no arguments (a key on the command line would show in ps)', async () => {
  const r = await unlock([m.key]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^shoal: 'shoal swarm unlock' accepts no arguments/);
  assert.equal(d.requests.length, 0);
});

// ---- the keychain ------------------------------------------------------------------------------

test('--save-to-keychain stores the key for this cluster after a successful unlock', async () => {
  const r = await unlock(['--save-to-keychain'], m.key + '\n');
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  assert.deepEqual([...kc.entries], [[m.clusterId, m.key]]);
});

test('--save-to-keychain stores nothing when the key is rejected', async () => {
  const r = await unlock(['--save-to-keychain'], makeUnlockKey() + '\n');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `Error response from daemon: ${MSG.invalidKey}\n`);
  assert.equal(kc.entries.size, 0);
});

test('a stored key is used first: stdin is not read, nothing is printed', async () => {
  kc.entries.set(m.clusterId, m.key);
  const stdin = pipeStdin('should not be read\n');
  const r = await run(SwarmUnlock, [], { stdin });
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  assert.equal(stdin.read_, undefined);
  assert.deepEqual(m.attempts, [m.key]);
  assert.equal(m.state, 'active');
});

test('--save-to-keychain with a key that came from the keychain changes nothing', async () => {
  kc.entries.set(m.clusterId, m.key);
  const r = await unlock(['--save-to-keychain']);
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  assert.deepEqual(kc.calls, [`get ${m.clusterId}`]);
});

test('a stored key that is rejected is said in one line, kept, and the key is read from stdin', async () => {
  const stale = makeUnlockKey();
  kc.entries.set(m.clusterId, stale);
  const r = await unlock([], m.key + '\n');
  assert.deepEqual(r, {
    code: 0,
    stdout: '',
    stderr: `The unlock key stored in the keychain was rejected (${MSG.invalidKey}); reading the unlock key from stdin.\n`,
  });
  assert.deepEqual(m.attempts, [stale, m.key]);
  assert.equal(kc.entries.get(m.clusterId), stale, 'not deleted, not replaced without --save-to-keychain');
});

test('a rejected stored key is replaced with --save-to-keychain', async () => {
  kc.entries.set(m.clusterId, 'SWMKEY-1-garbage!');
  const r = await unlock(['--save-to-keychain'], m.key + '\n');
  assert.equal(r.code, 0);
  assert.equal(
    r.stderr,
    `The unlock key stored in the keychain was rejected (${MSG.invalidKeyString}); reading the unlock key from stdin.\n`,
  );
  assert.equal(kc.entries.get(m.clusterId), m.key);
});

test('a stored key whose fallback is also wrong ends with the daemon error', async () => {
  kc.entries.set(m.clusterId, makeUnlockKey());
  const r = await unlock(['--save-to-keychain'], makeUnlockKey() + '\n');
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /was rejected .*\nError response from daemon: swarm could not be unlocked: invalid key provided\n$/,
  );
  assert.equal(m.state, 'locked');
});

test('an unreachable keychain is said in one line, then the key is read from stdin', async () => {
  kc.unavailable = 'Platform failure: DBus error: no bus';
  const r = await unlock([], m.key + '\n');
  assert.deepEqual(r, {
    code: 0,
    stdout: '',
    stderr: 'Keychain not available (Platform failure: DBus error: no bus); reading the unlock key from stdin.\n',
  });
  assert.equal(m.state, 'active');
});

test('--save-to-keychain with an unreachable keychain unlocks, then fails (status 1)', async () => {
  kc.unavailable = 'no bus';
  const r = await unlock(['--save-to-keychain'], m.key + '\n');
  assert.equal(m.state, 'active');
  assert.deepEqual(r, {
    code: 1,
    stdout: '',
    stderr:
      'Keychain not available (no bus); reading the unlock key from stdin.\n' +
      'Error: the swarm is unlocked, but the key was not saved to the keychain: no bus\n',
  });
});

test('--save-to-keychain when the keychain refuses the write', async () => {
  kc.refuseSet = 'Secret Service: no result found';
  const r = await unlock(['--save-to-keychain'], m.key + '\n');
  assert.equal(m.state, 'active');
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'Error: the swarm is unlocked, but the key was not saved to the keychain: Secret Service: no result found\n',
  );
});

test('--no-keychain neither reads nor writes the keychain', async () => {
  const r = await unlock(['--no-keychain'], m.key + '\n', noKeychain);
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  assert.equal(m.state, 'active');
});

test('--no-keychain and --save-to-keychain together are a flag error (125)', async () => {
  const r = await unlock(['--no-keychain', '--save-to-keychain'], m.key + '\n', noKeychain);
  assert.equal(r.code, 125);
  assert.match(
    r.stderr,
    /^if any flags in the group \[no-keychain save-to-keychain\] are set none of the others can be; \[no-keychain save-to-keychain\] were all set\n\nUsage: {2}shoal swarm unlock \[OPTIONS\]\n/,
  );
  assert.equal(d.requests.length, 0);
});

test('a daemon that reports no cluster ID while locked (docker): no keychain lookup', async () => {
  m.reportClusterId = false;
  const r = await unlock([], m.key + '\n', noKeychain);
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  m.state = 'locked';
  const save = await unlock(['--save-to-keychain'], m.key + '\n', noKeychain);
  assert.deepEqual(save, {
    code: 1,
    stdout: '',
    stderr:
      "Error: the swarm is unlocked, but the key was not saved to the keychain: the daemon did not report the swarm's cluster ID\n",
  });
});

test('the key is never printed', async () => {
  kc.entries.set(m.clusterId, makeUnlockKey());
  kc.refuseSet = 'refused';
  const r = await unlock(['--save-to-keychain'], m.key + '\n');
  for (const k of [m.key, ...kc.entries.values()]) {
    assert.ok(!r.stdout.includes(k) && !r.stderr.includes(k));
  }
});

// ---- unlock-key --------------------------------------------------------------------------------

test('unlock-key --rotate updates a stored key for this cluster', async () => {
  m.state = 'active';
  const old = m.key;
  kc.entries.set(m.clusterId, old);
  const r = await run(SwarmUnlockKey, ['--rotate']);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(m.key, old);
  assert.equal(kc.entries.get(m.clusterId), m.key);
  assert.ok(
    r.stdout.startsWith(
      'Successfully rotated manager unlock key.\nUpdated the unlock key stored in the keychain.\n' +
        'To unlock a swarm manager after it restarts, run the `shoal swarm unlock`\n',
    ),
    r.stdout,
  );
  assert.ok(r.stdout.includes(`    ${m.key}\n`));
  assert.equal(r.stderr, '');
});

test('unlock-key --rotate -q prints only the key and still updates the stored one', async () => {
  m.state = 'active';
  kc.entries.set(m.clusterId, m.key);
  const r = await run(SwarmUnlockKey, ['--rotate', '-q']);
  assert.deepEqual(r, { code: 0, stdout: `${m.key}\n`, stderr: '' });
  assert.equal(kc.entries.get(m.clusterId), m.key);
});

test('unlock-key --rotate stores nothing when no key was stored', async () => {
  m.state = 'active';
  const r = await run(SwarmUnlockKey, ['--rotate', '-q']);
  assert.equal(r.code, 0);
  assert.equal(kc.entries.size, 0);
  assert.deepEqual(kc.calls, [`get ${m.clusterId}`]);
});

test('unlock-key --rotate with an unreachable keychain says so in one line and shows the new key', async () => {
  m.state = 'active';
  kc.unavailable = 'no bus';
  const r = await run(SwarmUnlockKey, ['--rotate', '-q']);
  assert.deepEqual(r, {
    code: 0,
    stdout: `${m.key}\n`,
    stderr: 'Keychain not available (no bus); a key stored there for this swarm was not updated.\n',
  });
});

test('unlock-key --rotate --no-keychain leaves the keychain alone', async () => {
  m.state = 'active';
  const r = await run(SwarmUnlockKey, ['--rotate', '--no-keychain', '-q'], { keychain: noKeychain });
  assert.deepEqual(r, { code: 0, stdout: `${m.key}\n`, stderr: '' });
});

test('unlock-key without --rotate never opens the keychain', async () => {
  m.state = 'active';
  const r = await run(SwarmUnlockKey, ['-q'], { keychain: noKeychain });
  assert.deepEqual(r, { code: 0, stdout: `${m.key}\n`, stderr: '' });
});

test('unlock-key --forget removes the stored key, locked or not', async () => {
  kc.entries.set(m.clusterId, m.key);
  const r = await run(SwarmUnlockKey, ['--forget']);
  assert.deepEqual(r, {
    code: 0,
    stdout: 'Removed the unlock key stored in the keychain for this swarm.\n',
    stderr: '',
  });
  assert.equal(kc.entries.size, 0);
  const again = await run(SwarmUnlockKey, ['--forget']);
  assert.deepEqual(again, {
    code: 0,
    stdout: 'No unlock key is stored in the keychain for this swarm.\n',
    stderr: '',
  });
  const quiet = await run(SwarmUnlockKey, ['--forget', '-q']);
  assert.deepEqual(quiet, { code: 0, stdout: '', stderr: '' });
  assert.deepEqual(
    d.requests.map((q) => q.path),
    ['/info', '/info', '/info'],
    'no unlock key fetched or printed',
  );
});

test('unlock-key --forget: not in a swarm, no cluster ID, unreachable keychain, flag conflicts', async () => {
  m.state = 'inactive';
  assert.deepEqual(await run(SwarmUnlockKey, ['--forget'], { keychain: noKeychain }), {
    code: 1,
    stdout: '',
    stderr: 'Error: This node is not part of a swarm\n',
  });
  m.state = 'locked';
  m.reportClusterId = false;
  assert.deepEqual(await run(SwarmUnlockKey, ['--forget'], { keychain: noKeychain }), {
    code: 1,
    stdout: '',
    stderr: "Error: the daemon did not report the swarm's cluster ID\n",
  });
  m.reportClusterId = true;
  kc.unavailable = 'no bus';
  assert.deepEqual(await run(SwarmUnlockKey, ['--forget']), {
    code: 1,
    stdout: '',
    stderr: 'Error: keychain not available: no bus\n',
  });
  for (const other of ['--rotate', '--no-keychain']) {
    const r = await run(SwarmUnlockKey, ['--forget', other], { keychain: noKeychain });
    assert.equal(r.code, 125);
    const group = ['forget', other.slice(2)].sort().join(' ');
    assert.ok(r.stderr.startsWith(`if any flags in the group [${group}] are set none of the others can be;`));
  }
});
