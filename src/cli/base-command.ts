// The base of every client command. It is not an oclif Command: oclif only needs a class with a
// static `run(argv, config)` and the static metadata (id, summary, usage, flags) for help and the
// manifest, and skipping oclif's Command/parser keeps start-up short. Flags are parsed by our
// pflag port so that texts, exit codes and argument handling match the docker CLI.
import type { Config as OclifConfig, loadHelpClass as LoadHelpClass } from '@oclif/core';
import { ShoalClient } from '../client/shoal-client';
import { parseHost, resolveHost } from '../client/paths';
import { CliError, FLAG_ERROR_EXIT_CODE } from './errors';
import { HOST_FLAG, toOclifFlags, type FlagDefs, type OclifFlag } from './flags/define';
import { FlagError, HelpRequested, parseArgv, type ParsedArgv } from './flags/parse';
import { ProgressDisplay, type WaitOptions } from './progress';

export const BIN = 'shoal';

/** What commands write to: process.stdout/stderr, or a capture in tests. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** How many positional arguments a command takes (cobra's Args validators). */
export interface ArgRules {
  min?: number;
  max?: number;
  /** false: flags end at the first positional argument (`service create IMAGE ARG…`). */
  interspersed?: boolean;
}

type CommandClass = (new (argv: string[], config?: unknown) => BaseCommand) & typeof BaseCommand;

export abstract class BaseCommand {
  // ---- metadata read by oclif (help, manifest) ----
  static id: string;
  static summary = '';
  static description?: string;
  /** docker's `Use` line without the binary name, e.g. `node ls [OPTIONS]`. */
  static usage = '';
  static flags: Record<string, OclifFlag> = toOclifFlags({});
  static args: Record<string, { description: string; required?: boolean }> = {};
  static strict = false;
  static aliases: string[] = [];
  /** Other names that work but stay out of help (docker's `ls`/`list`, `rm`/`remove`). */
  static hiddenAliases: string[] = [];
  static hidden = false;
  /** Lets the fast launcher (launch.ts) run the class without oclif. */
  static readonly isShoalCommand = true;

  /** The entry point oclif calls; also usable directly (the fast launcher). */
  static async run(this: CommandClass, argv: string[] = process.argv.slice(2), config?: unknown): Promise<void> {
    const code = await new this(argv, config).execute();
    if (code !== 0) process.exitCode = code;
  }

  /** Where output goes; tests replace these before calling execute(). */
  stdout: OutputStream = process.stdout;
  stderr: OutputStream = process.stderr;
  /** The environment SHOAL_HOST and the default paths are read from. */
  env: NodeJS.ProcessEnv = process.env;

  private hostFlag: string | undefined;
  private clientInstance: ShoalClient | undefined;

  constructor(
    protected readonly argv: string[],
    protected readonly config?: unknown,
  ) {}

  abstract run(): Promise<void>;

  /** Runs the command and reports a failure as docker does; resolves to the exit status. */
  async execute(): Promise<number> {
    try {
      await this.run();
      return 0;
    } catch (err) {
      return this.report(err);
    }
  }

  private get ctor(): typeof BaseCommand {
    return this.constructor as typeof BaseCommand;
  }

  /** The command as typed, e.g. `node ls` (from the usage line). */
  get commandPath(): string {
    const words: string[] = [];
    for (const w of this.ctor.usage.split(' ')) {
      if (!/^[a-z][a-z-]*$/.test(w)) break;
      words.push(w);
    }
    return words.join(' ');
  }

  /** Parses argv against `defs` plus -H/--host and checks the argument count. */
  protected parse<F extends FlagDefs>(defs: F, rules: ArgRules = {}): ParsedArgv<F & typeof HOST_FLAG> {
    const parsed = parseArgv({ ...defs, ...HOST_FLAG }, this.argv, { interspersed: rules.interspersed });
    this.hostFlag = parsed.flags.host || undefined;
    this.checkArgs(parsed.args, rules);
    return parsed;
  }

  /** cobra's RequiresMinArgs/ExactArgs/NoArgs texts (exit 1, as docker). */
  private checkArgs(args: string[], { min, max }: ArgRules): void {
    const n = args.length;
    const path = `${BIN} ${this.commandPath}`;
    const usage = `\n\nUsage:  ${BIN} ${this.ctor.usage}\n\n`;
    const plural = (k: number): string => (k === 1 ? 'argument' : 'arguments');
    if (max === 0 && n > 0) {
      throw new CliError(`${BIN}: '${path}' accepts no arguments${usage}Run '${path} --help' for more information`);
    }
    if (min !== undefined && max !== undefined && min === max && n !== min) {
      throw new CliError(
        `${BIN}: '${path}' requires ${min} ${plural(min)}${usage}Run '${path} --help' for more information`,
      );
    }
    if (min !== undefined && n < min) {
      throw new CliError(
        `${BIN}: '${path}' requires at least ${min} ${plural(min)}${usage}See '${path} --help' for more information`,
      );
    }
    if (max !== undefined && n > max) {
      throw new CliError(
        `${BIN}: '${path}' requires at most ${max} ${plural(max)}${usage}Run '${path} --help' for more information`,
      );
    }
  }

  /** The API client for -H/--host, $SHOAL_HOST or the default socket. */
  protected get client(): ShoalClient {
    if (!this.clientInstance) {
      const socketPath = parseHost(resolveHost(this.hostFlag, this.env));
      this.clientInstance = new ShoalClient({ socketPath });
    }
    return this.clientInstance;
  }

  /** Writes text to stdout as is. */
  protected write(text: string): void {
    this.stdout.write(text);
  }

  /** Writes one line to stdout. */
  protected print(line = ''): void {
    this.stdout.write(line + '\n');
  }

  /** Writes one line to stderr. */
  protected printErr(line: string): void {
    this.stderr.write(line + '\n');
  }

  /** Convergence progress on stdout (bars on a terminal), or nothing with -q. */
  protected waitOptions(quiet: boolean): WaitOptions {
    return { quiet, out: new ProgressDisplay(this.stdout) };
  }

  /** Prints `--help` for this command through oclif (loaded only here). */
  protected async showHelp(): Promise<void> {
    const { Config } = require('@oclif/core/config') as { Config: typeof OclifConfig };
    const { loadHelpClass } = require('@oclif/core/help') as { loadHelpClass: typeof LoadHelpClass };
    const config =
      this.config instanceof Config ? this.config : await Config.load(require('node:path').join(__dirname, '..', '..'));
    const Help = await loadHelpClass(config);
    await new Help(config).showHelp([this.ctor.id ?? this.commandPath.replace(/ /g, ':')]);
  }

  /** Prints a failure the way the docker CLI does and returns the exit status. */
  private async report(err: unknown): Promise<number> {
    if (err instanceof HelpRequested) {
      await this.showHelp();
      return 0;
    }
    if (err instanceof FlagError) {
      this.printErr(
        `${err.message}\n\nUsage:  ${BIN} ${this.ctor.usage}\n\nRun '${BIN} ${this.commandPath} --help' for more information`,
      );
      return FLAG_ERROR_EXIT_CODE;
    }
    const e = err as Error & { exitCode?: number };
    const message = e?.message ?? String(err);
    if (message !== '') this.printErr(message);
    if (this.env.SHOAL_DEBUG && e?.stack) this.printErr(e.stack);
    return typeof e?.exitCode === 'number' ? e.exitCode : 1;
  }
}
