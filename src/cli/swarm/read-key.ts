// How `swarm unlock` reads the key from the user: a masked prompt on a terminal, otherwise one
// line from stdin (docker's readKey). Never from an argument, which `ps` would show.
import { CliError } from '../errors';

/** The stdin the key is read from: process.stdin, or a stream in tests. */
export type KeyInput = NodeJS.ReadableStream & { isTTY?: boolean };

export const UNLOCK_PROMPT = 'Enter unlock key:';

/** The first line of a non-terminal stdin, trimmed; '' for an empty stdin. */
export function readKeyLine(input: KeyInput): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const finish = (): void => {
      input.removeListener('data', onData);
      input.removeListener('end', finish);
      input.removeListener('error', onError);
      input.pause();
      resolve(data.split('\n')[0].trim());
    };
    const onData = (chunk: string | Buffer): void => {
      data += chunk.toString();
      if (data.includes('\n')) finish();
    };
    const onError = (err: Error): void => reject(err);
    input.on('data', onData);
    input.once('end', finish);
    input.once('error', onError);
    input.resume();
  });
}

/** Asks on the terminal with a masked prompt; Ctrl-C ends the command with status 130, as SIGINT would. */
export async function promptKey(input: KeyInput, message = UNLOCK_PROMPT): Promise<string> {
  // the prompt library is heavy: load it only when asking
  const { password } = require('@inquirer/prompts') as typeof import('@inquirer/prompts');
  try {
    return (await password({ message, mask: '*' }, { input })).trim();
  } catch (err) {
    if ((err as Error)?.name === 'ExitPromptError') throw new CliError('', 130);
    throw err;
  }
}

/** The key from a terminal prompt or from stdin, whichever `input` is. */
export function readKey(input: KeyInput): Promise<string> {
  return input.isTTY ? promptKey(input) : readKeyLine(input);
}
