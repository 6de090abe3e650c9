import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultDataRoot, defaultSocketPath, parseHost, resolveHost } from '../../src/client/paths';

test('default socket: root, XDG_RUNTIME_DIR, then ~/.shoal', () => {
  assert.equal(defaultSocketPath({}, true), '/var/run/shoal.sock');
  assert.equal(defaultSocketPath({ XDG_RUNTIME_DIR: '/run/user/1000' }, false), '/run/user/1000/shoal.sock');
  assert.equal(defaultSocketPath({ HOME: '/home/u' }, false), '/home/u/.shoal/shoal.sock');
});

test('default data root: SHOAL_DATA_ROOT, root, XDG_DATA_HOME, ~/.local/share', () => {
  assert.equal(defaultDataRoot({ SHOAL_DATA_ROOT: '/x' }, true), '/x');
  assert.equal(defaultDataRoot({}, true), '/var/lib/shoal');
  assert.equal(defaultDataRoot({ XDG_DATA_HOME: '/d' }, false), '/d/shoal');
  assert.equal(defaultDataRoot({ HOME: '/home/u' }, false), '/home/u/.local/share/shoal');
});

test('hosts: unix:// only; -H beats SHOAL_HOST beats the default', () => {
  assert.equal(parseHost('unix:///tmp/x.sock'), '/tmp/x.sock');
  assert.throws(() => parseHost('tcp://1.2.3.4:2375'), /only unix:\/\/ sockets are supported/);
  assert.throws(() => parseHost('/tmp/x.sock'), /expected unix:\/\/\/path/);
  assert.throws(() => parseHost('unix://'), /the socket path is empty/);
  assert.equal(resolveHost('unix:///a.sock', { SHOAL_HOST: 'unix:///b.sock' }), 'unix:///a.sock');
  assert.equal(resolveHost(undefined, { SHOAL_HOST: 'unix:///b.sock' }), 'unix:///b.sock');
  assert.equal(resolveHost(undefined, { XDG_RUNTIME_DIR: '/r' }).endsWith('.sock'), true);
});
