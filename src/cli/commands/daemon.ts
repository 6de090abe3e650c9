import { Command, Flags } from '@oclif/core';
import { defaultDataRoot, defaultSocketPath, parseHost } from '../../client/paths';
import { cliVersion } from '../cli-version';
import type { ExecutorChoice } from '../../daemon/main';

/** dockerd's default socket (engine.ts has the same; not imported, so the CLI does not load dockerode's module graph). */
const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** `shoal daemon`: the node process, in the foreground. Its code loads only here, never for client commands. */
export default class Daemon extends Command {
  static override summary = 'Run the shoal node daemon in the foreground (as dockerd)';
  static override flags = {
    'data-root': Flags.string({ description: 'Root directory of persistent shoal state (env SHOAL_DATA_ROOT)' }),
    host: Flags.string({ char: 'H', description: 'Daemon socket to listen on, unix:///path.sock (env SHOAL_HOST)' }),
    executor: Flags.string({
      description:
        'How tasks run: as processes, as containers on a Docker Engine, or (auto) as containers when an engine answers at --docker-host',
      options: ['process', 'docker', 'auto'],
      default: 'auto',
    }),
    'docker-host': Flags.string({
      description: `Docker Engine for the docker executor, unix:///path or tcp://host:port (env DOCKER_HOST, else ${DEFAULT_DOCKER_HOST})`,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Daemon);
    const socketPath = parseHost(flags.host ?? process.env.SHOAL_HOST ?? `unix://${defaultSocketPath()}`);
    const dataRoot = flags['data-root'] ?? defaultDataRoot();
    const dockerHost = flags['docker-host'] ?? process.env.DOCKER_HOST ?? DEFAULT_DOCKER_HOST;
    const { runDaemon } = await import('../../daemon/main');
    try {
      await runDaemon({
        dataRoot,
        socketPath,
        executor: flags.executor as ExecutorChoice,
        dockerHost,
        version: cliVersion(),
      });
    } catch (err) {
      // One unwrapped line, as dockerd's "failed to start daemon: ...": it names a damaged file and offset.
      process.stderr.write(`shoal daemon: failed to start: ${(err as Error).message}\n`);
      process.exit(1);
    }
    // Keep running until a signal stops it.
    await new Promise(() => undefined);
  }
}
