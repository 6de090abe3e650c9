// A port of the argv handling of spf13/pflag, which the docker CLI uses: --name value,
// --name=value, -n value, -nvalue, grouped booleans (-qd), --bool=false, repeated list flags,
// `--` ending the flags, and non-interspersed mode (flags stop at the first positional, which is
// how `service create IMAGE COMMAND --its-own-flags` keeps the container's flags). Errors carry
// pflag's texts.
import { convertValue, type FlagDef, type FlagDefs, type FlagValues } from './define';
import { goQuote, parseGoBool } from '../values/go-strconv';

/** A command-line mistake: docker prints it with the usage line and exits 125. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** -h/--help appeared among the flags. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

export interface ParsedArgv<F extends FlagDefs> {
  flags: FlagValues<F>;
  /** Flags given on the command line (pflag's Changed). */
  changed: Set<keyof F & string>;
  args: string[];
}

export interface ParseOptions {
  /** false: the first positional argument ends flag parsing (cobra's SetInterspersed(false)). */
  interspersed?: boolean;
}

function initialValues(defs: FlagDefs): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(defs)) {
    switch (def.kind) {
      case 'bool':
        values[name] = false;
        break;
      case 'list':
        values[name] = [];
        break;
      case 'string':
        values[name] = def.default ?? '';
        break;
      default:
        values[name] = def.default === undefined ? undefined : convertValue(def, def.default);
    }
  }
  return values;
}

export function parseArgv<F extends FlagDefs>(defs: F, argv: string[], opts: ParseOptions = {}): ParsedArgv<F> {
  const interspersed = opts.interspersed ?? true;
  const values = initialValues(defs);
  const changed = new Set<string>();
  const args: string[] = [];
  const byChar = new Map<string, string>();
  for (const [name, def] of Object.entries(defs)) if (def.char) byChar.set(def.char, name);

  const set = (name: string, def: FlagDef, raw: string): void => {
    let value: unknown;
    try {
      if (def.kind === 'bool') value = parseGoBool(raw);
      else {
        def.validate?.(raw);
        value = convertValue(def, raw);
      }
    } catch (err) {
      const flagName = def.char ? `-${def.char}, --${name}` : `--${name}`;
      throw new FlagError(`invalid argument ${goQuote(raw)} for ${goQuote(flagName)} flag: ${(err as Error).message}`);
    }
    if (def.kind === 'list') (values[name] as string[]).push(value as string);
    else values[name] = value;
    changed.add(name);
  };

  let rest = [...argv];
  while (rest.length > 0) {
    const s = rest.shift()!;
    if (s.length < 2 || s[0] !== '-') {
      args.push(s);
      if (!interspersed) {
        args.push(...rest);
        break;
      }
      continue;
    }
    if (s[1] === '-') {
      if (s.length === 2) {
        args.push(...rest);
        break;
      }
      rest = parseLong(s, rest);
    } else {
      rest = parseShort(s, rest);
    }
  }
  return { flags: values as FlagValues<F>, changed: changed as Set<keyof F & string>, args };

  function parseLong(s: string, rest: string[]): string[] {
    const body = s.slice(2);
    if (body === '' || body[0] === '-' || body[0] === '=') throw new FlagError(`bad flag syntax: ${s}`);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const def = defs[name];
    if (!def) {
      if (name === 'help') throw new HelpRequested();
      throw new FlagError(`unknown flag: --${name}`);
    }
    if (eq !== -1) set(name, def, body.slice(eq + 1));
    else if (def.kind === 'bool') set(name, def, 'true');
    else if (rest.length > 0) set(name, def, rest.shift()!);
    else throw new FlagError(`flag needs an argument: ${s}`);
    return rest;
  }

  function parseShort(s: string, rest: string[]): string[] {
    let shorthands = s.slice(1);
    while (shorthands.length > 0) {
      const c = shorthands[0];
      const name = byChar.get(c);
      if (!name) {
        if (c === 'h') throw new HelpRequested();
        throw new FlagError(`unknown shorthand flag: '${c}' in -${shorthands}`);
      }
      const def = defs[name];
      if (shorthands.length > 2 && shorthands[1] === '=') {
        set(name, def, shorthands.slice(2));
        shorthands = '';
      } else if (def.kind === 'bool') {
        set(name, def, 'true');
        shorthands = shorthands.slice(1);
      } else if (shorthands.length > 1) {
        set(name, def, shorthands.slice(1));
        shorthands = '';
      } else if (rest.length > 0) {
        set(name, def, rest.shift()!);
        shorthands = '';
      } else {
        throw new FlagError(`flag needs an argument: '${c}' in -${shorthands}`);
      }
    }
    return rest;
  }
}
