// Flag declarations, written once per command and used twice: by the pflag-compatible parser
// that reads argv (./parse.ts) and, converted to plain oclif flag objects, by oclif for
// `--help` and the manifest. Nothing here loads @oclif/core.
import { parseNonNegativeDuration } from '../values/duration';
import { parseGoFloat, parseGoInt, parseGoUint } from '../values/go-strconv';

export type FlagKind = 'bool' | 'string' | 'list' | 'int' | 'uint' | 'duration' | 'float';

export interface FlagDef {
  kind: FlagKind;
  description: string;
  /** One-letter shorthand, e.g. 'q' for -q. */
  char?: string;
  /** The value placeholder shown in help, e.g. 'duration'. */
  valueName?: string;
  /** The default shown in help; parsed values start from it (strings and numbers only). */
  default?: string;
  hidden?: boolean;
  /**
   * Checks a raw value as docker's pflag.Value.Set would; a thrown error becomes docker's
   * `invalid argument "v" for "--flag" flag: <message>` usage error (exit 125).
   */
  validate?: (raw: string) => void;
}

export type FlagDefs = Record<string, FlagDef>;

type Opts = Partial<Omit<FlagDef, 'kind' | 'description'>>;
/** A flag definition whose kind is known to the type checker, so parsed values get their types. */
export type Def<K extends FlagKind> = FlagDef & { kind: K };

const def =
  <K extends FlagKind>(kind: K) =>
  (description: string, opts: Opts = {}): Def<K> => ({ kind, description, ...opts });

export const bool = def('bool');
export const str = def('string');
/** A repeatable flag collecting every value (docker's ListOpts). */
export const list = def('list');
export const int = def('int');
export const uint = def('uint');
/** A Go duration ("10s", "1m30s"), parsed to nanoseconds; negative values are refused. */
export const duration = def('duration');
export const float = def('float');

/** The value type a flag kind parses to. */
export type FlagValue<K extends FlagKind> = K extends 'bool'
  ? boolean
  : K extends 'list'
    ? string[]
    : K extends 'string'
      ? string
      : number | undefined;

export type FlagValues<F extends FlagDefs> = { [P in keyof F]: FlagValue<F[P]['kind']> };

/** Converts a raw value for a flag kind, throwing Go's own parse error text. */
export function convertValue(def: FlagDef, raw: string): string | number {
  switch (def.kind) {
    case 'int':
      return parseGoInt(raw);
    case 'uint':
      return parseGoUint(raw);
    case 'duration':
      return parseNonNegativeDuration(raw);
    case 'float':
      return parseGoFloat(raw);
    default:
      return raw;
  }
}

/** The global -H/--host flag every client command takes. */
export const HOST_FLAG = {
  host: str('Daemon socket to connect to (unix:///path/to/shoal.sock; default $SHOAL_HOST)', {
    char: 'H',
    valueName: 'string',
  }),
} satisfies FlagDefs;

/** oclif's plain flag objects (what Flags.boolean/Flags.string return), for help and the manifest. */
export interface OclifFlag {
  name: string;
  type: 'boolean' | 'option';
  char?: string;
  description: string;
  hidden?: boolean;
  multiple?: boolean;
  helpValue?: string;
  default?: string;
  allowNo?: boolean;
}

const VALUE_NAMES: Record<FlagKind, string> = {
  bool: '',
  string: 'string',
  list: 'list',
  int: 'int',
  uint: 'uint',
  duration: 'duration',
  float: 'float',
};

export function toOclifFlags(defs: FlagDefs): Record<string, OclifFlag> {
  const out: Record<string, OclifFlag> = {};
  const all: FlagDefs = { ...defs, ...HOST_FLAG };
  for (const [name, def] of Object.entries(all)) {
    const flag: OclifFlag = { name, type: def.kind === 'bool' ? 'boolean' : 'option', description: def.description };
    if (def.char) flag.char = def.char;
    if (def.hidden) flag.hidden = true;
    if (def.kind === 'bool') flag.allowNo = false;
    else {
      flag.helpValue = `<${def.valueName ?? VALUE_NAMES[def.kind]}>`;
      if (def.kind === 'list') flag.multiple = true;
      if (def.default !== undefined) flag.default = def.default;
    }
    out[name] = flag;
  }
  return out;
}
