// A Go text/template subset, enough for docker's --format strings and its own built-in
// templates (node/service `inspect --pretty`, `version`): {{.Field.Chain}}, $variables,
// pipelines with `|`, parenthesised sub-pipelines, if/else if/else, range (with $k, $v :=),
// with, `{{-`/`-}}` trimming, comments, and the functions docker registers (json, split, join,
// title, lower, upper, pad, truncate) plus Go's builtins (and, or, not, len, index, print,
// printf, println, eq, ne, lt, le, gt, ge).
//
// Data are plain JSON values or "context" objects whose methods/getters stand in for the Go
// formatter contexts' methods. A missing key of a plain object prints as `<no value>` (Go's
// map behaviour); a missing field of a class instance is an error (Go's struct behaviour).

/** A parse or execution error, worded as Go's: `template: :1: …` or `template: :1:2: executing "" at <.X>: …`. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(`template: ${message}`);
    this.name = 'TemplateError';
  }
}

/** An error at a source offset; Template turns it into a TemplateError with Go's location. */
class Failure extends Error {
  constructor(
    message: string,
    readonly pos: number,
    /** The node text for execution errors (`<.Foo>`); parse errors have none. */
    readonly context?: string,
  ) {
    super(message);
  }
}

/** Go's ErrorContext: 1-based line, 0-based byte offset in that line. */
function location(src: string, pos: number): [number, number] {
  const before = src.slice(0, pos);
  const nl = before.lastIndexOf('\n');
  return [1 + (before.match(/\n/g)?.length ?? 0), nl === -1 ? pos : pos - nl - 1];
}

export type TemplateFunc = (...args: unknown[]) => unknown;
export type FuncMap = Record<string, TemplateFunc>;

// ---- lexer -------------------------------------------------------------------

type Token =
  | { t: 'text'; v: string }
  | { t: 'open'; trim: boolean; pos: number }
  | { t: 'close'; trim: boolean }
  | { t: 'ident'; v: string; pos: number }
  | { t: 'field'; v: string[]; pos: number }
  | { t: 'var'; v: string; chain: string[]; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'number'; v: number; pos: number }
  | { t: 'punct'; v: '(' | ')' | '|' | ':=' | '=' | ','; pos: number }
  | { t: 'chain'; v: string[]; pos: number };

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /[+-]?(0[xX][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d+([eE][+-]?\d+)?)/y;
const SPACE = /[ \t\r\n]/;

function lex(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open === -1) {
      tokens.push({ t: 'text', v: src.slice(i) });
      break;
    }
    if (open > i) tokens.push({ t: 'text', v: src.slice(i, open) });
    i = open + 2;
    let trimLeft = false;
    if (src[i] === '-' && SPACE.test(src[i + 1] ?? '')) {
      trimLeft = true;
      i += 1;
    }
    // comment: {{/* ... */}}
    const afterSpace = i + (/^[ \t\r\n]*/.exec(src.slice(i))?.[0].length ?? 0);
    if (src.startsWith('/*', afterSpace)) {
      const end = src.indexOf('*/', afterSpace + 2);
      if (end === -1) throw new Failure('unclosed comment', open);
      let j = end + 2;
      j += /^[ \t\r\n]*/.exec(src.slice(j))![0].length;
      let trimRight = false;
      if (src[j] === '-' && src.startsWith('}}', j + 1)) {
        trimRight = true;
        j += 1;
      }
      if (!src.startsWith('}}', j)) throw new Failure('comment ends before closing delimiter', open);
      tokens.push({ t: 'open', trim: trimLeft, pos: open }, { t: 'close', trim: trimRight });
      i = j + 2;
      continue;
    }
    tokens.push({ t: 'open', trim: trimLeft, pos: open });
    i = lexAction(src, i, tokens, open);
  }
  // apply trim markers to neighbouring text
  for (let k = 0; k < tokens.length; k++) {
    const tok = tokens[k];
    if (tok.t === 'open' && tok.trim && k > 0 && tokens[k - 1].t === 'text') {
      const prev = tokens[k - 1] as { t: 'text'; v: string };
      prev.v = prev.v.replace(/[ \t\r\n]+$/, '');
    }
    if (tok.t === 'close' && tok.trim && k + 1 < tokens.length && tokens[k + 1].t === 'text') {
      const next = tokens[k + 1] as { t: 'text'; v: string };
      next.v = next.v.replace(/^[ \t\r\n]+/, '');
    }
  }
  return tokens;
}

function lexChain(src: string, i: number): [string[], number] {
  const chain: string[] = [];
  while (src[i] === '.') {
    IDENT.lastIndex = i + 1;
    const m = IDENT.exec(src);
    if (!m) break;
    chain.push(m[0]);
    i = IDENT.lastIndex;
  }
  return [chain, i];
}

function lexAction(src: string, i: number, out: Token[], open: number): number {
  for (;;) {
    if (i >= src.length) throw new Failure('unclosed action', open);
    const c = src[i];
    if (SPACE.test(c)) {
      if (src[i + 1] === '-' && src.startsWith('}}', i + 2)) {
        out.push({ t: 'close', trim: true });
        return i + 4;
      }
      i++;
      continue;
    }
    if (src.startsWith('}}', i)) {
      out.push({ t: 'close', trim: false });
      return i + 2;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new Failure('unterminated quoted string', i);
      out.push({ t: 'string', v: JSON.parse(src.slice(i, j + 1).replace(/\\'/g, "'")) as string, pos: i });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j === -1) throw new Failure('unterminated raw quoted string', i);
      out.push({ t: 'string', v: src.slice(i + 1, j), pos: i });
      i = j + 1;
    } else if (c === "'") {
      const j = src.indexOf("'", i + 1);
      if (j === -1) throw new Failure('unterminated character constant', i);
      const ch = src.slice(i + 1, j) === '\\n' ? '\n' : src.slice(i + 1, j);
      out.push({ t: 'number', v: ch.codePointAt(0) ?? 0, pos: i });
      i = j + 1;
    } else if (c === '.') {
      const [chain, j] = lexChain(src, i);
      if (chain.length === 0) {
        out.push({ t: 'field', v: [], pos: i });
        i++;
      } else {
        out.push({ t: 'field', v: chain, pos: i });
        i = j;
      }
    } else if (c === '$') {
      IDENT.lastIndex = i + 1;
      const m = IDENT.exec(src);
      const name = m ? m[0] : '';
      const [chain, j] = lexChain(src, i + 1 + name.length);
      out.push({ t: 'var', v: '$' + name, chain, pos: i });
      i = j;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      out.push({ t: 'punct', v: c, pos: i });
      i++;
      if (c === ')' && src[i] === '.') {
        const [chain, j] = lexChain(src, i);
        if (chain.length > 0) out.push({ t: 'chain', v: chain, pos: i });
        i = j;
      }
    } else if (src.startsWith(':=', i)) {
      out.push({ t: 'punct', v: ':=', pos: i });
      i += 2;
    } else if (c === '=') {
      out.push({ t: 'punct', v: '=', pos: i });
      i++;
    } else if (/[0-9+-]/.test(c)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(src);
      if (!m) throw new Failure(`bad number syntax: ${JSON.stringify(src.slice(i, i + 10))}`, i);
      out.push({ t: 'number', v: Number(m[0].replace(/_/g, '')), pos: i });
      i = NUMBER.lastIndex;
    } else {
      IDENT.lastIndex = i;
      const m = IDENT.exec(src);
      if (!m) throw new Failure(`unexpected ${JSON.stringify(c)} in command`, i);
      out.push({ t: 'ident', v: m[0], pos: i });
      i = IDENT.lastIndex;
    }
  }
}

// ---- parser ------------------------------------------------------------------

/** An operand, with its source offset for Go-style error locations. */
type Operand = { pos: number } & (
  | { k: 'field'; chain: string[] } // .A.B; chain [] is dot
  | { k: 'var'; name: string; chain: string[] }
  | { k: 'func'; name: string }
  | { k: 'lit'; value: unknown }
  | { k: 'pipe'; pipe: Pipeline; chain: string[] }
);

interface Pipeline {
  decl: string[];
  assign: boolean; // `=` rather than `:=`
  cmds: Operand[][];
}

type Node =
  | { k: 'text'; v: string }
  | { k: 'action'; pipe: Pipeline }
  | { k: 'if' | 'with'; pipe: Pipeline; body: Node[]; orElse: Node[] }
  | { k: 'range'; pipe: Pipeline; body: Node[]; orElse: Node[] };

class Parser {
  private pos = 0;
  /** Offset of the action being parsed, for error lines. */
  private actionPos = 0;
  constructor(
    private readonly toks: Token[],
    private readonly funcs: FuncMap,
  ) {}

  private fail(message: string): Failure {
    return new Failure(message, this.actionPos);
  }

  parse(): Node[] {
    const [nodes, stop] = this.list();
    if (stop !== 'eof') throw this.fail(`unexpected {{${stop}}}`);
    return nodes;
  }

  /** Nodes up to {{end}}, {{else…}} or EOF; returns which one stopped it. */
  private list(): [Node[], 'eof' | 'end' | 'else'] {
    const nodes: Node[] = [];
    while (this.pos < this.toks.length) {
      const tok = this.toks[this.pos++];
      if (tok.t === 'text') {
        if (tok.v !== '') nodes.push({ k: 'text', v: tok.v });
        continue;
      }
      if (tok.t !== 'open') throw this.fail('unexpected token');
      this.actionPos = tok.pos;
      const next = this.toks[this.pos];
      if (next.t === 'close') {
        this.pos++; // comment or empty action
        continue;
      }
      if (next.t === 'ident') {
        switch (next.v) {
          case 'end':
            this.pos++;
            this.expectClose();
            return [nodes, 'end'];
          case 'else':
            this.pos++;
            return [nodes, 'else'];
          case 'if':
          case 'with':
          case 'range':
            this.pos++;
            nodes.push(this.control(next.v));
            continue;
          case 'define':
          case 'template':
          case 'block':
          case 'break':
          case 'continue':
            throw this.fail(`{{${next.v}}} is not supported`);
        }
      }
      nodes.push({ k: 'action', pipe: this.pipeline() });
      this.expectClose();
    }
    return [nodes, 'eof'];
  }

  private control(kind: 'if' | 'with' | 'range'): Node {
    const pipe = this.pipeline();
    this.expectClose();
    const [body, stop] = this.list();
    let orElse: Node[] = [];
    if (stop === 'eof') throw this.fail('unexpected EOF');
    if (stop === 'else') {
      const next = this.toks[this.pos];
      if (next.t === 'ident' && (next.v === 'if' || next.v === 'with')) {
        // {{else if …}} is {{else}}{{if …}}…{{end}} sharing this {{end}}
        this.pos++;
        orElse = [this.control(next.v)];
      } else {
        this.expectClose();
        const [elseBody, elseStop] = this.list();
        if (elseStop !== 'end') throw this.fail(`expected end; found {{else}} in {{${kind}}}`);
        orElse = elseBody;
      }
    }
    return { k: kind, pipe, body, orElse } as Node;
  }

  private expectClose(): void {
    const tok = this.toks[this.pos++];
    if (!tok || tok.t !== 'close') throw this.fail('unclosed action');
  }

  private pipeline(stopAt: 'close' | ')' = 'close'): Pipeline {
    const pipe: Pipeline = { decl: [], assign: false, cmds: [] };
    // variable declarations: $x := … / $k, $v := …
    const save = this.pos;
    const decl: string[] = [];
    while (this.toks[this.pos]?.t === 'var') {
      const v = this.toks[this.pos] as { t: 'var'; v: string; chain: string[] };
      if (v.chain.length > 0) break;
      decl.push(v.v);
      this.pos++;
      const p = this.toks[this.pos];
      if (p?.t === 'punct' && p.v === ',') {
        this.pos++;
        continue;
      }
      if (p?.t === 'punct' && (p.v === ':=' || p.v === '=')) {
        this.pos++;
        pipe.decl = decl;
        pipe.assign = p.v === '=';
      }
      break;
    }
    if (pipe.decl.length === 0) this.pos = save;

    let cmd: Operand[] = [];
    for (;;) {
      const tok = this.toks[this.pos];
      if (!tok) throw this.fail('unclosed action');
      if (tok.t === 'close' || (tok.t === 'punct' && tok.v === ')')) {
        if (stopAt === ')' && tok.t === 'close') throw this.fail('unclosed left paren');
        break;
      }
      this.pos++;
      if (tok.t === 'punct' && tok.v === '|') {
        if (cmd.length === 0) throw this.fail('missing command before |');
        pipe.cmds.push(cmd);
        cmd = [];
        continue;
      }
      cmd.push(this.operand(tok));
    }
    if (cmd.length === 0) throw this.fail('missing value for command');
    pipe.cmds.push(cmd);
    return pipe;
  }

  private operand(tok: Token): Operand {
    switch (tok.t) {
      case 'field':
        return { k: 'field', chain: tok.v, pos: tok.pos };
      case 'var':
        return { k: 'var', name: tok.v, chain: tok.chain, pos: tok.pos };
      case 'string':
        return { k: 'lit', value: tok.v, pos: tok.pos };
      case 'number':
        return { k: 'lit', value: tok.v, pos: tok.pos };
      case 'ident':
        if (tok.v === 'true' || tok.v === 'false') return { k: 'lit', value: tok.v === 'true', pos: tok.pos };
        if (tok.v === 'nil') return { k: 'lit', value: null, pos: tok.pos };
        // Go checks functions while parsing
        if (!(tok.v in this.funcs)) throw this.fail(`function "${tok.v}" not defined`);
        return { k: 'func', name: tok.v, pos: tok.pos };
      case 'punct':
        if (tok.v === '(') {
          const pipe = this.pipeline(')');
          const close = this.toks[this.pos++];
          if (!close || close.t !== 'punct' || close.v !== ')') throw this.fail('unclosed left paren');
          const chainTok = this.toks[this.pos];
          let chain: string[] = [];
          if (chainTok?.t === 'chain') {
            chain = chainTok.v;
            this.pos++;
          }
          return { k: 'pipe', pipe, chain, pos: tok.pos };
        }
        throw this.fail(`unexpected "${tok.v}" in operand`);
      default:
        throw this.fail('unexpected token in operand');
    }
  }
}

// ---- values ------------------------------------------------------------------

const MISSING = undefined;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Go's truth: false, 0, nil, empty strings, slices and maps are false. */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** fmt.Sprint of one value, as text/template prints an action's result. */
export function printValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (isPlainObject(v)) {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${printValue(v[k])}`)
      .join(' ')}]`;
  }
  if (typeof v === 'object' && v.toString !== Object.prototype.toString) return String(v);
  return `{${Object.values(v as object)
    .map(printValue)
    .join(' ')}}`;
}

/**
 * docker's `json` template function: an Encoder with SetEscapeHTML(false). Values with their
 * own marshalJSON (formatter contexts, whose MarshalJSON uses json.Marshal) keep their escaping.
 */
function jsonFunc(v: unknown): string {
  if (v !== null && typeof v === 'object' && typeof (v as { marshalJSON?: unknown }).marshalJSON === 'function') {
    return (v as { marshalJSON(): string }).marshalJSON();
  }
  return JSON.stringify(v === undefined ? null : v) ?? 'null';
}

/** strings.Title: upper-case the first letter of each word. */
function title(s: string): string {
  return s.replace(
    /(^|[^A-Za-z0-9_'\u0080-\uffff])([a-z\u0080-\uffff])/g,
    (_m, sep: string, ch: string) => sep + ch.toUpperCase(),
  );
}

function compareValues(name: string, a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error(`error calling ${name}: incompatible types for comparison`);
}

function basicEqual(a: unknown, b: unknown): boolean {
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  return a === b;
}

function sprintf(format: string, ...args: unknown[]): string {
  let i = 0;
  return format.replace(
    /%([-+ 0#]*)(\d*)(?:\.(\d+))?([svdqfgtx%])/g,
    (_m, flags: string, width: string, prec: string, verb: string) => {
      if (verb === '%') return '%';
      const arg = args[i++];
      let s: string;
      switch (verb) {
        case 'q':
          s = JSON.stringify(printValue(arg));
          break;
        case 'd':
          s = String(Math.trunc(Number(arg)));
          break;
        case 'f':
          s = Number(arg).toFixed(prec ? Number(prec) : 6);
          break;
        case 'x':
          s = typeof arg === 'number' ? arg.toString(16) : Buffer.from(String(arg)).toString('hex');
          break;
        default:
          s = printValue(arg);
      }
      const w = Number(width || 0);
      if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') ? '0' : ' ');
      return s;
    },
  );
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
function sprint(...args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printValue(a);
  });
  return out;
}

/** The functions docker's templates.Parse registers, plus Go's builtins. */
export const BASIC_FUNCS: FuncMap = {
  json: jsonFunc,
  split: (s, sep) => String(s).split(String(sep)),
  join: (a, sep) => (Array.isArray(a) ? a.map(printValue).join(String(sep)) : printValue(a)),
  title: (s) => title(String(s)),
  lower: (s) => String(s).toLowerCase(),
  upper: (s) => String(s).toUpperCase(),
  pad: (s, prefix, suffix) => (s === '' ? '' : ' '.repeat(Number(prefix)) + String(s) + ' '.repeat(Number(suffix))),
  truncate: (s, n) => {
    const str = String(s);
    return str.length < Number(n) ? str : str.slice(0, Number(n));
  },
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isPlainObject(v)) return Object.keys(v).length;
    throw new Error(`error calling len: len of type ${typeof v}`);
  },
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) {
      if (Array.isArray(cur)) {
        if (typeof k !== 'number' || k < 0 || k >= cur.length)
          throw new Error(`error calling index: index out of range: ${printValue(k)}`);
        cur = cur[k];
      } else if (cur !== null && typeof cur === 'object') {
        const rec = cur as Record<string, unknown>;
        cur = Object.prototype.hasOwnProperty.call(rec, String(k)) ? rec[String(k)] : '';
      } else {
        throw new Error(`error calling index: can't index item of type ${typeof cur}`);
      }
    }
    return cur;
  },
  not: (v) => !truthy(v),
  and: (...args) => {
    for (const a of args) if (!truthy(a)) return a;
    return args[args.length - 1];
  },
  or: (...args) => {
    for (const a of args) if (truthy(a)) return a;
    return args[args.length - 1];
  },
  eq: (a, ...bs) => bs.some((b) => basicEqual(a, b)),
  ne: (a, b) => !basicEqual(a, b),
  lt: (a, b) => compareValues('lt', a, b) < 0,
  le: (a, b) => compareValues('le', a, b) <= 0,
  gt: (a, b) => compareValues('gt', a, b) > 0,
  ge: (a, b) => compareValues('ge', a, b) >= 0,
  print: sprint,
  println: (...args) => args.map(printValue).join(' ') + '\n',
  printf: (format, ...args) => sprintf(String(format), ...args),
};

/** docker's HeaderFunctions: in a table header, these leave the column name untouched. */
export const HEADER_FUNCS: FuncMap = {
  ...BASIC_FUNCS,
  json: (v) => v,
  split: (v) => v,
  join: (v) => v,
  title: (v) => v,
  lower: (v) => v,
  upper: (v) => v,
  truncate: (v) => v,
};

// ---- execution ---------------------------------------------------------------

export interface ExecuteOptions {
  funcs?: FuncMap;
  /** Go's missingkey=error: a missing map key is an error instead of <no value>. */
  missingKeyError?: boolean;
}

class Executor {
  private vars: [string, unknown][] = [];
  private out = '';

  constructor(
    private readonly funcs: FuncMap,
    private readonly missingKeyError: boolean,
  ) {}

  run(nodes: Node[], data: unknown): string {
    this.vars = [['$', data]];
    this.walk(nodes, data);
    return this.out;
  }

  private walk(nodes: Node[], dot: unknown): void {
    for (const node of nodes) {
      switch (node.k) {
        case 'text':
          this.out += node.v;
          break;
        case 'action': {
          const v = this.pipeline(node.pipe, dot);
          if (node.pipe.decl.length === 0) this.out += printValue(v);
          break;
        }
        case 'if':
        case 'with': {
          const mark = this.vars.length;
          const v = this.pipeline(node.pipe, dot);
          if (truthy(v)) this.walk(node.body, node.k === 'with' ? v : dot);
          else this.walk(node.orElse, dot);
          this.vars.length = mark;
          break;
        }
        case 'range':
          this.range(node, dot);
          break;
      }
    }
  }

  private range(node: Extract<Node, { k: 'range' }>, dot: unknown): void {
    const mark = this.vars.length;
    const decl = node.pipe.decl;
    const v = this.pipeline({ ...node.pipe, decl: [] }, dot);
    let entries: [unknown, unknown][] = [];
    if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
    else if (v !== null && typeof v === 'object') {
      const rec = v as Record<string, unknown>;
      entries = Object.keys(rec)
        .sort()
        .map((k) => [k, rec[k]]);
    } else if (typeof v === 'number') entries = Array.from({ length: v }, (_x, i) => [i, i]);
    else if (v !== null && v !== undefined) {
      const op = node.pipe.cmds[0][0];
      throw new Failure(`range can't iterate over ${printValue(v)}`, op.pos, 'range');
    }
    if (entries.length === 0) {
      this.walk(node.orElse, dot);
      this.vars.length = mark;
      return;
    }
    for (const [key, elem] of entries) {
      const inner = this.vars.length;
      if (decl.length === 1) this.vars.push([decl[0], elem]);
      else if (decl.length >= 2) this.vars.push([decl[0], key], [decl[1], elem]);
      this.walk(node.body, elem);
      this.vars.length = inner;
    }
    this.vars.length = mark;
  }

  private lookupVar(name: string, pos: number): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i][0] === name) return this.vars[i][1];
    throw new Failure(`undefined variable: ${name}`, pos);
  }

  private pipeline(pipe: Pipeline, dot: unknown): unknown {
    let value: unknown = MISSING;
    let hasFinal = false;
    for (const cmd of pipe.cmds) {
      value = this.command(cmd, dot, hasFinal ? [value] : []);
      hasFinal = true;
    }
    if (pipe.decl.length > 0) {
      if (pipe.assign) {
        const idx = this.vars.map((v) => v[0]).lastIndexOf(pipe.decl[0]);
        if (idx === -1) throw new Failure(`undefined variable: ${pipe.decl[0]}`, pipe.cmds[0][0].pos);
        this.vars[idx][1] = value;
      } else this.vars.push([pipe.decl[pipe.decl.length - 1], value]);
    }
    return value;
  }

  private command(cmd: Operand[], dot: unknown, final: unknown[]): unknown {
    const [head, ...rest] = cmd;
    const args = (): unknown[] => [...rest.map((op) => this.operand(op, dot, [])), ...final];
    if (head.k === 'func') return this.call(head.name, head.pos, args());
    if (rest.length > 0 || final.length > 0) return this.operand(head, dot, args());
    return this.operand(head, dot, []);
  }

  private call(name: string, pos: number, args: unknown[]): unknown {
    const fn = this.funcs[name];
    if (!fn) throw new Failure(`function "${name}" not defined`, pos, name);
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof Failure) throw err;
      throw new Failure(
        `error calling ${name}: ${(err as Error).message.replace(/^error calling \w+: /, '')}`,
        pos,
        name,
      );
    }
  }

  private operand(op: Operand, dot: unknown, args: unknown[]): unknown {
    switch (op.k) {
      case 'lit':
        if (args.length > 0) throw new Failure(`can't give argument to non-function ${printValue(op.value)}`, op.pos);
        return op.value;
      case 'field':
        return this.chain(dot, op.chain, args, '', op.pos);
      case 'var':
        return this.chain(this.lookupVar(op.name, op.pos), op.chain, args, op.name, op.pos);
      case 'pipe':
        return this.chain(this.pipeline(op.pipe, dot), op.chain, args, '', op.pos);
      case 'func':
        return this.call(op.name, op.pos, args);
    }
  }

  /** Walks .A.B.C from `value`; method calls take `args` on the last link. */
  private chain(value: unknown, chain: string[], args: unknown[], prefix: string, pos: number): unknown {
    if (chain.length === 0) {
      if (args.length > 0) throw new Failure(`can't give argument to non-function ${prefix || '.'}`, pos);
      return value;
    }
    let cur = value;
    chain.forEach((name, i) => {
      const last = i === chain.length - 1;
      const where = `${prefix}.${chain.slice(0, i + 1).join('.')}`;
      if (cur === null || cur === undefined) {
        cur = undefined; // fields of a missing entry or a JSON null stay missing
        return;
      }
      if (typeof cur !== 'object') {
        throw new Failure(`can't evaluate field ${name} in type ${typeof cur}`, pos, where);
      }
      const rec = cur as Record<string, unknown>;
      if (!(name in rec)) {
        if (isPlainObject(cur)) {
          if (this.missingKeyError) throw new Failure(`map has no entry for key "${name}"`, pos, where);
          cur = undefined;
          return;
        }
        const ctor = cur.constructor as { goType?: string; name?: string } | undefined;
        throw new Failure(`can't evaluate field ${name} in type ${ctor?.goType ?? ctor?.name ?? 'object'}`, pos, where);
      }
      const member = rec[name];
      if (typeof member === 'function') cur = (member as TemplateFunc).apply(cur, last ? args : []);
      else {
        if (last && args.length > 0)
          throw new Failure(`${name} has arguments but cannot be invoked as function`, pos, where);
        cur = member;
      }
    });
    return cur;
  }
}

export class Template {
  private readonly nodes: Node[];

  /** Parses `source`; `funcs` are the functions it may call (checked now, as Go does). */
  constructor(
    readonly source: string,
    funcs: FuncMap = BASIC_FUNCS,
  ) {
    try {
      this.nodes = new Parser(lex(source), funcs).parse();
    } catch (err) {
      throw this.wrap(err, false);
    }
  }

  execute(data: unknown, opts: ExecuteOptions = {}): string {
    try {
      return new Executor(opts.funcs ?? BASIC_FUNCS, opts.missingKeyError ?? false).run(this.nodes, data);
    } catch (err) {
      throw this.wrap(err, true);
    }
  }

  private wrap(err: unknown, executing: boolean): unknown {
    if (!(err instanceof Failure)) return err;
    const [line, col] = location(this.source, err.pos);
    if (!executing) return new TemplateError(`:${line}: ${err.message}`);
    const at = err.context !== undefined ? ` at <${err.context}>` : '';
    return new TemplateError(`:${line}:${col}: executing ""${at}: ${err.message}`);
  }
}

/** Parses a template; parse errors are TemplateErrors (docker: "template parsing error: …"). */
export function parseTemplate(source: string, funcs?: FuncMap): Template {
  return new Template(source, funcs);
}
