// Membership changes, one voter at a time, taking effect when the entry is applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './sim/cluster';

const ids = ['a', 'b', 'c'];

test('adding a member: it replicates the whole log and then counts toward the quorum', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  c.propose('a', 'before');
  c.deliverAll();
  const r = c.node('a').proposeConfChange({ type: 'add-member', nodeId: 'd' });
  assert.equal(r.accepted, true);
  c.addNode('d');
  // A second change is refused until the first is applied.
  assert.deepEqual(c.node('a').proposeConfChange({ type: 'remove-member', nodeId: 'b' }), {
    accepted: false,
    reason: 'conf-change-pending',
  });
  c.processReady('a');
  c.tickAll(5);
  for (const id of [...ids, 'd']) assert.deepEqual(c.node(id).voters().sort(), ['a', 'b', 'c', 'd']);
  assert.deepEqual(c.appliedText('d'), ['before']);

  // Four voters: a quorum is three, so a and d alone cannot commit.
  c.partition(['a', 'd']);
  c.propose('a', 'minority');
  c.tickAll(3);
  assert.ok(!c.appliedText('a').includes('minority'));
  c.heal();
});

test('removing a member: the rest carry on without it', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  assert.equal(c.node('a').proposeConfChange({ type: 'remove-member', nodeId: 'c' }).accepted, true);
  c.processReady('a');
  c.tickAll(3);
  assert.deepEqual(c.node('a').voters().sort(), ['a', 'b']);
  c.crash('c');
  c.propose('a', 'two of two');
  c.deliverAll();
  assert.deepEqual(c.appliedText('b'), ['two of two']);
  // No-op and last-voter changes are refused.
  assert.equal(c.node('a').proposeConfChange({ type: 'add-member', nodeId: 'b' }).accepted, false);
});

test('a leader that removes itself steps down and the others elect a leader', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  c.tickAll(1);
  assert.equal(c.node('a').proposeConfChange({ type: 'remove-member', nodeId: 'a' }).accepted, true);
  c.processReady('a');
  c.deliverAll();
  assert.equal(c.node('a').status().role, 'follower');
  c.tickAll(40);
  const l = c.leader();
  assert.ok(l === 'b' || l === 'c');
  assert.deepEqual(c.node(l).voters().sort(), ['b', 'c']);
  c.propose(l, 'without a');
  c.deliverAll();
  assert.deepEqual(c.appliedText(l === 'b' ? 'c' : 'b'), ['without a']);
});

test('a member added after compaction learns the configuration from the snapshot', () => {
  const c = new Cluster(ids, { snapshotChunkBytes: 32 });
  c.campaign('a');
  c.propose('a', 'x');
  c.deliverAll();
  c.tickAll(1);
  c.compact('a');
  c.node('a').proposeConfChange({ type: 'add-member', nodeId: 'd' });
  c.addNode('d');
  c.processReady('a');
  c.tickAll(10);
  assert.deepEqual(c.node('d').voters().sort(), ['a', 'b', 'c', 'd']);
  assert.deepEqual(c.appliedText('d'), ['x']);
});
