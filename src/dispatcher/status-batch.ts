import type { TaskStatus } from '../types/swarm';

/**
 * Coalesces the task status reports made in one tick into one send (the last report of a task
 * wins), so 100 tasks starting together cost a few log entries or RPCs, not hundreds. Every
 * report of a batch resolves or rejects with that batch's send.
 */
export class StatusBatch {
  private queue = new Map<string, TaskStatus>();
  private flushing?: Promise<void>;

  constructor(private readonly send: (batch: Map<string, TaskStatus>) => Promise<void>) {}

  add(taskId: string, status: TaskStatus): Promise<void> {
    this.queue.set(taskId, status);
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const batch = this.queue;
      this.queue = new Map();
      this.flushing = undefined;
      return this.send(batch);
    });
    return this.flushing;
  }
}
