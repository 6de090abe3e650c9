// The Docker executor against a real, private dockerd: a task's life as a container, as Docker
// Swarm runs it (names, labels, limits, pulls, exits, stop, health, logs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TaskRejectedError, TaskStartError, exitError } from '../../../../src/agent/exec/executor';
import {
  HEALTHY_IMAGE,
  MS,
  S,
  TEST_IMAGE,
  collect,
  controllerFor,
  dockerExecutor,
  inspect,
  makeTask,
  sh,
  skip,
  text,
  useDockerd,
} from './helpers';

const d = useDockerd();

interface Inspected {
  Id: string;
  Name: string;
  State: { Status: string; Pid: number; StartedAt: string; Health?: { Status: string } };
  Config: {
    Labels: Record<string, string>;
    Entrypoint: string[] | null;
    Cmd: string[] | null;
    Env: string[];
    WorkingDir: string;
    User: string;
    Hostname: string;
    StopSignal?: string;
    StopTimeout?: number;
    Image: string;
  };
  HostConfig: {
    NanoCpus: number;
    Memory: number;
    PidsLimit: number | null;
    ReadonlyRootfs: boolean;
    Init: boolean | null;
    Mounts?: { Type: string; Source: string; Target: string; ReadOnly?: boolean }[];
    ExtraHosts: string[] | null;
  };
}

test('a task runs as a container named and labelled as Docker Swarm names and labels it', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const task = makeTask(
    {
      ...sh('sleep 60', {
        Env: ['A=1', 'B=two words'],
        Dir: '/tmp',
        User: '1000:1000',
        Hostname: 'web-host',
        Labels: { tier: 'front', 'com.docker.swarm.task.id': 'spoofed' },
        StopSignal: 'SIGUSR1',
        StopGracePeriod: 3 * S,
        ReadOnly: true,
        Init: true,
        Hosts: ['10.0.0.9 db.local db'],
        Mounts: [
          { Type: 'tmpfs', Target: '/scratch' },
          { Type: 'volume', Source: 'shoal-test-vol', Target: '/data' },
          { Type: 'bind', Source: '/tmp', Target: '/host-tmp', ReadOnly: true },
        ],
      }),
    },
    {
      slot: 3,
      resources: { Limits: { NanoCPUs: 0.5 * S, MemoryBytes: 64 * 1024 * 1024, Pids: 50 } },
      labels: { extra: 'x' },
    },
  );
  const c = controllerFor(ex, task, 'web');
  await c.prepare();
  const started = await c.start();
  assert.ok(started.pid > 0);
  assert.match(started.containerId ?? '', /^[0-9a-f]{64}$/);

  const info = inspect<Inspected>(d.engine, started.containerId!);
  assert.equal(info.Name, `/web.3.${task.ID}`);
  assert.equal(info.State.Status, 'running');
  assert.equal(info.State.Pid, started.pid);
  assert.equal(info.Config.Image, TEST_IMAGE);
  assert.deepEqual(info.Config.Entrypoint, ['sh', '-c', 'sleep 60']);
  assert.deepEqual(info.Config.Cmd, null);
  assert.ok(info.Config.Env.includes('A=1') && info.Config.Env.includes('B=two words'));
  assert.equal(info.Config.WorkingDir, '/tmp');
  assert.equal(info.Config.User, '1000:1000');
  assert.equal(info.Config.Hostname, 'web-host');
  assert.equal(info.Config.StopSignal, 'SIGUSR1');
  assert.equal(info.Config.StopTimeout, 3);
  assert.deepEqual(info.Config.Labels, {
    tier: 'front',
    extra: 'x',
    'com.docker.swarm.task': '',
    'com.docker.swarm.task.id': task.ID,
    'com.docker.swarm.task.name': `web.3.${task.ID}`,
    'com.docker.swarm.node.id': task.NodeID,
    'com.docker.swarm.service.id': task.ServiceID,
    'com.docker.swarm.service.name': 'web',
  });
  assert.equal(info.HostConfig.NanoCpus, 0.5 * S);
  assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
  assert.equal(info.HostConfig.PidsLimit, 50);
  assert.equal(info.HostConfig.ReadonlyRootfs, true);
  assert.equal(info.HostConfig.Init, true);
  assert.deepEqual(info.HostConfig.ExtraHosts, ['db.local:10.0.0.9']);
  assert.deepEqual(
    info.HostConfig.Mounts?.map((m) => [m.Type, m.Source ?? '', m.Target, !!m.ReadOnly]),
    [
      ['tmpfs', '', '/scratch', false],
      ['volume', 'shoal-test-vol', '/data', false],
      ['bind', '/tmp', '/host-tmp', true],
    ],
  );
  // The container's own view: limits are applied, the root filesystem is read-only, tmpfs is writable.
  const probe = d.engine.docker([
    'exec',
    started.containerId!,
    'sh',
    '-c',
    'hostname; touch /x 2>/dev/null && echo rw || echo ro; touch /scratch/x && echo tmpfs-ok',
  ]);
  assert.equal(probe.stdout, 'web-host\nro\ntmpfs-ok\n');
  await c.shutdown();
});

test('Command replaces the entrypoint and Args the cmd; Args alone go to the image entrypoint', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const both = controllerFor(ex, makeTask({ Image: TEST_IMAGE, Command: ['echo'], Args: ['hello', 'world'] }));
  await both.prepare();
  await both.start();
  assert.deepEqual(await both.wait(), { exitCode: 0 });
  assert.equal(text(await collect(both)), 'hello world\n');

  // The image's CMD is ["sh"] with no entrypoint, so Args become the whole command.
  const args = controllerFor(ex, makeTask({ Image: TEST_IMAGE, Args: ['echo', 'just', 'args'] }));
  await args.prepare();
  await args.start();
  await args.wait();
  assert.equal(text(await collect(args)), 'just args\n');
});

test('a clean exit completes, and a non-zero exit gives swarmkit\'s "task: non-zero exit (N)"', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const ok = controllerFor(ex, makeTask(sh('exit 0')));
  await ok.prepare();
  await ok.start();
  assert.deepEqual(await ok.wait(), { exitCode: 0 });

  const bad = controllerFor(ex, makeTask(sh('exit 3')));
  await bad.prepare();
  await bad.start();
  const status = await bad.wait();
  assert.deepEqual(status, { exitCode: 3 });
  assert.equal(exitError(status), 'task: non-zero exit (3)');
});

test('an image present locally is used without a pull', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const since = Math.floor(Date.now() / 1000) - 1;
  const c = controllerFor(ex, makeTask(sh('true')));
  await c.prepare();
  const pulls = d.engine.mustDocker([
    'events',
    '--since',
    String(since),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'type=image',
    '--filter',
    'event=pull',
  ]);
  assert.equal(pulls, '');
});

test("a missing image is pulled, and a failed pull rejects the task with docker's message", { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(ex, makeTask({ Image: 'shoal-test/no-such-image:1', Command: ['true'] }));
  const err = await c.prepare().then(
    () => assert.fail('prepare succeeded'),
    (e: unknown) => e as Error,
  );
  assert.ok(err instanceof TaskRejectedError, String(err));
  // Exactly what `docker pull` reports after "Error response from daemon: ".
  const cli = d.engine.docker(['pull', 'shoal-test/no-such-image:1']);
  assert.notEqual(cli.code, 0);
  assert.equal(err.message, cli.stderr.trim().replace(/^Error response from daemon: /, ''));
  assert.doesNotMatch(err.message, /HTTP code/);
});

test('a spec without an image is rejected with swarmkit\'s "dockerexec: image required"', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(ex, makeTask({ Command: ['true'] }));
  await assert.rejects(
    c.prepare(),
    (e: Error) => e instanceof TaskRejectedError && e.message === 'dockerexec: image required',
  );
});

test("a command that cannot run fails the task at start with the engine's error", { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(ex, makeTask({ Image: TEST_IMAGE, Command: ['/no/such/binary'] }));
  await c.prepare();
  const err = await c.start().then(
    () => assert.fail('start succeeded'),
    (e: unknown) => e as Error,
  );
  assert.ok(err instanceof TaskStartError, String(err));
  assert.match(err.message, /^starting container failed: .*\/no\/such\/binary.*no such file or directory/);
  // As `docker start` reports it.
  const id = inspect<Inspected>(d.engine, `web.1.${(c as unknown as { task: { ID: string } }).task.ID}`).Id;
  const cli = d.engine.docker(['start', id]);
  assert.match(cli.stderr, /no such file or directory/);
});

test('shutdown sends the stop signal, and SIGKILL once the grace period is over', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const polite = controllerFor(
    ex,
    makeTask(
      sh('trap "exit 7" USR1; echo ready; while :; do sleep 0.1; done', {
        StopSignal: 'SIGUSR1',
        StopGracePeriod: 5 * S,
      }),
    ),
  );
  await polite.prepare();
  await polite.start();
  await waitForLine(polite, 'ready');
  let t0 = Date.now();
  await polite.shutdown();
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  assert.deepEqual(await polite.wait(), { exitCode: 7 });

  // sh as PID 1 ignores SIGTERM, so only the kill after the grace period ends it.
  const stubborn = controllerFor(ex, makeTask(sh('echo ready; sleep 60', { StopGracePeriod: 1 * S })));
  await stubborn.prepare();
  await stubborn.start();
  await waitForLine(stubborn, 'ready');
  t0 = Date.now();
  await stubborn.shutdown();
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 5000, `took ${took} ms`);
  assert.deepEqual(await stubborn.wait(), { exitCode: 137 });
});

test('remove deletes the container, and its anonymous volumes', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(
    ex,
    makeTask(sh('sleep 60', { Mounts: [{ Type: 'volume', Target: '/anon' }], StopGracePeriod: 0 })),
  );
  await c.prepare();
  const { containerId } = await c.start();
  const vol = inspect<{ Mounts: { Name: string }[] }>(d.engine, containerId!).Mounts[0].Name;
  await c.remove();
  assert.notEqual(d.engine.docker(['inspect', containerId!]).code, 0);
  assert.notEqual(d.engine.docker(['volume', 'inspect', vol]).code, 0);
  // Safe to repeat.
  await c.remove();
  await c.shutdown();
});

test('logs: both streams with their times, one stream, tail, since', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(ex, makeTask(sh('echo one; echo two >&2; sleep 0.2; echo three')));
  const before = new Date(Date.now() - 1000);
  await c.prepare();
  await c.start();
  await c.wait();
  const all = await collect(c);
  // The engine copies stdout and stderr separately, so only each stream's own order is kept.
  assert.deepEqual(all.map((l) => [l.stream, l.line]).sort(), [
    ['stderr', 'two\n'],
    ['stdout', 'one\n'],
    ['stdout', 'three\n'],
  ]);
  for (const l of all) assert.ok(l.time >= before && l.time <= new Date(), String(l.time));
  assert.equal(text(await collect(c, { stderr: true })), 'two\n');
  assert.equal(text(await collect(c, { stdout: true })), 'one\nthree\n');
  assert.equal(text(await collect(c, { tail: 1 })), 'three\n');
  assert.equal(text(await collect(c, { tail: 0 })), '');
  assert.equal(text(await collect(c, { since: new Date(Date.now() + 60_000) })), '');
});

test(
  'logs: follow yields output as it comes and ends when the container exits; abort ends it quietly',
  { skip },
  async () => {
    const ex = await dockerExecutor(d.engine);
    const c = controllerFor(ex, makeTask(sh('echo a; sleep 1; echo b')));
    await c.prepare();
    await c.start();
    const seen: string[] = [];
    for await (const l of c.logs({ follow: true })) seen.push(l.line);
    assert.deepEqual(seen, ['a\n', 'b\n']);

    const forever = controllerFor(ex, makeTask(sh('echo x; sleep 60', { StopGracePeriod: 0 })));
    await forever.prepare();
    await forever.start();
    const ac = new AbortController();
    const lines: string[] = [];
    for await (const l of forever.logs({ follow: true, signal: ac.signal })) {
      lines.push(l.line);
      ac.abort();
    }
    assert.deepEqual(lines, ['x\n']);
  },
);

test('a TTY container logs everything as stdout', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(ex, makeTask(sh('echo out; echo err >&2', { TTY: true })));
  await c.prepare();
  await c.start();
  await c.wait();
  const lines = await collect(c);
  assert.deepEqual(
    lines.map((l) => [l.stream, l.line.replace(/\r/g, '')]),
    [
      ['stdout', 'out\n'],
      ['stdout', 'err\n'],
    ],
  );
});

test('with a healthcheck, start resolves only once the container is healthy', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(
    ex,
    makeTask(
      sh('sleep 60', {
        StopGracePeriod: 0,
        Healthcheck: {
          Test: ['CMD-SHELL', 'test -f /tmp/go || touch /tmp/go && test -f /tmp/go'],
          Interval: 300 * MS,
          Retries: 3,
        },
      }),
    ),
  );
  await c.prepare();
  const { containerId } = await c.start();
  assert.equal(inspect<Inspected>(d.engine, containerId!).State.Health?.Status, 'healthy');
});

test("the image's own healthcheck counts too", { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(ex, makeTask({ Image: HEALTHY_IMAGE, Command: ['sleep', '60'], StopGracePeriod: 0 }));
  await c.prepare();
  const { containerId } = await c.start();
  assert.equal(inspect<Inspected>(d.engine, containerId!).State.Health?.Status, 'healthy');
});

test(
  'a container that turns unhealthy before it is healthy fails at start with "unhealthy container"',
  { skip },
  async () => {
    const ex = await dockerExecutor(d.engine);
    const c = controllerFor(
      ex,
      makeTask(sh('sleep 60', { Init: true, Healthcheck: { Test: ['CMD', 'false'], Interval: 200 * MS, Retries: 1 } })),
    );
    await c.prepare();
    await assert.rejects(
      c.start(),
      (e: Error) =>
        e instanceof TaskStartError && /^task: non-zero exit \(143\): dockerexec: unhealthy container$/.test(e.message),
    );
  },
);

test('a running container that turns unhealthy is stopped, and its exit carries the cause', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  // Healthy on the first check (which removes the file), unhealthy from the second on.
  const c = controllerFor(
    ex,
    makeTask(
      sh('touch /tmp/ok; sleep 60', {
        Init: true,
        Healthcheck: { Test: ['CMD-SHELL', 'rm /tmp/ok'], Interval: 300 * MS, Retries: 1 },
      }),
    ),
  );
  await c.prepare();
  await c.start();
  const status = await c.wait();
  assert.deepEqual(status, { exitCode: 143, cause: 'dockerexec: unhealthy container' });
  assert.equal(exitError(status), 'task: non-zero exit (143): dockerexec: unhealthy container');
});

test('docker kill ends the task with 137', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(ex, makeTask(sh('sleep 60')));
  await c.prepare();
  const { containerId } = await c.start();
  const exit = c.wait();
  d.engine.mustDocker(['kill', containerId!]);
  assert.deepEqual(await exit, { exitCode: 137 });
});

test('a container removed behind the executor\'s back ends the task with "container destroyed"', { skip }, async () => {
  const ex = await dockerExecutor(d.engine);
  const c = controllerFor(ex, makeTask(sh('sleep 60')));
  await c.prepare();
  const { containerId } = await c.start();
  const exit = c.wait();
  d.engine.mustDocker(['rm', '-f', containerId!]);
  // Either the wait saw the exit (137) or, if the container was gone first, it reports it destroyed.
  await exit.then(
    (s) => assert.equal(s.exitCode, 137),
    (e: Error) => assert.equal(e.message, 'dockerexec: container destroyed'),
  );
});

async function waitForLine(c: ReturnType<typeof controllerFor>, want: string): Promise<void> {
  const ac = new AbortController();
  for await (const l of c.logs({ follow: true, signal: ac.signal })) {
    if (l.line.trim() === want) {
      ac.abort();
      return;
    }
  }
  throw new Error(`no line ${want}`);
}
