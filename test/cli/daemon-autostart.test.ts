import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalClient } from '../../src/client/shoal-client';
import { daemonAnswers, startDaemon } from '../../src/cli/daemon-autostart';

/** A stand-in for `bin/run.js daemon`: answers on --host, records its argv, exits after 5 s. */
const FAKE_DAEMON = `
const http = require('node:http');
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.writeFileSync(process.env.ARGS_FILE, JSON.stringify(args));
console.log('fake daemon starting');
const sock = args[args.indexOf('--host') + 1].replace('unix://', '');
http.createServer((req, res) => res.end()).listen(sock);
setTimeout(() => process.exit(0), 5000);
`;

test('swarm init auto-start: spawns `<entry> daemon --data-root … --host …`, logs, waits for /_ping', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-autostart-'));
  try {
    const entry = join(dir, 'fake-run.js');
    writeFileSync(entry, FAKE_DAEMON);
    const dataRoot = join(dir, 'data');
    const socketPath = join(dir, 'run', 'shoal.sock');
    const client = new ShoalClient({ socketPath });
    assert.equal(await daemonAnswers(client), false);
    const env = { ...process.env, SHOAL_DATA_ROOT: dataRoot, ARGS_FILE: join(dir, 'args.json') };
    const res = await startDaemon(client, env, entry);
    assert.deepEqual(res, { dataRoot, logPath: join(dataRoot, 'shoal-daemon.log') });
    assert.equal(statSync(dataRoot).mode & 0o777, 0o700);
    assert.equal(await daemonAnswers(client), true);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'args.json'), 'utf8')), [
      'daemon',
      '--data-root',
      dataRoot,
      '--host',
      `unix://${socketPath}`,
    ]);
    assert.ok(existsSync(res.logPath));
    assert.match(readFileSync(res.logPath, 'utf8'), /fake daemon starting/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('auto-start reports a daemon that exits at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-autostart-'));
  try {
    const entry = join(dir, 'bad-run.js');
    writeFileSync(entry, 'process.exit(3)');
    const client = new ShoalClient({ socketPath: join(dir, 'shoal.sock') });
    await assert.rejects(
      startDaemon(client, { ...process.env, SHOAL_DATA_ROOT: join(dir, 'data') }, entry),
      /the shoal daemon exited during start-up \(status 3\); see .*shoal-daemon\.log/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
