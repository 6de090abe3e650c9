import { BaseCommand } from '../../base-command';
import { toOclifFlags } from '../../flags/define';
import { NO_CHANGE, updateNodes } from '../../node-update';

export default class NodeDemote extends BaseCommand {
  static override summary = 'Demote one or more nodes from manager in the swarm';
  static override usage = 'node demote NODE [NODE...]';
  static override flags = toOclifFlags({});

  async run(): Promise<void> {
    const { args } = this.parse({}, { min: 1 });
    await updateNodes(
      this.client,
      args,
      (node) => {
        if (node.Spec.Role === 'worker') {
          this.print(`Node ${node.ID} is already a worker.`);
          return NO_CHANGE;
        }
        node.Spec.Role = 'worker';
      },
      (ref) => this.print(`Manager ${ref} demoted in the swarm.`),
    );
  }
}
