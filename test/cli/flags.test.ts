import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bool, duration, list, str, uint } from '../../src/cli/flags/define';
import { FlagError, HelpRequested, parseArgv } from '../../src/cli/flags/parse';
import { parseFilters } from '../../src/cli/flags/common';

const DEFS = {
  quiet: bool('q', { char: 'q' }),
  detach: bool('d', { char: 'd' }),
  name: str('name', { char: 'n' }),
  env: list('env', { char: 'e' }),
  replicas: uint('replicas'),
  delay: duration('delay'),
  mode: str('mode', { default: 'replicated' }),
};

test('pflag forms: --f v, --f=v, -f v, -fv, grouped booleans, repeated lists, --', () => {
  const p = parseArgv(DEFS, [
    '--name',
    'web',
    '-qd',
    '-e',
    'A=1',
    '--env=B=2',
    '-nx',
    'img',
    '--replicas=3',
    '--',
    '--not-a-flag',
  ]);
  assert.equal(p.flags.name, 'x');
  assert.equal(p.flags.quiet, true);
  assert.equal(p.flags.detach, true);
  assert.deepEqual(p.flags.env, ['A=1', 'B=2']);
  assert.equal(p.flags.replicas, 3);
  assert.equal(p.flags.mode, 'replicated');
  assert.deepEqual(p.args, ['img', '--not-a-flag']);
  assert.deepEqual([...p.changed].sort(), ['detach', 'env', 'name', 'quiet', 'replicas']);
});

test('booleans take explicit values only with =', () => {
  const p = parseArgv(DEFS, ['--quiet=false', '-d=true', 'x']);
  assert.equal(p.flags.quiet, false);
  assert.equal(p.flags.detach, true);
  assert.ok(p.changed.has('quiet'));
  assert.deepEqual(p.args, ['x']);
});

test('non-interspersed: flags end at the first positional', () => {
  const p = parseArgv(DEFS, ['-q', 'busybox', 'sleep', '-d', '--name', '100'], { interspersed: false });
  assert.equal(p.flags.quiet, true);
  assert.equal(p.flags.detach, false);
  assert.deepEqual(p.args, ['busybox', 'sleep', '-d', '--name', '100']);
});

test("pflag's error texts", () => {
  assert.throws(() => parseArgv(DEFS, ['--nope']), new FlagError('unknown flag: --nope'));
  assert.throws(() => parseArgv(DEFS, ['-x']), new FlagError("unknown shorthand flag: 'x' in -x"));
  assert.throws(() => parseArgv(DEFS, ['-qx']), new FlagError("unknown shorthand flag: 'x' in -x"));
  assert.throws(() => parseArgv(DEFS, ['--name']), new FlagError('flag needs an argument: --name'));
  assert.throws(() => parseArgv(DEFS, ['-n']), new FlagError("flag needs an argument: 'n' in -n"));
  assert.throws(
    () => parseArgv(DEFS, ['--replicas', 'abc']),
    new FlagError('invalid argument "abc" for "--replicas" flag: strconv.ParseUint: parsing "abc": invalid syntax'),
  );
  assert.throws(
    () => parseArgv(DEFS, ['--delay', '5x']),
    new FlagError('invalid argument "5x" for "--delay" flag: time: unknown unit "x" in duration "5x"'),
  );
  assert.throws(
    () => parseArgv(DEFS, ['-q=maybe']),
    new FlagError(
      'invalid argument "maybe" for "-q, --quiet" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
    ),
  );
  assert.throws(() => parseArgv(DEFS, ['---x']), new FlagError('bad flag syntax: ---x'));
  assert.throws(() => parseArgv(DEFS, ['--help']), HelpRequested);
  assert.throws(() => parseArgv(DEFS, ['-h']), HelpRequested);
});

test('filters: key=value, keys lower-cased', () => {
  assert.deepEqual(parseFilters(['Name=web', 'label=a=b', 'name=db']), { name: ['web', 'db'], label: ['a=b'] });
  assert.throws(() => parseFilters(['oops']), /bad format of filter \(expected name=value\)/);
});

test('launcher: commands found from the manifest, global -H before the command', async () => {
  const { findCommand, leadingHostFlags } = await import('../../src/cli/launch');
  const manifest = {
    commands: {
      'node:ls': { id: 'node:ls', aliases: ['node:list'], relativePath: ['x'] },
      info: { id: 'info', relativePath: ['y'] },
    },
  };
  assert.deepEqual(findCommand(manifest, ['node', 'list', '-q'])?.rest, ['-q']);
  assert.equal(findCommand(manifest, ['node', 'ls'])?.entry.id, 'node:ls');
  assert.equal(findCommand(manifest, ['node']), undefined);
  assert.equal(findCommand(manifest, ['-q', 'info']), undefined);
  assert.deepEqual(leadingHostFlags(['-H', 'unix:///a', 'node', 'ls']), {
    host: ['-H', 'unix:///a'],
    rest: ['node', 'ls'],
  });
  assert.deepEqual(leadingHostFlags(['--host=unix:///a', 'info']), { host: ['--host=unix:///a'], rest: ['info'] });
});
