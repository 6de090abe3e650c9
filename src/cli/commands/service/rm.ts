import { BaseCommand } from '../../base-command';
import { joinErrors } from '../../errors';
import { toOclifFlags } from '../../flags/define';

export default class ServiceRm extends BaseCommand {
  static override summary = 'Remove one or more services';
  static override usage = 'service rm SERVICE [SERVICE...]';
  static override hiddenAliases = ['service:remove'];
  static override flags = toOclifFlags({});

  async run(): Promise<void> {
    const { args } = this.parse({}, { min: 1 });
    const errors: Error[] = [];
    for (const ref of args) {
      try {
        await this.client.serviceRemove(ref);
        this.print(ref);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    const failed = joinErrors(errors);
    if (failed) throw failed;
  }
}
