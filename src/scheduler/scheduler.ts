import type { MemoryStore, WriteTx } from '../store/memory-store';
import type { Node, Task } from '../types/swarm';
import { goTime } from '../util/time';
import { isTerminal, isWanted } from '../manager/task-status';
import { nodeEligible } from './constraints';
import { ReconcileLoop } from '../manager/reconcile-loop';

/**
 * Assigns pending tasks to nodes, as swarmkit's scheduler: among eligible nodes, the one with
 * the fewest tasks of this service, then the fewest tasks overall. A task that fits nowhere
 * stays pending with docker's "no suitable node (...)" explanation.
 */
export class Scheduler {
  private readonly loop: ReconcileLoop;

  constructor(store: MemoryStore) {
    this.loop = new ReconcileLoop(store, 'scheduler', (tx) => this.schedule(tx));
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  private schedule(tx: WriteTx): void {
    const tasks = tx.list('tasks');
    const waiting = tasks.filter((t) => t.Status.State === 'pending');
    if (waiting.length === 0) return;
    const nodes = tx.list('nodes');
    const load = new Map<string, { total: number; byService: Map<string, number> }>();
    for (const n of nodes) load.set(n.ID, { total: 0, byService: new Map() });
    const count = (t: Task) => {
      const l = load.get(t.NodeID);
      if (!l) return;
      l.total++;
      l.byService.set(t.ServiceID, (l.byService.get(t.ServiceID) ?? 0) + 1);
    };
    for (const t of tasks) if (t.NodeID && isWanted(t) && !isTerminal(t.Status.State)) count(t);
    const now = goTime();
    for (const t of waiting) {
      if (!isWanted(t)) {
        // Never placed and no longer wanted: it ends here.
        tx.update('tasks', { ...t, Status: { ...t.Status, State: 'shutdown', Message: 'shutdown', Timestamp: now } });
        continue;
      }
      const node = t.NodeID ? nodes.find((n) => n.ID === t.NodeID) : this.pick(t, nodes, load);
      if (!node || !nodeEligible(node, t.Spec).ok) {
        const err = noSuitableNode(t, nodes);
        if (t.Status.Err !== err) tx.update('tasks', { ...t, Status: { ...t.Status, Err: err, Timestamp: now } });
        continue;
      }
      t.NodeID = node.ID;
      count(t);
      tx.update('tasks', {
        ...t,
        Status: { Timestamp: now, State: 'assigned', Message: 'scheduler assigned task to node', PortStatus: {} },
      });
    }
  }

  private pick(t: Task, nodes: Node[], load: Map<string, { total: number; byService: Map<string, number> }>) {
    let best: Node | undefined;
    let bestKey: [number, number] = [Infinity, Infinity];
    for (const n of nodes) {
      if (!nodeEligible(n, t.Spec).ok) continue;
      const l = load.get(n.ID)!;
      const key: [number, number] = [l.byService.get(t.ServiceID) ?? 0, l.total];
      if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = n;
        bestKey = key;
      }
    }
    return best;
  }
}

/** docker's explanation of why a task cannot be placed. */
function noSuitableNode(t: Task, nodes: Node[]): string {
  let unavailable = 0;
  let constraints = 0;
  for (const n of nodes) {
    const r = nodeEligible(n, t.Spec);
    if (r.reason === 'availability') unavailable++;
    else if (r.reason === 'constraints') constraints++;
  }
  const parts: string[] = [];
  const nodeWord = (k: number) => `${k} node${k === 1 ? '' : 's'}`;
  if (unavailable) parts.push(`${nodeWord(unavailable)} not available for new tasks`);
  if (constraints) parts.push(`scheduling constraints not satisfied on ${nodeWord(constraints)}`);
  return `no suitable node (${parts.join('; ') || 'no nodes'})`;
}
