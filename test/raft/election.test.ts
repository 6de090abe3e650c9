// Elections: one leader per term, pre-vote keeping a partitioned member from disrupting the
// cluster when it returns, check-quorum stepping a cut-off leader down, and the leader lease.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './sim/cluster';

const ids = ['a', 'b', 'c'];

test('a member that times out wins the election, and everyone follows it', () => {
  const c = new Cluster(ids);
  c.tickAll(30);
  const leader = c.leader();
  assert.ok(leader);
  const term = c.node(leader).status().term;
  for (const id of ids) {
    assert.equal(c.node(id).status().leader, leader);
    assert.equal(c.node(id).status().term, term);
    assert.equal(c.sim(id).soft.leader, leader, 'soft state tells the host who leads');
  }
  // The new leader's empty entry is committed and applied everywhere.
  c.tickAll(2);
  for (const id of ids) assert.equal(c.sim(id).state.index, c.node(leader).status().lastIndex);
});

test('election timeouts come from the injected random source: same seed, same history', () => {
  const run = (seed: number) => {
    const c = new Cluster(ids, { seed });
    c.tickAll(30);
    return `${c.leader()}@${c.node(c.leader()!).status().term}`;
  };
  assert.equal(run(7), run(7));
  const leaders = new Set([1, 2, 3, 4, 5, 6, 7, 8].map(run).map((s) => s.split('@')[0]));
  assert.ok(leaders.size > 1, 'different seeds elect different members');
});

test('a candidate needs a majority: a lone member cannot elect itself', () => {
  const c = new Cluster(ids);
  c.isolate('a');
  c.campaign('a');
  assert.notEqual(c.node('a').status().role, 'leader');
});

test('pre-vote: a partitioned member does not bump its term, and does not depose the leader on return', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  assert.equal(c.leader(), 'a');
  const term = c.node('a').status().term;

  c.isolate('c');
  for (let i = 0; i < 100; i++) {
    c.tick('c');
    c.tick('a');
    c.tick('b');
    c.deliverAll();
  }
  assert.equal(c.node('c').status().term, term, 'pre-votes failed, so c never became a candidate');
  assert.equal(c.node('c').status().role, 'pre-candidate');

  c.heal();
  c.tickAll(5);
  assert.equal(c.leader(), 'a');
  assert.equal(c.node('a').status().term, term);
  assert.equal(c.node('c').status().leader, 'a');
});

test('without pre-vote the same partition disrupts the leader (what pre-vote prevents)', () => {
  const c = new Cluster(ids, { preVote: false, checkQuorum: false });
  c.campaign('a');
  const term = c.node('a').status().term;
  c.isolate('c');
  for (let i = 0; i < 100; i++) c.tick('c');
  assert.ok(c.node('c').status().term > term + 1);
  c.heal();
  c.tickAll(40);
  assert.ok(c.node(c.leader()!).status().term > term, 'a new term was forced on the cluster');
});

test('check-quorum: a leader that heard from no majority for a whole election timeout steps down', () => {
  const c = new Cluster(ids);
  c.campaign('a');
  c.isolate('a');
  // The check runs every election timeout (10 ticks) over the window since the last one: the
  // window a was elected in still saw b and c, the next one saw nobody.
  for (let i = 0; i < 10; i++) c.tick('a');
  assert.equal(c.node('a').status().role, 'leader');
  for (let i = 0; i < 10; i++) c.tick('a');
  assert.equal(c.node('a').status().role, 'follower');
  assert.equal(c.node('a').propose(Buffer.from('x')).accepted, false);

  // The majority side elects a new leader meanwhile.
  for (let i = 0; i < 40; i++) {
    c.tick('b');
    c.tick('c');
    c.deliverAll();
  }
  const l = c.leader();
  assert.ok(l === 'b' || l === 'c');
  c.heal();
  c.tickAll(5);
  assert.equal(c.node('a').status().leader, l);
});

test('leader lease: followers that heard from the leader recently ignore a campaign', () => {
  const c = new Cluster(ids, { preVote: false });
  c.campaign('a');
  const term = c.node('a').status().term;
  c.campaign('c'); // a real vote at term + 1, no pre-vote to stop it
  assert.equal(c.node('b').status().term, term, 'b ignored the vote request');
  assert.equal(c.node('b').status().vote, 'a');
  assert.notEqual(c.node('c').status().role, 'leader');
});
