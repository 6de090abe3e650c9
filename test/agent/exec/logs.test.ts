import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ProcessExecutor } from '../../../src/agent/exec/process-executor';
import { LineSplitter, MAX_LINE, TaskLogWriter } from '../../../src/agent/exec/task-log';
import type { LogLine } from '../../../src/agent/exec/executor';
import { collect, controllerFor, executor, firstLine, makeTask, run, sh, tempDir, text } from './helpers';

test('both streams are captured line by line with timestamps, and can be selected', async () => {
  const t0 = Date.now();
  const { c } = await run(executor(), sh('echo out1; echo err1 >&2; echo out2; printf "err2" >&2'));
  const all = await collect(c);
  assert.equal(text(all, 'stdout'), 'out1\nout2\n');
  // A last line without '\n' is kept, with one added.
  assert.equal(text(all, 'stderr'), 'err1\nerr2\n');
  assert.equal(all.length, 4);
  for (const l of all) assert.ok(l.time.getTime() >= t0 - 5 && l.time.getTime() <= Date.now());
  assert.deepEqual(
    (await collect(c, { stdout: true })).map((l) => l.line),
    ['out1\n', 'out2\n'],
  );
  assert.deepEqual(
    (await collect(c, { stderr: true })).map((l) => [l.stream, l.line]),
    [
      ['stderr', 'err1\n'],
      ['stderr', 'err2\n'],
    ],
  );
});

test('tail gives the last lines, and since filters by time', async () => {
  const { c } = await run(executor(), sh('for i in 1 2 3 4 5; do echo $i; done'));
  assert.equal(text(await collect(c, { tail: 2 })), '4\n5\n');
  assert.deepEqual(await collect(c, { tail: 0 }), []);
  assert.equal(text(await collect(c, { tail: 50 })), '1\n2\n3\n4\n5\n');
  assert.deepEqual(await collect(c, { since: new Date(Date.now() + 1000) }), []);
  assert.equal((await collect(c, { since: new Date(0) })).length, 5);
});

test('follow yields lines as they come and ends once the task has exited', async () => {
  const c = controllerFor(executor(), sh('echo a; sleep 0.3; echo b >&2; printf c'));
  await c.prepare();
  const seen: LogLine[] = [];
  const following = (async () => {
    for await (const l of c.logs({ follow: true })) seen.push(l);
  })();
  await c.start();
  // Live: the first line arrives while the task is still sleeping.
  while (seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  assert.equal(seen[0].line, 'a\n');
  assert.equal(seen.length, 1);
  await following;
  assert.deepEqual(
    seen.map((l) => [l.stream, l.line]),
    [
      ['stdout', 'a\n'],
      ['stderr', 'b\n'],
      ['stdout', 'c\n'],
    ],
  );
  // Following a task that has exited returns what is stored and ends.
  assert.equal(text(await collect(c, { follow: true, tail: 1 })), 'c\n');
});

test('follow with tail starts from the last lines and continues live', async () => {
  const c = controllerFor(executor(), sh('echo 1; echo 2; echo 3; echo ready; sleep 0.2; echo 4'));
  await c.prepare();
  await c.start();
  await firstLine(c);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(text(await collect(c, { follow: true, tail: 2 })), '3\nready\n4\n');
});

test('an aborted follow ends quietly while the task runs on', async () => {
  const c = controllerFor(executor(), sh('echo ready; exec sleep 30'));
  await c.prepare();
  await c.start();
  const ac = new AbortController();
  const seen: string[] = [];
  const t0 = Date.now();
  for await (const l of c.logs({ follow: true, signal: ac.signal })) {
    seen.push(l.line);
    setTimeout(() => ac.abort(), 50);
  }
  assert.deepEqual(seen, ['ready\n']);
  assert.ok(Date.now() - t0 < 1000);
  await c.shutdown();
});

test('a follower sees every line exactly once while the log rotates under it', async () => {
  const n = 3000;
  const c = controllerFor(executor({ logMaxBytes: 8 * 1024 }), {
    Command: [process.execPath, '-e', `for (let i = 0; i < ${n}; i++) console.log('line ' + i)`],
  });
  await c.prepare();
  const following = collect(c, { follow: true });
  await c.start();
  // Give the follower something to race with: subscribe a second one in the middle of the output.
  const late = (async () => {
    await new Promise((r) => setTimeout(r, 20));
    return collect(c, { follow: true });
  })();
  const lines = (await following).map((l) => l.line);
  assert.equal(lines.length, n);
  lines.forEach((l, i) => assert.equal(l, `line ${i}\n`));
  // The late follower gets a contiguous run ending at the last line (the start may have rotated away).
  const lateLines = (await late).map((l) => l.line);
  const first = Number(lateLines[0].split(' ')[1]);
  assert.deepEqual(lateLines, lines.slice(first));
});

test('each reader of the writer sees stored plus live lines with no gap and no repeat', async () => {
  const w = new TaskLogWriter(tempDir(), 2048);
  const line = (i: number): LogLine => ({ stream: 'stdout', time: new Date(), line: `${i}\n` });
  const readers: { snap: Promise<{ lines: LogLine[] }>; live: string[] }[] = [];
  let i = 0;
  for (let round = 0; round < 100; round++) {
    for (let k = 0; k < 1 + (round % 7); k++) w.append(line(i++));
    const live: string[] = [];
    readers.push({
      live,
      snap: w.snapshot({ lines: (ls) => live.push(...ls.map((l) => l.line)), end: () => undefined }),
    });
    if (round % 3 === 0) await new Promise((r) => setImmediate(r));
  }
  await w.end();
  for (const r of readers) {
    const seen = [...(await r.snap).lines.map((l) => l.line), ...r.live];
    const first = Number(seen[0]);
    assert.deepEqual(
      seen,
      Array.from({ length: i - first }, (_, k) => `${first + k}\n`),
    );
  }
});

test('the log is capped: a chatty task keeps only its latest output', async () => {
  const cap = 16 * 1024;
  const exec = executor({ logMaxBytes: cap });
  const { c } = await run(exec, {
    Command: [
      process.execPath,
      '-e',
      'for (let i = 0; i < 5000; i++) console.log("chatter " + i + " " + "x".repeat(40))',
    ],
  });
  const dir = join(exec.tasksDir, readdirSync(exec.tasksDir)[0]);
  const files = readdirSync(dir).filter((f) => f.startsWith('log'));
  assert.deepEqual(files.sort(), ['log.jsonl', 'log.jsonl.1']);
  for (const f of files) assert.ok(statSync(join(dir, f)).size <= cap, `${f} is ${statSync(join(dir, f)).size} bytes`);
  const lines = await collect(c);
  assert.ok(lines.length > 50 && lines.length < 5000, `${lines.length} lines kept`);
  assert.match(lines[lines.length - 1].line, /^chatter 4999 /);
  // What is kept is contiguous.
  const first = Number(lines[0].line.split(' ')[1]);
  lines.forEach((l, i) => assert.match(l.line, new RegExp(`^chatter ${first + i} `)));
});

test('an overlong line comes in 16 KiB pieces that join back into it', async () => {
  const { c } = await run(executor(), {
    Command: [process.execPath, '-e', 'process.stdout.write("y".repeat(40000) + "\\nend")'],
  });
  const lines = await collect(c);
  assert.deepEqual(
    lines.map((l) => l.line.length),
    [MAX_LINE, MAX_LINE, 40000 - 2 * MAX_LINE + 1, 4],
  );
  assert.equal(text(lines), 'y'.repeat(40000) + '\nend\n');
});

test('the splitter keeps multi-byte characters that straddle chunks', () => {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l));
  const bytes = Buffer.from('héllo wörld\nsecond');
  for (const b of bytes) s.push(Buffer.from([b]));
  s.end();
  assert.deepEqual(out, ['héllo wörld\n', 'second\n']);
});

test('logs of a task this executor never prepared are what is stored, even with follow', async () => {
  const exec = executor();
  const c = controllerFor(exec, sh('echo kept'), 'restarted');
  await c.prepare();
  await c.start();
  await c.wait();
  // A second executor on the same state directory, as after a daemon restart.
  const again = new ProcessExecutor({ stateDir: dirname(exec.tasksDir) });
  const fresh = again.controller(makeTask(sh('echo kept'), 'restarted'), 'web');
  assert.equal(text(await collect(fresh, { follow: true })), 'kept\n');
});
