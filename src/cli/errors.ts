// Failures the CLI expects and reports as one message (no stack trace), with docker's exit codes.

/** A client-side failure: printed as its message on stderr, exit status `exitCode` (default 1). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit code docker uses when flags cannot be parsed (cli.FlagErrorFunc's StatusError). */
export const FLAG_ERROR_EXIT_CODE = 125;
/** Exit code docker's inspect uses for a template that does not parse. */
export const TEMPLATE_ERROR_EXIT_CODE = 64;

/** Several failures reported together, one per line (Go's errors.Join). */
export function joinErrors(errors: Error[]): CliError | undefined {
  if (errors.length === 0) return undefined;
  return new CliError(errors.map((e) => e.message).join('\n'));
}
