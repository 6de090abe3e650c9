// docker's formatter.Context: `table …` formats (header row from the header map, columns
// aligned by the tabwriter), `json` (one object per line) and plain Go templates, one line per
// row. Every list command renders through here.
import { BASIC_FUNCS, parseTemplate, HEADER_FUNCS, TemplateError, type FuncMap, type Template } from './template';
import { tabwrite } from './tabwriter';
import { goJsonEscape } from './display';

export const TABLE_FORMAT_KEY = 'table';
export const JSON_FORMAT_KEY = 'json';
export const RAW_FORMAT_KEY = 'raw';
export const PRETTY_FORMAT_KEY = 'pretty';
export const DEFAULT_QUIET_FORMAT = '{{.ID}}';
export const JSON_FORMAT = '{{json .}}';

/** A --format value could not be parsed (docker: "template parsing error: …"). */
export class FormatError extends Error {
  constructor(message: string) {
    super(`template parsing error: ${message}`);
    this.name = 'FormatError';
  }
}

export const isTableFormat = (format: string): boolean => format.startsWith(TABLE_FORMAT_KEY);

/** The template text a format stands for (Context.preFormat): `table ` stripped, `json` expanded, \t \n unescaped. */
function finalFormat(format: string): string {
  let f = format;
  if (isTableFormat(f)) f = f.slice(TABLE_FORMAT_KEY.length);
  else if (f === JSON_FORMAT_KEY) f = JSON_FORMAT;
  return f
    .replace(/^ +| +$/g, '')
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
}

export function compileFormat(source: string, funcs?: FuncMap): Template {
  try {
    return parseTemplate(source, funcs);
  } catch (err) {
    if (err instanceof TemplateError) throw new FormatError(err.message);
    throw err;
  }
}

function execute(tmpl: Template, data: unknown, funcs?: FuncMap): string {
  try {
    return tmpl.execute(data, funcs ? { funcs: { ...BASIC_FUNCS, ...funcs } } : {});
  } catch (err) {
    if (err instanceof TemplateError) throw new FormatError(err.message);
    throw err;
  }
}

/**
 * Renders rows as docker's Context.Write does. `header` maps field names to column titles
 * (docker's SubHeaderContext); it is only used in table mode. Returns the full output text.
 */
export function renderFormat(
  format: string,
  rows: unknown[],
  header: Record<string, string> = {},
  funcs?: FuncMap,
): string {
  const tmpl = compileFormat(finalFormat(format));
  let body = '';
  for (const row of rows) body += execute(tmpl, row, funcs) + '\n';
  if (!isTableFormat(format)) return body;
  let headerLine = '';
  try {
    headerLine = tmpl.execute(header, { funcs: { ...HEADER_FUNCS, ...funcs } });
  } catch {
    // docker ignores header errors and prints whatever was rendered
  }
  return tabwrite(`${headerLine}\n${body}`, { minwidth: 10, padding: 3 });
}

/**
 * Base class for docker's per-row formatter contexts: subclasses expose the template fields as
 * getters named in `fields`, and `{{json .}}` gives those fields as a key-sorted object, as
 * docker's formatter.MarshalJSON does.
 */
export abstract class RowContext {
  protected abstract readonly fields: readonly string[];

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of [...this.fields].sort()) out[f] = (this as unknown as Record<string, unknown>)[f];
    return out;
  }

  /** What `{{json .}}` prints: encoding/json's output, which escapes <, > and & (unlike the json function). */
  marshalJSON(): string {
    return goJsonEscape(JSON.stringify(this.toJSON()));
  }
}
