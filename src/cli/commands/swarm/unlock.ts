import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { toOclifFlags } from '../../flags/define';

const PROMPT = 'Enter unlock key:';

/** One line from a non-terminal stdin, trimmed (docker's readKey without a TTY). */
function readLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const stdin = process.stdin;
    stdin.setEncoding('utf8');
    const done = (): void => {
      stdin.removeAllListeners('data');
      stdin.pause();
      resolve(data.split('\n')[0].trim());
    };
    stdin.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('\n')) done();
    });
    stdin.once('end', done);
    stdin.once('error', reject);
  });
}

export default class SwarmUnlock extends BaseCommand {
  static override summary = 'Unlock swarm';
  static override usage = 'swarm unlock';
  static override flags = toOclifFlags({});

  async run(): Promise<void> {
    this.parse({}, { max: 0 });
    const info = await this.client.info();
    switch (info.Swarm?.LocalNodeState) {
      case 'inactive':
        throw new CliError('Error: This node is not part of a swarm');
      case 'locked':
        break;
      default:
        throw new CliError('Error: swarm is not locked');
    }
    let key: string;
    if (process.stdin.isTTY) {
      // the prompt library is heavy: load it only when asking
      const { password } = require('@inquirer/prompts') as typeof import('@inquirer/prompts');
      key = await password({ message: PROMPT, mask: '*' });
    } else {
      key = await readLine();
    }
    await this.client.swarmUnlock(key);
  }
}
