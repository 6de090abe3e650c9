import type { Task, TaskStatus } from '../types/swarm';

/**
 * Where an agent gets its node's tasks and sends their status: the manager's own dispatcher on a
 * manager, a dispatcher session over mutual TLS on a worker (remote-dispatcher.ts).
 */
export interface TaskSource {
  /** The node's tasks now, and on every change. Returns the unsubscribe function. */
  watch(nodeId: string, onTasks: (tasks: Task[]) => void): () => void;
  updateStatus(taskId: string, status: TaskStatus): Promise<void>;
}
