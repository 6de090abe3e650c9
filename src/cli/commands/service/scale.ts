import { BaseCommand } from '../../base-command';
import { CliError, joinErrors } from '../../errors';
import { toOclifFlags } from '../../flags/define';
import { detachFlag } from '../../flags/common';
import { waitOnService } from '../../progress';
import { parseGoUint } from '../../values/go-strconv';

const FLAGS = { detach: detachFlag() };
const SUMMARY = 'Scale one or multiple replicated services';

export default class ServiceScale extends BaseCommand {
  static override summary = SUMMARY;
  static override usage = 'service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, args } = this.parse(FLAGS, { min: 1 });
    for (const arg of args) {
      const eq = arg.indexOf('=');
      if (eq <= 0 || eq === arg.length - 1) {
        throw new CliError(
          `invalid scale specifier '${arg}'.\nSee 'shoal service scale --help'.\n\nUsage:  shoal ${ServiceScale.usage}\n\n${SUMMARY}`,
        );
      }
    }
    const errors: Error[] = [];
    const scaled: string[] = [];
    for (const arg of args) {
      const eq = arg.indexOf('=');
      const ref = arg.slice(0, eq);
      const value = arg.slice(eq + 1);
      let replicas: number;
      try {
        replicas = parseGoUint(value);
      } catch (err) {
        errors.push(new Error(`${ref}: invalid replicas value ${value}: ${(err as Error).message}`));
        continue;
      }
      try {
        const service = await this.client.serviceInspect(ref);
        const mode = service.Spec.Mode ?? {};
        if (mode.Replicated) mode.Replicated.Replicas = replicas;
        else if (mode.ReplicatedJob) mode.ReplicatedJob.TotalCompletions = replicas;
        else throw new Error('scale can only be used with replicated or replicated-job mode');
        const res = await this.client.serviceUpdate(service.ID, service.Version?.Index, service.Spec);
        for (const w of res.Warnings ?? []) this.printErr(w);
        this.print(`${ref} scaled to ${replicas}`);
        scaled.push(ref);
      } catch (err) {
        errors.push(new Error(`${ref}: ${(err as Error).message}`));
      }
    }
    if (!flags.detach) {
      for (const ref of scaled) {
        try {
          await waitOnService(this.client, ref, this.waitOptions(false));
        } catch (err) {
          errors.push(new Error(`${ref}: ${(err as Error).message}`));
        }
      }
    }
    const failed = joinErrors(errors);
    if (failed) throw failed;
  }
}
