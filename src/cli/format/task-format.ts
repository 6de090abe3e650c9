// `service ps` / `node ps` rows, after docker's cli/command/task/formatter.go.
import type { Task } from '../../types/swarm';
import { humanDuration } from '../values/units';
import { ellipsis, imageForDisplay, prettyPrint, truncateId } from './display';
import { RowContext } from './formatter';
import { parseApiTime } from './go-time';

export const DEFAULT_TASK_TABLE_FORMAT =
  'table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}';

export const TASK_HEADER: Record<string, string> = {
  ID: 'ID',
  Name: 'NAME',
  Image: 'IMAGE',
  Node: 'NODE',
  DesiredState: 'DESIRED STATE',
  CurrentState: 'CURRENT STATE',
  Error: 'ERROR',
  Ports: 'PORTS',
};

const MAX_ERROR_LENGTH = 30;

export function taskListFormat(source: string, quiet: boolean): string {
  if (source === 'table') return quiet ? '{{.ID}}' : DEFAULT_TASK_TABLE_FORMAT;
  if (source === 'raw') {
    return quiet
      ? 'id: {{.ID}}'
      : 'id: {{.ID}}\\nname: {{.Name}}\\nimage: {{.Image}}\\nnode: {{.Node}}\\ndesired_state: {{.DesiredState}}\\ncurrent_state: {{.CurrentState}}\\nerror: {{.Error}}\\nports: {{.Ports}}\\n';
  }
  return source;
}

export class TaskContext extends RowContext {
  /** The Go type docker's errors name. */
  static readonly goType = '*task.taskContext';
  protected readonly fields = ['ID', 'Name', 'Image', 'Node', 'DesiredState', 'CurrentState', 'Error', 'Ports'];

  constructor(
    private readonly task: Task,
    private readonly name: string,
    private readonly node: string,
    private readonly trunc: boolean,
    private readonly now: number = Date.now(),
  ) {
    super();
  }

  get ID(): string {
    return this.trunc ? truncateId(this.task.ID) : this.task.ID;
  }
  get Name(): string {
    return this.name;
  }
  get Image(): string {
    const image = this.task.Spec?.ContainerSpec?.Image ?? '';
    return this.trunc ? imageForDisplay(image) : image;
  }
  get Node(): string {
    return this.node;
  }
  get DesiredState(): string {
    return prettyPrint(this.task.DesiredState);
  }
  get CurrentState(): string {
    const since = this.now - parseApiTime(this.task.Status?.Timestamp);
    return `${prettyPrint(this.task.Status?.State ?? '')} ${humanDuration(Number.isNaN(since) ? 0 : since).toLowerCase()} ago`;
  }
  get Error(): string {
    let err = this.task.Status?.Err ?? '';
    if (this.trunc) err = ellipsis(err, MAX_ERROR_LENGTH);
    return err === '' ? '' : `"${err}"`;
  }
  get Ports(): string {
    const ports = this.task.Status?.PortStatus?.Ports ?? [];
    return ports.map((p) => `*:${p.PublishedPort ?? 0}->${p.TargetPort ?? 0}/${p.Protocol ?? ''}`).join(',');
  }
}
