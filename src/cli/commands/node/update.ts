import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { list, str, toOclifFlags } from '../../flags/define';
import { updateNodes } from '../../node-update';
import { kvListToMap } from '../../values/kv';
import type { NodeAvailability, NodeRole } from '../../../types/swarm';

const FLAGS = {
  availability: str('Availability of the node ("active", "pause", "drain")'),
  role: str('Role of the node ("worker", "manager")'),
  'label-add': list('Add or update a node label (key=value)'),
  'label-rm': list('Remove a node label if exists'),
};

export default class NodeUpdate extends BaseCommand {
  static override summary = 'Update a node';
  static override usage = 'node update [OPTIONS] NODE';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, changed, args } = this.parse(FLAGS, { min: 1, max: 1 });
    // roles and availabilities are checked by the daemon, as docker leaves them to it
    await updateNodes(
      this.client,
      args,
      (node) => {
        const spec = node.Spec;
        if (changed.has('role')) spec.Role = flags.role as NodeRole;
        if (changed.has('availability')) spec.Availability = flags.availability as NodeAvailability;
        spec.Labels ??= {};
        Object.assign(spec.Labels, kvListToMap(flags['label-add']));
        for (const key of flags['label-rm']) {
          if (!(key in spec.Labels)) throw new CliError(`key ${key} doesn't exist in node's labels`);
          delete spec.Labels[key];
        }
      },
      () => this.print(args[0]),
    );
  }
}
