// A shoal daemon with the Docker executor against a private dockerd: services of real containers,
// created, scaled, updated and removed with the shoal CLI; containers killed behind its back are
// replaced; docker's own errors reach the tasks; and a restart of the shoal daemon adopts the
// running containers instead of restarting them.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDaemon, eventually } from './harness';
import type { Task } from '../../src/types/swarm';
import { TEST_IMAGE, dockerdSkipReason, startDockerd, type PrivateDockerd } from '../support/dockerd';

const skip = dockerdSkipReason();

let engine: PrivateDockerd;
let d: TestDaemon;
let nodeId = '';

before(async () => {
  if (skip) return;
  engine = await startDockerd();
  d = new TestDaemon(['--executor', 'docker', '--docker-host', engine.host]);
  await d.start();
  const init = d.shoal(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  assert.equal(init.code, 0, init.stderr);
  nodeId = d.shoal(['node', 'inspect', '--format', '{{.ID}}', 'self']).stdout.trim();
});

after(async () => {
  if (skip) return;
  await d?.stop();
  await engine?.stop();
});

interface ContainerInfo {
  Id: string;
  Name: string;
  State: { Status: string; StartedAt: string; Pid: number; Health?: { Status: string } };
  Config: { Labels: Record<string, string>; Env: string[] };
  HostConfig: { NanoCpus: number; Memory: number };
}

/** eventually(), for a value that is there once the wait is over. */
async function found<T>(fn: () => Promise<T | undefined> | T | undefined, ms: number, what: string): Promise<T> {
  return (await eventually(fn, ms, what)) as T;
}

async function tasksOf(service: string): Promise<Task[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: [service] }));
  return d.json<Task[]>('GET', `/tasks?filters=${filters}`);
}

/** The running containers of a service on the engine, by Docker Swarm's label. */
function containers(service: string, all = false): ContainerInfo[] {
  const ids = engine
    .mustDocker(['ps', ...(all ? ['-a'] : []), '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])
    .split('\n')
    .filter(Boolean);
  return ids.length ? (JSON.parse(engine.mustDocker(['inspect', ...ids])) as ContainerInfo[]) : [];
}

function shoalOk(args: string[]): string {
  const r = d.shoal(args);
  assert.equal(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function runningContainers(service: string, n: number): Promise<ContainerInfo[]> {
  return found(
    async () => {
      const running = (await tasksOf(service)).filter(
        (t) => t.Status.State === 'running' && t.DesiredState === 'running',
      );
      const cs = containers(service);
      return running.length === n && cs.length === n ? cs : undefined;
    },
    60_000,
    `${n} running containers of ${service}`,
  );
}

test('info and node inspect say the node runs the docker executor on this engine', { skip }, () => {
  assert.match(shoalOk(['info']), /\n Executor: docker\n/);
  const engineDesc = JSON.parse(shoalOk(['node', 'inspect', '--format', '{{json .Description.Engine}}', 'self'])) as {
    EngineVersion: string;
    Labels: Record<string, string>;
  };
  assert.equal(engineDesc.Labels['shoal.executor'], 'docker');
  assert.equal(engineDesc.EngineVersion, engine.mustDocker(['version', '--format', '{{.Server.Version}}']));
});

test(
  'a service runs as real containers: created, scaled, updated, with limits and labels in docker inspect',
  { skip },
  async () => {
    shoalOk([
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '3',
      '--init',
      '--limit-cpu',
      '0.5',
      '--limit-memory',
      '64M',
      '--container-label',
      'tier=front',
      '--restart-delay',
      '100ms',
      TEST_IMAGE,
      'sleep',
      '600',
    ]);
    let cs = await runningContainers('web', 3);
    const tasks = (await tasksOf('web')).filter((t) => t.Status.State === 'running');
    for (const c of cs) {
      const t = tasks.find((x) => x.ID === c.Config.Labels['com.docker.swarm.task.id'])!;
      assert.ok(t, `a task for ${c.Name}`);
      assert.equal(c.Name, `/web.${t.Slot}.${t.ID}`);
      assert.equal(t.Status.ContainerStatus?.ContainerID, c.Id);
      assert.equal(t.Status.ContainerStatus?.PID, c.State.Pid);
      assert.equal(c.HostConfig.NanoCpus, 500_000_000);
      assert.equal(c.HostConfig.Memory, 64 * 1024 * 1024);
      assert.equal(c.Config.Labels.tier, 'front');
      assert.equal(c.Config.Labels['com.docker.swarm.service.name'], 'web');
      assert.equal(c.Config.Labels['com.docker.swarm.service.id'], t.ServiceID);
      assert.equal(c.Config.Labels['com.docker.swarm.node.id'], nodeId);
      assert.equal(c.Config.Labels['com.docker.swarm.task.name'], `web.${t.Slot}.${t.ID}`);
    }

    shoalOk(['service', 'scale', '-d', 'web=5']);
    await runningContainers('web', 5);
    shoalOk(['service', 'scale', '-d', 'web=2']);
    await runningContainers('web', 2);

    shoalOk(['service', 'update', '-d', '--env-add', 'COLOR=blue', '--update-parallelism', '2', 'web']);
    cs = await found(
      async () => {
        const now = await runningContainers('web', 2);
        return now.every((c) => c.Config.Env.includes('COLOR=blue')) ? now : undefined;
      },
      60_000,
      'updated containers',
    );
    assert.equal(cs.length, 2);
  },
);

test('a container killed with docker kill fails its task, and a new container replaces it', { skip }, async () => {
  const [victim] = await runningContainers('web', 2);
  const taskId = victim.Config.Labels['com.docker.swarm.task.id'];
  engine.mustDocker(['kill', victim.Id]);
  const failed = await found(
    async () => (await tasksOf('web')).find((t) => t.ID === taskId && t.Status.State === 'failed'),
    30_000,
    'the killed task to fail',
  );
  assert.equal(failed.Status.Err, 'task: non-zero exit (137)');
  const after = await runningContainers('web', 2);
  assert.ok(!after.some((c) => c.Id === victim.Id));
});

test('a restart of the shoal daemon adopts the running containers instead of restarting them', { skip }, async () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const before = await runningContainers('web', 2);
    const tasksBefore = (await tasksOf('web')).filter((t) => t.Status.State === 'running');
    await d.halt(signal);
    // The containers outlive the daemon.
    assert.deepEqual(
      containers('web')
        .map((c) => [c.Id, c.State.StartedAt])
        .sort(),
      before.map((c) => [c.Id, c.State.StartedAt]).sort(),
    );
    await d.start();
    const tasksAfter = await found(
      async () => {
        const ts = (await tasksOf('web')).filter((t) => t.Status.State === 'running');
        return ts.length === 2 ? ts : undefined;
      },
      30_000,
      'the swarm back with its tasks',
    );
    assert.deepEqual(tasksAfter.map((t) => t.ID).sort(), tasksBefore.map((t) => t.ID).sort(), signal);
    const after = containers('web');
    assert.deepEqual(
      after.map((c) => [c.Id, c.State.StartedAt, c.State.Pid]).sort(),
      before.map((c) => [c.Id, c.State.StartedAt, c.State.Pid]).sort(),
      `${signal}: the same containers, never restarted`,
    );
    // Adopted containers are watched: killing one is still seen and repaired.
    if (signal === 'SIGKILL') {
      engine.mustDocker(['kill', after[0].Id]);
      await eventually(
        async () =>
          (await tasksOf('web')).some(
            (t) => t.Status.ContainerStatus?.ContainerID === after[0].Id && t.Status.State === 'failed',
          ),
        30_000,
        'the adopted container’s death to be reported',
      );
      await runningContainers('web', 2);
    }
  }
});

test('on restart, a container of this node whose task no longer exists is removed', { skip }, async () => {
  // What a crash in the middle of `service rm` leaves: a container labelled for this node, with no task.
  const stray = engine.mustDocker([
    'create',
    '--name',
    'stray.1.x',
    '--label',
    'com.docker.swarm.task=',
    '--label',
    'com.docker.swarm.task.id=nosuchtask',
    '--label',
    `com.docker.swarm.node.id=${nodeId}`,
    '--label',
    'com.docker.swarm.service.name=stray',
    TEST_IMAGE,
    'sleep',
    '600',
  ]);
  engine.mustDocker(['start', stray]);
  await d.halt('SIGTERM');
  await d.start();
  await eventually(() => engine.docker(['inspect', stray]).code !== 0, 30_000, 'the stray container to be removed');
  // The service's own containers are untouched.
  await runningContainers('web', 2);
});

test(
  "docker's errors reach the tasks: a missing image, a command that cannot run, a non-zero exit",
  { skip },
  async () => {
    shoalOk([
      'service',
      'create',
      '-d',
      '--name',
      'noimage',
      '--restart-condition',
      'none',
      'shoal-test/no-such-image:1',
    ]);
    const rejected = await found(
      async () => (await tasksOf('noimage')).find((t) => t.Status.State === 'rejected'),
      30_000,
      'the task to be rejected',
    );
    const pull = engine.docker(['pull', 'shoal-test/no-such-image:1']);
    assert.equal(rejected.Status.Err, pull.stderr.trim().replace(/^Error response from daemon: /, ''));

    shoalOk([
      'service',
      'create',
      '-d',
      '--name',
      'nocmd',
      '--restart-condition',
      'none',
      TEST_IMAGE,
      '/no/such/binary',
    ]);
    const failed = await found(
      async () => (await tasksOf('nocmd')).find((t) => t.Status.State === 'failed'),
      30_000,
      'the task to fail',
    );
    assert.match(failed.Status.Err ?? '', /^starting container failed: .*no such file or directory/);

    shoalOk([
      'service',
      'create',
      '-d',
      '--name',
      'exit3',
      '--restart-condition',
      'none',
      TEST_IMAGE,
      'sh',
      '-c',
      'exit 3',
    ]);
    const exited = await found(
      async () => (await tasksOf('exit3')).find((t) => t.Status.State === 'failed'),
      30_000,
      'the task to fail',
    );
    assert.equal(exited.Status.Err, 'task: non-zero exit (3)');
    assert.equal(exited.Status.ContainerStatus?.ExitCode, 3);
    for (const s of ['noimage', 'nocmd', 'exit3']) shoalOk(['service', 'rm', s]);
  },
);

test('a task with a healthcheck is running only once its container is healthy', { skip }, async () => {
  shoalOk([
    'service',
    'create',
    '-d',
    '--name',
    'hc',
    '--init',
    '--health-cmd',
    'test -f /tmp/up',
    '--health-interval',
    '200ms',
    '--health-retries',
    '50',
    TEST_IMAGE,
    'sh',
    '-c',
    'sleep 1; touch /tmp/up; exec sleep 600',
  ]);
  const [c] = await runningContainers('hc', 1);
  assert.equal(c.State.Health?.Status, 'healthy');
  const t = (await tasksOf('hc')).find((x) => x.Status.State === 'running')!;
  // Started at least a second before it was reported running, the time it took to turn healthy.
  assert.ok(Date.parse(t.Status.Timestamp) - Date.parse(c.State.StartedAt) >= 900);
  shoalOk(['service', 'rm', 'hc']);
});

test('service rm removes every container', { skip }, async () => {
  shoalOk(['service', 'rm', 'web']);
  await eventually(() => containers('web', true).length === 0, 60_000, 'the containers of web to be removed');
  await eventually(async () => (await d.json<Task[]>('GET', '/tasks')).length === 0, 60_000, 'no tasks');
  await eventually(() => engine.mustDocker(['ps', '-aq']) === '', 60_000, 'no containers at all');
});

test('--executor auto runs processes when no engine answers at --docker-host, and docker when one does', async () => {
  const none = new TestDaemon(['--executor', 'auto', '--docker-host', 'unix:///nonexistent/docker.sock']);
  await none.start();
  try {
    assert.match(none.shoal(['info']).stdout, /\n Executor: process\n/);
    assert.match(none.log, /executor process: auto: no Docker Engine answers at unix:\/\/\/nonexistent\/docker.sock/);
  } finally {
    await none.stop();
  }
  if (skip) return;
  const auto = new TestDaemon(['--executor', 'auto', '--docker-host', engine.host]);
  await auto.start();
  try {
    assert.match(auto.shoal(['info']).stdout, /\n Executor: docker\n/);
  } finally {
    await auto.stop();
  }
});

test("--executor docker refuses to start without an engine, with the docker CLI's words", async () => {
  const t = new TestDaemon(['--executor', 'docker', '--docker-host', 'unix:///nonexistent/docker.sock']);
  await assert.rejects(
    t.start(),
    /Cannot connect to the Docker daemon at unix:\/\/\/nonexistent\/docker.sock\. Is the docker daemon running\?/,
  );
  await t.stop();
});
