// Flags several commands share, declared once with docker's texts.
import type { FilterArgs } from '../../client/api-client';
import { bool, list, str, type Def } from './define';

const BAD_FILTER = 'bad format of filter (expected name=value)';

/** docker's filters.ParseFlag: `key=value`, key lower-cased and both sides trimmed. */
export function parseFilters(values: string[]): FilterArgs {
  const out: FilterArgs = {};
  for (const arg of values) {
    if (arg === '') continue;
    const eq = arg.indexOf('=');
    if (eq === -1) throw new Error(BAD_FILTER);
    const key = arg.slice(0, eq).trim().toLowerCase();
    (out[key] ??= []).push(arg.slice(eq + 1).trim());
  }
  return out;
}

export const filterFlag = (): Def<'list'> =>
  list('Filter output based on conditions provided', {
    char: 'f',
    valueName: 'filter',
    validate: (v) => {
      if (v !== '' && !v.includes('=')) throw new Error(BAD_FILTER);
    },
  });

export const FORMAT_HELP =
  "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

export const INSPECT_FORMAT_HELP =
  "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

export const formatFlag = (description = FORMAT_HELP, char?: string): Def<'string'> => str(description, { char });
export const quietFlag = (description: string): Def<'bool'> => bool(description, { char: 'q' });
export const detachFlag = (): Def<'bool'> =>
  bool('Exit immediately instead of waiting for the service to converge', { char: 'd' });
