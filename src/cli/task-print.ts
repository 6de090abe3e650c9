// docker's task.Print, shared by `service ps` and `node ps`: names tasks `<service>.<slot>` (or
// `.<node ID>` for global tasks), sorts them with the older tasks of a slot indented under the
// current one, and resolves service and node IDs to names (idresolver).
import type { Task } from '../types/swarm';
import type { ShoalClient } from '../client/shoal-client';
import { isTableFormat, renderFormat } from './format/formatter';
import { naturalCompare } from './format/natural-sort';
import { TASK_HEADER, TaskContext, taskListFormat } from './format/task-format';

export interface TaskPrintOptions {
  trunc: boolean;
  quiet: boolean;
  /** A --format value, or 'table'. */
  format: string;
  /** Show IDs instead of looking up service and node names (--no-resolve). */
  noResolve?: boolean;
}

/** idresolver.IDResolver: best-effort ID → name lookups, cached; failures fall back to the ID. */
export class IdResolver {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly client: ShoalClient,
    private readonly noResolve = false,
  ) {}

  async service(id: string): Promise<string> {
    return this.resolve(id, async () => (await this.client.serviceInspect(id)).Spec?.Name ?? '');
  }

  async node(id: string): Promise<string> {
    if (id === '') return '';
    return this.resolve(id, async () => {
      const node = await this.client.nodeInspect(id);
      return node.Spec?.Name || node.Description?.Hostname || id;
    });
  }

  private async resolve(id: string, lookup: () => Promise<string>): Promise<string> {
    if (this.noResolve) return id;
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    let name: string;
    try {
      name = await lookup();
    } catch {
      name = id;
    }
    this.cache.set(id, name);
    return name;
  }
}

export async function renderTasks(client: ShoalClient, tasks: Task[], opts: TaskPrintOptions): Promise<string> {
  const resolver = new IdResolver(client, opts.noResolve);
  const named: { task: Task; name: string }[] = [];
  for (const task of tasks) {
    const service = await resolver.service(task.ServiceID);
    named.push({ task, name: task.Slot !== 0 ? `${service}.${task.Slot}` : `${service}.${task.NodeID}` });
  }
  // by name, then the most recent first (stable, as Go's sort.Stable)
  named.sort((a, b) => naturalCompare(a.name, b.name) || Date.parse(b.task.CreatedAt) - Date.parse(a.task.CreatedAt));

  const format = taskListFormat(opts.format, opts.quiet);
  const indent = isTableFormat(format) ? ' \\_ ' : '';
  const now = Date.now();
  const rows: TaskContext[] = [];
  let prevName = '';
  for (const { task, name } of named) {
    const shown = name === prevName ? indent + name : name;
    prevName = name;
    rows.push(new TaskContext(task, shown, await resolver.node(task.NodeID), opts.trunc, now));
  }
  return renderFormat(format, rows, TASK_HEADER);
}
