// Leader transfer (MsgTimeoutNow once the target is caught up) and ReadIndex reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './sim/cluster';

const ids = ['a', 'b', 'c'];

test('leader transfer waits for the target to catch up, then hands over', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  const term = c.node('a').status().term;
  c.isolate('b');
  for (let i = 0; i < 5; i++) c.propose('a', `x${i}`);
  c.deliverAll();
  c.heal();
  assert.equal(c.node('a').transferLeader('b'), true);
  assert.deepEqual(c.node('a').propose(Buffer.from('during')), {
    accepted: false,
    reason: 'leader-transfer-in-progress',
  });
  c.processReady('a');
  c.deliverAll();
  assert.equal(c.leader(), 'b');
  assert.equal(c.node('b').status().term, term + 1);
  assert.equal(c.node('a').status().leader, 'b');
  assert.equal(c.propose('b', 'after').accepted, true);
  c.deliverAll();
  assert.deepEqual(c.appliedText('a'), ['x0', 'x1', 'x2', 'x3', 'x4', 'after']);
});

test('a transfer to an unreachable member is abandoned after an election timeout', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  c.isolate('c');
  c.node('a').transferLeader('c');
  assert.equal(c.node('a').status().leadTransferee, 'c');
  for (let i = 0; i < 10; i++) c.tick('a');
  assert.equal(c.node('a').status().leadTransferee, null);
  assert.equal(c.propose('a', 'again').accepted, true);
});

test('read index on the leader: answered after a heartbeat round, at the commit index', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  c.propose('a', 'x');
  c.deliverAll();
  assert.equal(c.readIndex('a', 'r1'), true);
  assert.deepEqual(c.sim('a').readStates, [], 'not before a quorum confirms a is still leader');
  c.deliverAll();
  assert.deepEqual(c.sim('a').readStates, [{ requestId: 'r1', index: c.node('a').status().commit }]);
});

test('read index on a follower is forwarded to the leader', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  c.propose('a', 'x');
  c.deliverAll();
  assert.equal(c.readIndex('b', 'rb'), true);
  c.deliverAll();
  assert.deepEqual(c.sim('b').readStates, [{ requestId: 'rb', index: c.node('a').status().commit }]);
  assert.ok(c.sim('b').state.index >= c.sim('b').readStates[0].index, 'b can serve it from its applied state');
});

test('a member without a leader cannot take reads; a deposed leader cannot answer them', () => {
  const c = new Cluster(ids);
  assert.equal(c.node('a').readIndex('r0'), false);
  c.campaign('a');
  c.isolate('a');
  c.readIndex('a', 'stale');
  c.tickAll(30);
  assert.deepEqual(c.sim('a').readStates, []);
});

test('a new leader answers reads only after committing an entry of its own term', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  // b wins, but its first entry reaches nobody yet.
  c.filters = [(m) => !(m.type === 'append' && m.from === 'b')];
  c.node('a').transferLeader('b');
  c.processReady('a');
  c.deliverAll();
  assert.equal(c.leader(), 'b');
  c.readIndex('b', 'early');
  c.deliverAll();
  assert.deepEqual(c.sim('b').readStates, [], 'held back: b does not yet know the latest commit');
  c.filters = [];
  c.tickAll(3);
  assert.deepEqual(c.sim('b').readStates, [{ requestId: 'early', index: c.node('b').status().lastIndex }]);
});
