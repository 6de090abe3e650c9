// Runs a CLI command class in-process with captured output, as the user would see it.
import type { BaseCommand } from '../../../src/cli/base-command';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

type CommandClass = new (argv: string[]) => BaseCommand;

export async function runCommand(
  Cmd: CommandClass,
  argv: string[],
  opts: { host?: string; env?: NodeJS.ProcessEnv; tty?: boolean; columns?: number } = {},
): Promise<CommandResult> {
  const cmd = new Cmd(opts.host ? ['-H', opts.host, ...argv] : argv);
  let stdout = '';
  let stderr = '';
  cmd.stdout = { write: (s: string) => (stdout += s), isTTY: opts.tty, columns: opts.columns };
  cmd.stderr = { write: (s: string) => (stderr += s) };
  cmd.env = { ...(opts.env ?? {}) };
  const code = await cmd.execute();
  return { code, stdout, stderr };
}
