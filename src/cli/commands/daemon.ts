import { Command, Flags } from '@oclif/core';
import { defaultDataRoot, defaultSocketPath, parseHost } from '../../client/paths';
import { cliVersion } from '../cli-version';

/** `shoal daemon`: the node process, in the foreground. Its code loads only here, never for client commands. */
export default class Daemon extends Command {
  static override summary = 'Run the shoal node daemon in the foreground (as dockerd)';
  static override flags = {
    'data-root': Flags.string({ description: 'Root directory of persistent shoal state (env SHOAL_DATA_ROOT)' }),
    host: Flags.string({ char: 'H', description: 'Daemon socket to listen on, unix:///path.sock (env SHOAL_HOST)' }),
    executor: Flags.string({ description: 'How tasks run', options: ['process'], default: 'process' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Daemon);
    const socketPath = parseHost(flags.host ?? process.env.SHOAL_HOST ?? `unix://${defaultSocketPath()}`);
    const dataRoot = flags['data-root'] ?? defaultDataRoot();
    const { runDaemon } = await import('../../daemon/main');
    await runDaemon({ dataRoot, socketPath, executor: 'process', version: cliVersion() });
    // Keep running until a signal stops it.
    await new Promise(() => undefined);
  }
}
