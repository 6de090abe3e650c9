import { BaseCommand } from '../../base-command';
import { toOclifFlags } from '../../flags/define';
import { NO_CHANGE, updateNodes } from '../../node-update';

export default class NodePromote extends BaseCommand {
  static override summary = 'Promote one or more nodes to manager in the swarm';
  static override usage = 'node promote NODE [NODE...]';
  static override flags = toOclifFlags({});

  async run(): Promise<void> {
    const { args } = this.parse({}, { min: 1 });
    await updateNodes(
      this.client,
      args,
      (node) => {
        if (node.Spec.Role === 'manager') {
          this.print(`Node ${node.ID} is already a manager.`);
          return NO_CHANGE;
        }
        node.Spec.Role = 'manager';
      },
      (ref) => this.print(`Node ${ref} promoted to a manager in the swarm.`),
    );
  }
}
