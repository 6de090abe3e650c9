import { BaseCommand } from '../../base-command';
import { toOclifFlags } from '../../flags/define';
import { waitOnService } from '../../progress';
import { UPDATE_FLAGS } from '../../service/flags';
import { applyServiceUpdate, checkRollbackFlags } from '../../service/update-spec';

export default class ServiceUpdate extends BaseCommand {
  static override summary = 'Update a service';
  static override usage = 'service update [OPTIONS] SERVICE';
  static override flags = toOclifFlags(UPDATE_FLAGS);

  async run(): Promise<void> {
    const { flags, changed, args } = this.parse(UPDATE_FLAGS, { min: 1, max: 1 });
    const ref = args[0];
    const service = await this.client.serviceInspect(ref);
    if (flags.rollback) checkRollbackFlags(changed);
    const spec = service.Spec;
    applyServiceUpdate(spec, flags, changed);
    const res = await this.client.serviceUpdate(service.ID, service.Version?.Index, spec, {
      registryAuthFrom: 'spec',
      rollback: flags.rollback ? 'previous' : undefined,
      encodedRegistryAuth: flags['with-registry-auth'] ? 'e30=' : undefined,
    });
    for (const w of res.Warnings ?? []) this.printErr(w);
    this.print(ref);
    if (!flags.detach) await waitOnService(this.client, ref, this.waitOptions(flags.quiet));
  }
}
