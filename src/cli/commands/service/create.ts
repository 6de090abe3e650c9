import { BaseCommand } from '../../base-command';
import { toOclifFlags } from '../../flags/define';
import { waitOnService } from '../../progress';
import { buildServiceSpec } from '../../service/create-spec';
import { CREATE_FLAGS } from '../../service/flags';

export default class ServiceCreate extends BaseCommand {
  static override summary = 'Create a new service';
  static override usage = 'service create [OPTIONS] IMAGE [COMMAND] [ARG...]';
  static override flags = toOclifFlags(CREATE_FLAGS);

  async run(): Promise<void> {
    // flags end at the image: what follows belongs to the container (docker's SetInterspersed(false))
    const { flags, changed, args } = this.parse(CREATE_FLAGS, { min: 1, interspersed: false });
    const spec = await buildServiceSpec({
      flags,
      changed,
      image: args[0],
      args: args.slice(1),
      resolveNetwork: async (name) => (await this.client.networkInspect(name)).ID,
    });
    // {} is what docker sends for --with-registry-auth without stored credentials
    const auth = flags['with-registry-auth'] ? 'e30=' : undefined;
    const res = await this.client.serviceCreate(spec, auth);
    for (const w of res.Warnings ?? []) this.printErr(w);
    this.print(res.ID);
    if (!flags.detach) await waitOnService(this.client, res.ID, this.waitOptions(flags.quiet));
  }
}
