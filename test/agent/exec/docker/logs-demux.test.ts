// The engine's multiplexed log stream, split into LogLines, without an engine.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDemuxer, logQuery, parseTimestamped } from '../../../../src/agent/exec/docker/logs';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('frames become lines with their stream and time, however the chunks split them', () => {
  const all = Buffer.concat([
    frame(1, '2024-05-01T10:00:00.123456789Z hello\n'),
    frame(2, '2024-05-01T10:00:01Z oops\n'),
    frame(1, '2024-05-01T10:00:02Z partial'),
  ]);
  for (const cut of [1, 5, 8, 9, 30, 47, all.length - 1]) {
    const d = new FrameDemuxer();
    const lines = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
    assert.deepEqual(
      lines.map((l) => [l.stream, l.time.toISOString(), l.line]),
      [
        ['stdout', '2024-05-01T10:00:00.123Z', 'hello\n'],
        ['stderr', '2024-05-01T10:00:01.000Z', 'oops\n'],
        ['stdout', '2024-05-01T10:00:02.000Z', 'partial'],
      ],
      `cut at ${cut}`,
    );
  }
});

test('a message without a timestamp is kept whole, timed now', () => {
  const l = parseTimestamped('no time here\n', 'stdout');
  assert.equal(l.line, 'no time here\n');
  assert.ok(Math.abs(l.time.getTime() - Date.now()) < 1000);
});

test('log options become the engine query: both streams unless some are asked for', () => {
  assert.deepEqual(logQuery({}), { follow: false, stdout: true, stderr: true, timestamps: true });
  assert.deepEqual(logQuery({ stderr: true, tail: 5, follow: true, since: new Date(1500) }), {
    follow: true,
    stdout: false,
    stderr: true,
    timestamps: true,
    since: '1.500',
    tail: '5',
  });
});
