import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesSize, humanDuration, parseCpus, ramInBytes } from '../../src/cli/values/units';
import { formatGoDuration, parseGoDuration } from '../../src/cli/values/duration';
import { parseGoBool, parseGoInt, parseGoUint } from '../../src/cli/values/go-strconv';
import { naturalLess } from '../../src/cli/format/natural-sort';
import { ellipsis, imageForDisplay, prettyPrint, truncateId } from '../../src/cli/format/display';
import { goTimeString } from '../../src/cli/format/go-time';

test('humanDuration follows go-units', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * s, '1 second'],
    [47 * s, '47 seconds'],
    [60 * s, 'About a minute'],
    [5 * 60 * s, '5 minutes'],
    [59 * 60 * s, '59 minutes'],
    [60 * 60 * s, 'About an hour'],
    [3 * 3600 * s, '3 hours'],
    [47 * 3600 * s, '47 hours'],
    [48 * 3600 * s, '2 days'],
    [14 * 24 * 3600 * s, '2 weeks'],
    [21 * 24 * 3600 * s, '3 weeks'],
    [120 * 24 * 3600 * s, '4 months'],
    [2 * 365 * 24 * 3600 * s, '2 years'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

test('Go durations: parse to nanoseconds and print back', () => {
  assert.equal(parseGoDuration('10s'), 10e9);
  assert.equal(parseGoDuration('1m30s'), 90e9);
  assert.equal(parseGoDuration('90m'), 5400e9);
  assert.equal(parseGoDuration('2160h'), 7776000e9);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('300ms'), 300e6);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('-1s'), -1e9);
  assert.throws(() => parseGoDuration('10'), /time: missing unit in duration "10"/);
  assert.throws(() => parseGoDuration('5x'), /time: unknown unit "x" in duration "5x"/);
  assert.throws(() => parseGoDuration('abc'), /time: invalid duration "abc"/);
  assert.equal(formatGoDuration(0), '0s');
  assert.equal(formatGoDuration(5e9), '5s');
  assert.equal(formatGoDuration(90e9), '1m30s');
  assert.equal(formatGoDuration(7776000e9), '2160h0m0s');
  assert.equal(formatGoDuration(1.5e9), '1.5s');
  assert.equal(formatGoDuration(500e6), '500ms');
  assert.equal(formatGoDuration(1500), '1.5µs');
});

test('memory, CPU and byte sizes as docker parses and prints them', () => {
  assert.equal(ramInBytes('64m'), 64 * 1024 * 1024);
  assert.equal(ramInBytes('1g'), 1024 ** 3);
  assert.equal(ramInBytes('512k'), 512 * 1024);
  assert.equal(ramInBytes('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(ramInBytes('100'), 100);
  assert.equal(ramInBytes('10b'), 10);
  assert.throws(() => ramInBytes('10x'), /invalid suffix: 'x'/);
  assert.throws(() => ramInBytes('abc'), /invalid size: 'abc'/);
  assert.equal(parseCpus('0.5'), 500_000_000);
  assert.equal(parseCpus('2'), 2_000_000_000);
  assert.equal(parseCpus('1/4'), 250_000_000);
  assert.throws(() => parseCpus('0.0000000001'), /value is too precise/);
  assert.throws(() => parseCpus('abc'), /failed to parse abc as a rational number/);
  assert.equal(bytesSize(1), '1B');
  assert.equal(bytesSize(20 * 1024 * 1024), '20MiB');
  assert.equal(bytesSize(1.5 * 1024 ** 3), '1.5GiB');
  assert.equal(bytesSize(8e9), '7.451GiB');
});

test('Go strconv parsers and their errors', () => {
  assert.equal(parseGoBool('true'), true);
  assert.equal(parseGoBool('0'), false);
  assert.throws(() => parseGoBool('yes'), /strconv.ParseBool: parsing "yes": invalid syntax/);
  assert.equal(parseGoUint('3'), 3);
  assert.equal(parseGoUint('0x10'), 16);
  assert.throws(() => parseGoUint('-1'), /strconv.ParseUint: parsing "-1": invalid syntax/);
  assert.equal(parseGoInt('-5'), -5);
  assert.throws(() => parseGoInt('abc'), /strconv.ParseInt: parsing "abc": invalid syntax/);
});

test('display helpers', () => {
  assert.ok(naturalLess('node-2', 'node-10'));
  assert.ok(!naturalLess('node-10', 'node-2'));
  assert.ok(naturalLess('a', 'ab'));
  assert.equal(truncateId('9uww9isho02186yd0ygt1exuf'), '9uww9isho021');
  assert.equal(truncateId('sha256:abcdef0123456789'), 'abcdef012345');
  assert.equal(prettyPrint('ready'), 'Ready');
  assert.equal(prettyPrint('LEADER'), 'Leader');
  assert.equal(ellipsis('abcdef', 4), 'abc…');
  assert.equal(imageForDisplay('nginx:latest@sha256:abc'), 'nginx:latest');
  assert.equal(imageForDisplay('docker.io/library/nginx:1'), 'nginx:1');
  assert.equal(goTimeString('2016-08-18T10:44:24.496525531Z'), '2016-08-18 10:44:24.496525531 +0000 UTC');
  assert.equal(goTimeString('2009-11-10T23:00:00Z'), '2009-11-10 23:00:00 +0000 UTC');
});
