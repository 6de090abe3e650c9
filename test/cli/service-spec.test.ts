import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgv } from '../../src/cli/flags/parse';
import { CREATE_FLAGS, UPDATE_FLAGS } from '../../src/cli/service/flags';
import { buildServiceSpec } from '../../src/cli/service/create-spec';
import { applyServiceUpdate } from '../../src/cli/service/update-spec';
import { imageWithTag } from '../../src/cli/service/image-ref';
import { parsePublish } from '../../src/cli/service/ports';
import { parseMount } from '../../src/cli/service/mounts';
import { shlexSplit } from '../../src/cli/values/shlex';
import type { ServiceSpec } from '../../src/types/swarm';

async function create(argv: string[]): Promise<ServiceSpec> {
  const { flags, changed, args } = parseArgv(CREATE_FLAGS, argv, { interspersed: false });
  return buildServiceSpec({ flags, changed, image: args[0], args: args.slice(1) });
}

test('the request body docker CLI 28 sends (reference §5.2, without secrets and configs)', async () => {
  const spec = await create(['--name', 'web', '--replicas', '2', '-p', '8080:80', 'nginx']);
  assert.equal(
    JSON.stringify(spec),
    '{"Name":"web","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"nginx:latest","Init":false,"DNSConfig":{}},' +
      '"Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":2}},' +
      '"EndpointSpec":{"Mode":"vip","Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080,"PublishMode":"ingress"}]}}',
  );
});

test('no --replicas: Mode is {"Replicated":{}}; trailing words are Args, even ones that look like flags', async () => {
  const spec = await create(['--name', 'web', 'busybox', 'sleep', '-d', '--name', '100']);
  assert.deepEqual(spec.Mode, { Replicated: {} });
  assert.deepEqual(spec.TaskTemplate.ContainerSpec?.Args, ['sleep', '-d', '--name', '100']);
  assert.equal(spec.TaskTemplate.ContainerSpec?.Image, 'busybox:latest');
});

test('the flag table of reference §5.2', async () => {
  const spec = await create([
    '--limit-cpu',
    '0.5',
    '--limit-memory',
    '64m',
    '--reserve-cpu',
    '0.25',
    '--reserve-memory',
    '32m',
    '--restart-condition',
    'on-failure',
    '--restart-delay',
    '10s',
    '--restart-max-attempts',
    '3',
    '--restart-window',
    '1m',
    '--update-parallelism',
    '2',
    '--update-delay',
    '10s',
    '--update-order',
    'start-first',
    '--update-failure-action',
    'rollback',
    '--update-monitor',
    '2s',
    '--rollback-parallelism',
    '3',
    '--constraint',
    'node.role==manager',
    '--placement-pref',
    'spread=node.labels.zone',
    '--replicas-max-per-node',
    '2',
    '--health-cmd',
    'curl -f http://localhost/',
    '--health-interval',
    '5s',
    '--entrypoint',
    'sh -c',
    '--mount',
    'type=volume,source=data,target=/data',
    '--publish',
    'published=8080,target=80,mode=host',
    '-e',
    'A=1',
    '-e',
    'A=2',
    '-l',
    'tier=web',
    '-w',
    '/srv',
    '-u',
    'nobody',
    '--stop-grace-period',
    '20s',
    '--init',
    '--read-only',
    'nginx:1.25',
    'echo',
    'hi',
  ]);
  const t = spec.TaskTemplate;
  const c = t.ContainerSpec!;
  assert.deepEqual(t.Resources, {
    Limits: { NanoCPUs: 500000000, MemoryBytes: 67108864 },
    Reservations: { NanoCPUs: 250000000, MemoryBytes: 33554432 },
  });
  assert.deepEqual(t.RestartPolicy, { Condition: 'on-failure', Delay: 10e9, MaxAttempts: 3, Window: 60e9 });
  assert.deepEqual(spec.UpdateConfig, {
    Parallelism: 2,
    Delay: 10e9,
    FailureAction: 'rollback',
    Monitor: 2e9,
    MaxFailureRatio: 0,
    Order: 'start-first',
  });
  // any --rollback-* flag gives a complete RollbackConfig with the defaults
  assert.deepEqual(spec.RollbackConfig, {
    Parallelism: 3,
    FailureAction: 'pause',
    Monitor: 5e9,
    MaxFailureRatio: 0,
    Order: 'stop-first',
  });
  assert.deepEqual(t.Placement, {
    Constraints: ['node.role==manager'],
    Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
    MaxReplicas: 2,
  });
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'curl -f http://localhost/'], Interval: 5e9 });
  assert.deepEqual(c.Command, ['sh', '-c']);
  assert.deepEqual(c.Args, ['echo', 'hi']);
  assert.deepEqual(c.Mounts, [{ Type: 'volume', Source: 'data', Target: '/data' }]);
  assert.deepEqual(spec.EndpointSpec?.Ports, [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' },
  ]);
  assert.deepEqual(c.Env, ['A=2']);
  assert.deepEqual(spec.Labels, { tier: 'web' });
  assert.equal(c.Dir, '/srv');
  assert.equal(c.User, 'nobody');
  assert.equal(c.StopGracePeriod, 20e9);
  assert.equal(c.Init, true);
  assert.equal(c.ReadOnly, true);
  assert.equal(c.Image, 'nginx:1.25');
});

test('job modes and mode errors', async () => {
  assert.deepEqual(
    (await create(['--mode', 'replicated-job', '--replicas', '5', '--max-concurrent', '2', 'busybox'])).Mode,
    {
      ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 },
    },
  );
  assert.deepEqual((await create(['--mode', 'global-job', 'busybox'])).Mode, { GlobalJob: {} });
  assert.deepEqual((await create(['--mode', 'global', 'busybox'])).Mode, { Global: {} });
  await assert.rejects(
    create(['--mode', 'global', '--replicas', '2', 'busybox']),
    /replicas can only be used with replicated or replicated-job mode/,
  );
  await assert.rejects(
    create(['--mode', 'nope', 'busybox']),
    /Unknown mode: nope, only replicated and global supported/,
  );
  await assert.rejects(
    create(['--mode', 'global-job', '--update-delay', '1s', 'busybox']),
    /update and rollback configuration is not supported for jobs/,
  );
});

test('service update: image, args, env, labels, replicas, force, constraints', () => {
  const spec: ServiceSpec = {
    Name: 'web',
    Labels: { keep: '1', drop: '2' },
    TaskTemplate: { ContainerSpec: { Image: 'nginx:1', Env: ['A=1', 'B=2'] }, ForceUpdate: 1, Runtime: 'container' },
    Mode: { Replicated: { Replicas: 1 } },
  };
  const { flags, changed } = parseArgv(UPDATE_FLAGS, [
    '--image',
    'nginx',
    '--args',
    'sleep "10 20"',
    '--env-add',
    'B=3',
    '--env-add',
    'C=4',
    '--env-rm',
    'A',
    '--label-add',
    'new=x',
    '--label-rm',
    'drop',
    '--replicas',
    '4',
    '--force',
    '--constraint-add',
    'node.role==worker',
    '--limit-memory',
    '1g',
  ]);
  applyServiceUpdate(spec, flags, changed);
  const c = spec.TaskTemplate.ContainerSpec!;
  assert.equal(c.Image, 'nginx:latest');
  assert.deepEqual(c.Args, ['sleep', '10 20']);
  assert.deepEqual(c.Env, ['B=3', 'C=4']);
  assert.deepEqual(spec.Labels, { keep: '1', new: 'x' });
  assert.equal(spec.Mode?.Replicated?.Replicas, 4);
  assert.equal(spec.TaskTemplate.ForceUpdate, 2);
  assert.deepEqual(spec.TaskTemplate.Placement?.Constraints, ['node.role==worker']);
  assert.deepEqual(spec.TaskTemplate.Resources, { Limits: { MemoryBytes: 1024 ** 3 }, Reservations: {} });
  assert.equal(spec.TaskTemplate.Runtime, 'container');
});

test('value parsers: images, ports, mounts, shell words', () => {
  assert.equal(imageWithTag('nginx'), 'nginx:latest');
  assert.equal(imageWithTag('docker.io/library/nginx'), 'nginx:latest');
  assert.equal(imageWithTag('localhost:5000/app'), 'localhost:5000/app:latest');
  assert.equal(imageWithTag('nginx:1.25'), 'nginx:1.25');
  assert.equal(imageWithTag('nginx@sha256:' + 'a'.repeat(64)), 'nginx@sha256:' + 'a'.repeat(64));
  assert.deepEqual(parsePublish('80'), [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: undefined, PublishMode: 'ingress' },
  ]);
  assert.deepEqual(
    parsePublish('8080-8081:80-81/udp').map((p) => [p.PublishedPort, p.TargetPort, p.Protocol]),
    [
      [8080, 80, 'udp'],
      [8081, 81, 'udp'],
    ],
  );
  assert.throws(() => parsePublish('target=0'), /missing mandatory field 'target'/);
  assert.throws(() => parsePublish('1.2.3.4:80:80'), /hostip is not supported/);
  assert.deepEqual(parseMount('type=bind,src=/a,dst=/b,readonly'), {
    Type: 'bind',
    Source: '/a',
    Target: '/b',
    ReadOnly: true,
  });
  assert.deepEqual(parseMount('type=tmpfs,target=/t,tmpfs-size=64m'), {
    Type: 'tmpfs',
    Target: '/t',
    TmpfsOptions: { SizeBytes: 67108864 },
  });
  assert.throws(() => parseMount('type=bind,source=/a'), /target is required/);
  assert.deepEqual(shlexSplit(`sh -c 'echo "hi there"' a\\ b`), ['sh', '-c', 'echo "hi there"', 'a b']);
});
