import { BaseCommand } from '../../base-command';
import { toOclifFlags } from '../../flags/define';
import { detachFlag, quietFlag } from '../../flags/common';
import { waitOnService } from '../../progress';

const FLAGS = { detach: detachFlag(), quiet: quietFlag('Suppress progress output') };

/**
 * docker's `service rollback`: asks the manager to swap the service's spec for its previous one (the body is the
 * current spec, which the manager ignores), prints the argument as typed, and waits for the rollback to converge.
 */
export default class ServiceRollback extends BaseCommand {
  static override summary = "Revert changes to a service's configuration";
  static override usage = 'service rollback [OPTIONS] SERVICE';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, args } = this.parse(FLAGS, { min: 1, max: 1 });
    const ref = args[0];
    const service = await this.client.serviceInspect(ref);
    const res = await this.client.serviceUpdate(service.ID, service.Version?.Index, service.Spec, {
      rollback: 'previous',
    });
    for (const w of res.Warnings ?? []) this.printErr(w);
    this.print(ref);
    if (!flags.detach) await waitOnService(this.client, ref, this.waitOptions(flags.quiet));
  }
}
