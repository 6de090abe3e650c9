import type { MemoryStore, StoreEvent } from '../store/memory-store';
import type { Node, Task, TaskStatus } from '../types/swarm';
import { isTerminal, stateRank } from '../manager/task-status';
import { StatusBatch } from './status-batch';

/**
 * Hands each node its tasks and takes their status back, as swarmkit's dispatcher. Here the
 * only node is this one, so it works on the store directly; joining nodes (next issue) reach
 * the same methods over mutual TLS. Status reports are batched into one proposal per tick,
 * so 100 tasks starting together cost a few log entries, not hundreds.
 */
export class Dispatcher {
  private readonly reports = new StatusBatch((batch) => this.write(batch));

  constructor(private readonly store: MemoryStore) {}

  /** The node's tasks now, and on every change. Returns the unsubscribe function. */
  watch(nodeId: string, onTasks: (tasks: Task[]) => void): () => void {
    // peek, and copy only this node's tasks: list() copies every task, once per node on every commit.
    const emit = () => {
      const mine: Task[] = [];
      for (const t of this.store.peek('tasks')) if (t.NodeID === nodeId) mine.push(structuredClone(t) as Task);
      onTasks(mine);
    };
    let pending = false;
    // Only commits that can change what this node is sent: its tasks, its own node (removal), the managers it
    // is told of, the cluster (heartbeat period). Re-sending every node its unchanged tasks on every commit made
    // each join and each status batch cost O(nodes x tasks) and stalled the manager at a few hundred nodes.
    const concerns = (e: StoreEvent) =>
      e.table === 'cluster' ||
      (e.table === 'tasks' && (e.object as Task).NodeID === nodeId) ||
      (e.table === 'nodes' && (e.object.ID === nodeId || (e.object as Node).Spec?.Role === 'manager'));
    const listener = (events: StoreEvent[]) => {
      if (pending || !events.some(concerns)) return;
      pending = true;
      setImmediate(() => {
        pending = false;
        emit();
      });
    };
    this.store.on('commit', listener);
    emit();
    return () => this.store.off('commit', listener);
  }

  updateStatus(taskId: string, status: TaskStatus): Promise<void> {
    return this.reports.add(taskId, status);
  }

  private async write(batch: Map<string, TaskStatus>): Promise<void> {
    await this.store.retryUpdate((tx) => {
      for (const [id, status] of batch) {
        const t = tx.get('tasks', id);
        // A task never moves backwards, and a finished one stays finished.
        if (!t || isTerminal(t.Status.State) || stateRank(status.State) < stateRank(t.Status.State)) continue;
        tx.update('tasks', { ...t, Status: status });
      }
    });
  }
}
