import type { MemoryStore } from '../store/memory-store';
import type { Task, TaskStatus } from '../types/swarm';
import { isTerminal, stateRank } from '../manager/task-status';

/**
 * Hands each node its tasks and takes their status back, as swarmkit's dispatcher. Here the
 * only node is this one, so it works on the store directly; joining nodes (next issue) reach
 * the same methods over mutual TLS. Status reports are batched into one proposal per tick,
 * so 100 tasks starting together cost a few log entries, not hundreds.
 */
export class Dispatcher {
  private queue = new Map<string, TaskStatus>();
  private flushing?: Promise<void>;

  constructor(private readonly store: MemoryStore) {}

  /** The node's tasks now, and on every change. Returns the unsubscribe function. */
  watch(nodeId: string, onTasks: (tasks: Task[]) => void): () => void {
    const emit = () => onTasks(this.store.list('tasks').filter((t) => t.NodeID === nodeId));
    let pending = false;
    const listener = () => {
      if (pending) return;
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
    this.queue.set(taskId, status);
    if (!this.flushing) {
      this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    }
    return this.flushing;
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = new Map();
    this.flushing = undefined;
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
