import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderFormat } from '../../src/cli/format/formatter';
import { TASK_HEADER, TaskContext, taskListFormat } from '../../src/cli/format/task-format';
import type { Task } from '../../src/types/swarm';

const NOW = Date.parse('2024-01-01T12:00:00Z');

function task(over: Partial<Task> = {}): Task {
  return {
    ID: 'taskID',
    Version: { Index: 1 },
    CreatedAt: '2024-01-01T10:00:00Z',
    UpdatedAt: '2024-01-01T10:00:00Z',
    Labels: {},
    Spec: { ContainerSpec: { Image: 'myimage:mytag' }, ForceUpdate: 0 },
    ServiceID: 'rl02d5gwz6chzu7il5fhtb8be',
    Slot: 1,
    NodeID: 'n1',
    Status: {
      Timestamp: '2024-01-01T10:00:00Z',
      State: 'ready',
      Message: '',
      PortStatus: { Ports: [{ TargetPort: 80, PublishedPort: 80, Protocol: 'tcp' }] },
    },
    DesiredState: 'ready',
    Volumes: null,
    ...over,
  };
}

test('task table matches docker (node-ps.simple.golden)', () => {
  const rows = [new TaskContext(task(), 'rl02d5gwz6chzu7il5fhtb8be.1', 'defaultNodeName', true, NOW)];
  assert.equal(
    renderFormat(taskListFormat('table', false), rows, TASK_HEADER),
    'ID        NAME                          IMAGE           NODE              DESIRED STATE   CURRENT STATE       ERROR     PORTS\n' +
      'taskID    rl02d5gwz6chzu7il5fhtb8be.1   myimage:mytag   defaultNodeName   Ready           Ready 2 hours ago             *:80->80/tcp\n',
  );
});

test('task fields: digests stripped when truncating, errors quoted and shortened, running since', () => {
  const t = task({
    ID: '0123456789abcdefghijklmno',
    Spec: { ContainerSpec: { Image: 'nginx:1.25@sha256:' + 'a'.repeat(64) }, ForceUpdate: 0 },
    Status: {
      Timestamp: new Date(NOW - 5 * 60_000).toISOString(),
      State: 'running',
      Message: '',
      Err: 'a very long error message that goes on and on',
      PortStatus: {},
    },
  });
  const c = new TaskContext(t, 'web.1', 'node1', true, NOW);
  assert.equal(c.ID, '0123456789ab');
  assert.equal(c.Image, 'nginx:1.25');
  assert.equal(c.CurrentState, 'Running 5 minutes ago');
  assert.equal(c.Error, '"a very long error message tha…"');
  const full = new TaskContext(t, 'web.1', 'node1', false, NOW);
  assert.equal(full.ID, '0123456789abcdefghijklmno');
  assert.ok(full.Image.includes('@sha256:'));
});
