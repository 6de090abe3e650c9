import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { arch, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ContainerSpec } from '../../../src/types/swarm';
import { TaskRejectedError, TaskStartError, exitError } from '../../../src/agent/exec/executor';
import { collect, controllerFor, executor, makeTask, run, sh, tempDir, text } from './helpers';

const node = process.execPath;
/** A node one-liner printing its arguments as JSON. */
const printArgs = [node, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))'];

test('describe reports the process executor and the host as Docker would', async () => {
  const d = await executor({ engineVersion: '9.9.9', hostname: 'h1' }).describe();
  assert.equal(d.name, 'process');
  assert.equal(d.engineVersion, '9.9.9');
  assert.equal(d.hostname, 'h1');
  assert.equal(d.platform.OS, 'linux');
  assert.equal(d.platform.Architecture, { x64: 'x86_64', arm64: 'aarch64' }[arch()] ?? d.platform.Architecture);
  assert.equal(d.resources.NanoCPUs, cpus().length * 1e9);
  assert.equal(d.resources.MemoryBytes, totalmem());
  // Without an override, the version comes from package.json.
  assert.match((await executor().describe()).engineVersion, /^\d+\.\d+\.\d+/);
  assert.deepEqual(await executor().list(), []);
});

test('argv is Command followed by Args, passed without a shell', async () => {
  const { c, status } = await run(executor(), { Command: printArgs, Args: ['a b', '$HOME', '*'] });
  assert.deepEqual(status, { exitCode: 0 });
  assert.deepEqual(JSON.parse(text(await collect(c))), ['a b', '$HOME', '*']);
});

test('with no Command, Args is the whole argv', async () => {
  const { c } = await run(executor(), { Args: [...printArgs, 'x'] });
  assert.deepEqual(JSON.parse(text(await collect(c))), ['x']);
});

test("the environment is PATH and HOME plus the spec's Env, later entries winning", async () => {
  process.env.SHOAL_EXEC_TEST_LEAK = 'leaked';
  try {
    const { c } = await run(executor(), {
      Command: [node, '-e', 'console.log(JSON.stringify(process.env))'],
      Env: ['FOO=1', 'BAR=x=y', 'FOO=2', 'GONE=1', 'GONE', 'EMPTY='],
    });
    const env = JSON.parse(text(await collect(c))) as Record<string, string>;
    assert.equal(env.FOO, '2');
    assert.equal(env.BAR, 'x=y');
    assert.equal(env.EMPTY, '');
    assert.equal(env.GONE, undefined);
    assert.equal(env.PATH, process.env.PATH);
    assert.ok(env.HOME);
    assert.equal(env.SHOAL_EXEC_TEST_LEAK, undefined);
  } finally {
    delete process.env.SHOAL_EXEC_TEST_LEAK;
  }
});

test('Env can replace PATH, which is then used to find the command', async () => {
  const { c, status } = await run(executor(), { Command: ['sh', '-c', 'echo $PATH'], Env: ['PATH=/bin:/usr/bin'] });
  assert.equal(status.exitCode, 0);
  assert.equal(text(await collect(c)), '/bin:/usr/bin\n');
});

test('Dir is the working directory', async () => {
  const dir = tempDir();
  const { c } = await run(executor(), { ...sh('pwd'), Dir: dir });
  assert.equal(text(await collect(c)), dir + '\n');
});

test('a numeric User runs the task as that uid:gid', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const { c, status } = await run(executor(), { ...sh('echo $(id -u):$(id -g)'), User: '65534:65533' });
  assert.equal(status.exitCode, 0);
  assert.equal(text(await collect(c)), '65534:65533\n');
});

test('exit codes and signals are reported, with 128+signo for a signal', async () => {
  const exec = executor();
  assert.deepEqual((await run(exec, sh('exit 0'))).status, { exitCode: 0 });
  const three = (await run(exec, sh('exit 3'))).status;
  assert.deepEqual(three, { exitCode: 3 });
  assert.equal(exitError(three), 'task: non-zero exit (3)');
  assert.deepEqual((await run(exec, sh('kill -KILL $$'))).status, { exitCode: 137, signal: 'SIGKILL' });
});

test('start returns the pid, and again on a second call', async () => {
  const c = controllerFor(executor(), sh('echo $$'));
  await c.prepare();
  const { pid } = await c.start();
  assert.deepEqual(await c.start(), { pid });
  await c.wait();
  assert.equal(text(await collect(c)), `${pid}\n`);
});

test('a missing executable fails the start with the text Docker gives', async () => {
  const exec = executor();
  const c = controllerFor(exec, { Command: ['no-such-binary-shoal'], Args: ['x'] });
  await c.prepare();
  await assert.rejects(c.start(), (err: Error) => {
    assert.ok(err instanceof TaskStartError);
    assert.equal(err.taskState, 'failed');
    assert.equal(
      err.message,
      'starting container failed: exec: "no-such-binary-shoal": executable file not found in $PATH',
    );
    return true;
  });
  await assert.rejects(c.wait(), TaskStartError);
  await c.shutdown();
  assert.deepEqual(await collect(c, { follow: true }), []);

  const abs = controllerFor(exec, { Command: ['/nonexistent/bin'] });
  await abs.prepare();
  await assert.rejects(abs.start(), {
    message: 'starting container failed: exec: "/nonexistent/bin": stat /nonexistent/bin: no such file or directory',
  });
});

test('a missing working directory fails the start and says so', async () => {
  const c = controllerFor(executor(), { ...sh('true'), Dir: '/nonexistent/shoal-dir' });
  await c.prepare();
  await assert.rejects(c.start(), (err: Error) => {
    assert.ok(err instanceof TaskStartError);
    assert.match(err.message, /working directory "\/nonexistent\/shoal-dir" does not exist/);
    return true;
  });
});

test('prepare rejects what the process executor cannot run', async () => {
  const exec = executor();
  const cases: [ContainerSpec, RegExp][] = [
    [{ Image: 'nginx:latest' }, /^no command specified: the process executor runs ContainerSpec.Command \+ Args/],
    [{ Image: 'nginx', Command: [], Args: [] }, /no command specified/],
    [{ ...sh('true'), Dir: 'relative/dir' }, /the working directory 'relative\/dir' is invalid/],
    [{ ...sh('true'), StopSignal: 'SIGNOPE' }, /invalid stop signal: SIGNOPE/],
    [{ ...sh('true'), User: 'www-data' }, /numeric uid/],
  ];
  for (const [spec, message] of cases) {
    const c = controllerFor(exec, spec);
    await assert.rejects(c.prepare(), (err: Error) => {
      assert.ok(err instanceof TaskRejectedError);
      assert.equal(err.taskState, 'rejected');
      assert.match(err.message, message);
      return true;
    });
  }
  assert.throws(() => exec.controller(makeTask(sh('true'), '../etc'), 'web'), TaskRejectedError);
});

test('task files are private, recorded, and deleted by remove', async () => {
  const exec = executor();
  const { c } = await run(exec, { ...sh('echo hi'), Image: 'busybox:1.36' });
  const dir = join(exec.tasksDir, (c as unknown as { task: { ID: string } }).task.ID);
  assert.equal(statSync(exec.tasksDir).mode & 0o777, 0o700);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of ['task.json', 'log.jsonl']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  assert.equal(existsSync(join(dir, 'pid')), false, 'the pid file goes once the task has exited');
  assert.equal(JSON.parse(readFileSync(join(dir, 'task.json'), 'utf8')).Image, 'busybox:1.36');
  await c.remove();
  assert.equal(existsSync(dir), false);
});

test('the executor hands out one controller per task until it is removed', async () => {
  const exec = executor();
  const task = makeTask(sh('true'));
  const a = exec.controller(task, 'web');
  assert.equal(exec.controller(task, 'web'), a);
  await a.remove();
  assert.notEqual(exec.controller(task, 'web'), a);
});
