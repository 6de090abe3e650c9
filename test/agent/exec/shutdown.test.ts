import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessExecutor } from '../../../src/agent/exec/process-executor';
import { alive, collect, controllerFor, executor, firstLine, gone, MS, sh, tempDir, text } from './helpers';

test('shutdown sends SIGTERM by default and resolves once the task has exited', async () => {
  const c = controllerFor(executor(), sh('echo ready; exec sleep 30'));
  await c.prepare();
  await c.start();
  await firstLine(c);
  const t0 = Date.now();
  await c.shutdown();
  assert.ok(Date.now() - t0 < 1000);
  assert.deepEqual(await c.wait(), { exitCode: 143, signal: 'SIGTERM' });
});

test('shutdown honours a custom stop signal', async () => {
  const c = controllerFor(executor(), {
    ...sh('trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.05; done'),
    StopSignal: 'usr1',
    StopGracePeriod: 5000 * MS,
  });
  await c.prepare();
  await c.start();
  await firstLine(c);
  await c.shutdown();
  assert.deepEqual(await c.wait(), { exitCode: 7 });
  // (The shell also reports, on stderr, that its sleep died of the same signal.)
  assert.equal(text(await collect(c), 'stdout'), 'ready\ngot-usr1\n');
});

test('shutdown escalates to SIGKILL after the grace period for a task that ignores its stop signal', async () => {
  const c = controllerFor(executor(), {
    Command: [
      process.execPath,
      '-e',
      'process.on("SIGTERM", () => console.log("ignored")); console.log("ready"); setInterval(() => {}, 1000)',
    ],
    StopGracePeriod: 300 * MS,
  });
  await c.prepare();
  await c.start();
  await firstLine(c);
  const t0 = Date.now();
  await c.shutdown();
  const took = Date.now() - t0;
  assert.ok(took >= 280 && took < 1500, `took ${took} ms`);
  assert.deepEqual(await c.wait(), { exitCode: 137, signal: 'SIGKILL' });
  assert.equal(text(await collect(c)), 'ready\nignored\n');
});

async function execd(pid: number, comm: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) return;
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`process ${pid} never became ${comm}`);
}

test('the stop signal reaches every process in the task, not just the main one', async () => {
  // The shell survives SIGTERM and waits for its child; only if the child got SIGTERM too does it exit before the grace period.
  const c = controllerFor(executor(), {
    ...sh('trap "echo term" TERM; sleep 30 & echo $!; wait; wait; echo done'),
    StopGracePeriod: 5000 * MS,
  });
  await c.prepare();
  await c.start();
  const grandchild = Number(await firstLine(c));
  // Until the forked shell has exec'd sleep, it would run the inherited trap instead of dying.
  await execd(grandchild, 'sleep');
  const t0 = Date.now();
  await c.shutdown();
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual(await c.wait(), { exitCode: 0 });
  assert.ok(await gone(grandchild));
  assert.match(text(await collect(c)), /term\ndone\n$/);
});

test("a task's leftover background processes die with its main process", async () => {
  const c = controllerFor(executor(), sh('sleep 30 & echo $!'));
  await c.prepare();
  await c.start();
  assert.deepEqual(await c.wait(), { exitCode: 0 });
  const grandchild = Number(text(await collect(c)));
  assert.ok(grandchild > 0);
  assert.ok(await gone(grandchild));
});

test('shutdown before start, and shutdown after exit, are harmless', async () => {
  const c = controllerFor(executor(), sh('exit 0'));
  await c.prepare();
  await c.shutdown();
  await assert.rejects(c.start(), /shut down/);

  const d = controllerFor(executor(), sh('exit 4'));
  await d.prepare();
  await d.start();
  await d.wait();
  await d.shutdown();
  await d.shutdown();
  assert.deepEqual(await d.wait(), { exitCode: 4 });
});

test('remove stops a running task and deletes its files', async () => {
  const exec = executor();
  const c = controllerFor(exec, sh('echo ready; exec sleep 30'), 'removeme');
  await c.prepare();
  const { pid } = await c.start();
  await firstLine(c);
  await c.remove();
  assert.ok(await gone(pid));
  assert.equal(existsSync(join(exec.tasksDir, 'removeme')), false);
});

test('init kills the process groups a crashed daemon left behind', async () => {
  const stateDir = tempDir();
  const before = new ProcessExecutor({ stateDir });
  // The "crashed" daemon's task: its controller is simply never shut down.
  const c = controllerFor(before, sh('sleep 30 & echo $!; exec sleep 30'), 'orphan');
  await c.prepare();
  const { pid } = await c.start();
  const grandchild = Number(await firstLine(c));
  const other = controllerFor(before, sh('exit 0'), 'finished');
  await other.prepare();
  await other.start();
  await other.wait();

  const after = new ProcessExecutor({ stateDir });
  await after.init();
  assert.deepEqual(await c.wait(), { exitCode: 137, signal: 'SIGKILL' });
  assert.ok(await gone(pid));
  assert.ok(await gone(grandchild));
  assert.equal(existsSync(join(after.tasksDir, 'orphan', 'pid')), false);
});

test('init leaves alone a process whose pid file no longer matches it', async () => {
  const stateDir = tempDir();
  const exec = new ProcessExecutor({ stateDir });
  const c = controllerFor(exec, sh('echo ready; exec sleep 30'), 'mismatch');
  await c.prepare();
  const { pid } = await c.start();
  await firstLine(c);
  const pidPath = join(exec.tasksDir, 'mismatch', 'pid');
  const rec = JSON.parse(readFileSync(pidPath, 'utf8'));
  // As if the pid had been reused by an unrelated process started at another time.
  writeFileSync(pidPath, JSON.stringify({ ...rec, startTime: String(Number(rec.startTime) - 1) }));
  await new ProcessExecutor({ stateDir }).init();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(alive(pid));
  await c.shutdown();
});
