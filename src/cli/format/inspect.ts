// docker's inspect.Inspect: the objects as an indented JSON array (no format), a compact one
// (`json`), or one template rendering per object. Objects that could not be fetched are
// reported after the output, one error per line, exit status 1.
import { CliError } from '../errors';
import { goJsonEscape } from './display';
import { FormatError, compileFormat } from './formatter';
import type { Template } from './template';

/** json.MarshalIndent(v, "", "    ") as docker's indented inspector prints. */
export function goJsonIndent(value: unknown): string {
  return goJsonEscape(JSON.stringify(value, null, 4));
}

export async function inspectEach<T>(
  refs: string[],
  format: string,
  get: (ref: string) => Promise<T>,
  write: (text: string) => void,
): Promise<void> {
  let tmpl: Template | undefined;
  if (format !== '' && format !== 'json') {
    try {
      tmpl = compileFormat(format);
    } catch (err) {
      // docker's inspect commands turn even this into a status-1 error
      throw new CliError((err as Error).message);
    }
  }
  const elements: T[] = [];
  const errors: string[] = [];
  let rendered = '';
  for (const ref of refs) {
    let element: T;
    try {
      element = await get(ref);
    } catch (err) {
      errors.push((err as Error).message);
      continue;
    }
    if (!tmpl) {
      elements.push(element);
      continue;
    }
    try {
      rendered += tmpl.execute(element) + '\n';
    } catch (err) {
      errors.push(new FormatError((err as Error).message).message);
    }
  }
  if (!tmpl) {
    if (elements.length === 0) write('[]\n');
    else write((format === 'json' ? goJsonEscape(JSON.stringify(elements)) : goJsonIndent(elements)) + '\n');
  } else {
    write(rendered === '' ? '\n' : rendered);
  }
  if (errors.length > 0) throw new CliError(errors.join('\n'));
}

/** Renders a built-in pretty template for every object: all or nothing, as docker does. */
export async function prettyEach<T>(
  refs: string[],
  template: string,
  get: (ref: string) => Promise<T>,
  toData: (element: T) => unknown,
  write: (text: string) => void,
): Promise<void> {
  const tmpl = compileFormat(template);
  let out = '';
  for (const ref of refs) out += tmpl.execute(toData(await get(ref))) + '\n';
  write(out);
}
