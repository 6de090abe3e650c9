// The ContainerSpec → container create request mapping, and the engine helpers, without an engine.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  containerLabels,
  containerName,
  createOptions,
  imageRef,
  stopTimeoutSeconds,
} from '../../../../src/agent/exec/docker/container-spec';
import { engineMessage, engineOptions } from '../../../../src/agent/exec/docker/engine';
import { TaskRejectedError } from '../../../../src/agent/exec/executor';
import { makeTask } from './helpers';

const S = 1e9;

test('the container is named <service>.<slot>.<task id>, or by node for a global task (slot 0)', () => {
  const t = makeTask({ Image: 'busybox' }, { id: 'abc', slot: 4, nodeId: 'n1' });
  assert.equal(containerName(t, 'web'), 'web.4.abc');
  assert.equal(containerName({ ...t, Slot: 0 }, 'web'), 'web.n1.abc');
});

test('system labels win over the task labels, which win over the spec labels', () => {
  const t = makeTask(
    { Image: 'busybox', Labels: { a: 'spec', b: 'spec', 'com.docker.swarm.service.name': 'spoof' } },
    { id: 't1', serviceId: 's1', nodeId: 'n1', labels: { b: 'task' } },
  );
  assert.deepEqual(containerLabels(t, 'web'), {
    a: 'spec',
    b: 'task',
    'com.docker.swarm.task': '',
    'com.docker.swarm.task.id': 't1',
    'com.docker.swarm.task.name': 'web.1.t1',
    'com.docker.swarm.node.id': 'n1',
    'com.docker.swarm.service.id': 's1',
    'com.docker.swarm.service.name': 'web',
  });
});

test('images get :latest as swarmkit gives them to the engine; tags and digests are kept', () => {
  assert.equal(imageRef('nginx'), 'nginx:latest');
  assert.equal(imageRef('docker.io/library/nginx'), 'nginx:latest');
  assert.equal(imageRef('nginx:1.27'), 'nginx:1.27');
  assert.equal(imageRef('localhost:5000/app'), 'localhost:5000/app:latest');
  const digest = 'busybox@sha256:' + 'a'.repeat(64);
  assert.equal(imageRef(digest), digest);
});

test('Command becomes the entrypoint, Args the cmd (left unset when empty)', () => {
  const o = createOptions(makeTask({ Image: 'x', Command: ['/bin/app'], Args: [] }), 'web');
  assert.deepEqual(o.Entrypoint, ['/bin/app']);
  assert.equal(o.Cmd, undefined);
  const args = createOptions(makeTask({ Image: 'x', Args: ['--flag'] }), 'web');
  assert.equal(args.Entrypoint, undefined);
  assert.deepEqual(args.Cmd, ['--flag']);
  const none = createOptions(makeTask({ Image: 'x' }), 'web');
  assert.equal(none.Entrypoint, undefined);
  assert.equal(none.Cmd, undefined);
});

test('resources, privileges, DNS, hosts, log driver and healthcheck reach the host config', () => {
  const task = makeTask(
    {
      Image: 'x',
      Init: false,
      Groups: ['audio'],
      DNSConfig: { Nameservers: ['1.1.1.1'], Search: ['example.org'], Options: ['ndots:2'] },
      Hosts: ['10.0.0.1 a.local a', 'bogus'],
      CapabilityAdd: ['NET_ADMIN'],
      CapabilityDrop: ['MKNOD'],
      Sysctls: { 'net.core.somaxconn': '1024' },
      Healthcheck: { Test: ['CMD', 'true'], Interval: 2 * S, Retries: 3 },
      StopGracePeriod: 2.7 * S,
    },
    { resources: { Limits: { NanoCPUs: 1.5 * S, MemoryBytes: 1 << 20 }, Reservations: { MemoryBytes: 1 << 10 } } },
  );
  task.Spec.LogDriver = { Name: 'json-file', Options: { 'max-size': '1m' } };
  const o = createOptions(task, 'web');
  assert.equal(o.StopTimeout, 2);
  assert.deepEqual(o.Healthcheck, {
    Test: ['CMD', 'true'],
    Interval: 2 * S,
    Timeout: undefined,
    StartPeriod: undefined,
    Retries: 3,
  });
  assert.deepEqual(o.HostConfig, {
    Mounts: [],
    ReadonlyRootfs: false,
    NanoCpus: 1.5 * S,
    Memory: 1 << 20,
    Init: false,
    GroupAdd: ['audio'],
    Dns: ['1.1.1.1'],
    DnsSearch: ['example.org'],
    DnsOptions: ['ndots:2'],
    ExtraHosts: ['a.local:10.0.0.1'],
    CapAdd: ['NET_ADMIN'],
    CapDrop: ['MKNOD'],
    Sysctls: { 'net.core.somaxconn': '1024' },
    LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
  });
});

test('stop grace period: whole seconds, undefined for the engine default', () => {
  assert.equal(stopTimeoutSeconds({}), undefined);
  assert.equal(stopTimeoutSeconds({ StopGracePeriod: 0 }), 0);
  assert.equal(stopTimeoutSeconds({ StopGracePeriod: 999_999_999 }), 0);
  assert.equal(stopTimeoutSeconds({ StopGracePeriod: 30 * S }), 30);
});

test("swarmkit's checks reject a task before any engine call", () => {
  const reject = (spec: Parameters<typeof makeTask>[0], msg: string) =>
    assert.throws(
      () => createOptions(makeTask(spec), 'web'),
      (e: Error) => e instanceof TaskRejectedError && e.message === msg,
    );
  reject({ Command: ['true'] }, 'dockerexec: image required');
  reject(
    { Image: 'x', Mounts: [{ Type: 'tmpfs', Target: 'rel' }] },
    'invalid mount target, must be an absolute path: rel',
  );
  reject(
    { Image: 'x', Mounts: [{ Type: 'bind', Source: 'rel', Target: '/t' }] },
    'invalid bind mount source, must be an absolute path: rel',
  );
  reject(
    { Image: 'x', Mounts: [{ Type: 'volume', Source: '/abs', Target: '/t' }] },
    'invalid volume mount source, must not be an absolute path: /abs',
  );
  reject(
    { Image: 'x', Mounts: [{ Type: 'tmpfs', Source: 's', Target: '/t' }] },
    'invalid tmpfs source, source must be empty',
  );
  reject({ Image: 'x', Mounts: [{ Type: 'npipe', Source: 's', Target: '/t' }] }, 'invalid mount type: npipe');
});

test('docker hosts: unix sockets and tcp, given explicitly so DOCKER_HOST cannot override them', () => {
  assert.deepEqual(engineOptions('unix:///var/run/docker.sock'), {
    socketPath: '/var/run/docker.sock',
    host: undefined,
    port: undefined,
    protocol: undefined,
  });
  assert.deepEqual(engineOptions('tcp://10.0.0.2:2375'), {
    host: '10.0.0.2',
    port: 2375,
    protocol: 'http',
    socketPath: undefined,
  });
  assert.throws(() => engineOptions('unix://relative.sock'), /must be absolute/);
  assert.throws(() => engineOptions('ssh://host'), /expected unix:\/\/\/path or tcp:\/\/host:port/);
});

test("engine errors read as the engine's own message", () => {
  const withJson = Object.assign(new Error('(HTTP code 404) no such container - No such container: x '), {
    statusCode: 404,
    json: { message: 'No such container: x' },
  });
  assert.equal(engineMessage(withJson), 'No such container: x');
  const streamed = Object.assign(new Error('(HTTP code 500) server error - Get "https://r/v2/": no such host '), {
    statusCode: 500,
    json: null,
  });
  assert.equal(engineMessage(streamed), 'Get "https://r/v2/": no such host');
  assert.equal(engineMessage(new Error('connect ENOENT /x.sock')), 'connect ENOENT /x.sock');
});
